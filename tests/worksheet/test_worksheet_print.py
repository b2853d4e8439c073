"""Print-ready sheets (issue 15, item 4): every variant starts on an odd page, every page has its footer
"Variant 07, page 2 of 4", no question heading is left at a page's foot. The PDF is read back with pypdf."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gradlab.worksheet import find_chromium, make_worksheet
from gradlab.worksheet.paging import PagingError, page_counts, starts

ROOT = Path(__file__).resolve().parents[2]


def test_documents_are_found_in_order_by_their_headings():
    texts = ["Variant 1 a", "b", "Variant 10 c", "Variant 2 d", "e", "f"]
    assert starts(texts, ["Variant 1", "Variant 10", "Variant 2"]) == [0, 2, 3]
    assert page_counts([0, 2, 3], 6) == [2, 1, 3]
    assert starts(["Variant\n0 7 x"], ["Variant 07"]) == [0]  # spaces and line breaks in extracted text
    with pytest.raises(PagingError, match="'Variant 3' is on no page"):
        starts(texts, ["Variant 1", "Variant 3"])
    with pytest.raises(PagingError, match="first page"):
        starts(["cover", "Variant 1"], ["Variant 1"])


@pytest.mark.skipif(find_chromium() is None, reason="Chromium is not installed (scripts/install.sh)")
def test_every_variant_of_the_task6_sheets_starts_on_an_odd_page_with_footers(tmp_path):
    pytest.importorskip("pypdf")
    from pypdf import PdfReader

    out = tmp_path / "sheets"
    result = make_worksheet(ROOT / "docs" / "examples" / "task6_quiz.toml", out, variants=3, seed=2024,
                            formats=("html", "pdf"))
    assert not [n for n in result.notes if "PDF" in n or "pypdf" in n]
    for name in ("students.pdf", "keys.pdf"):
        pages = [p.extract_text() or "" for p in PdfReader(out / name).pages]
        variants = [v.id for v in result.worksheet.variants] if hasattr(result, "worksheet") else ["1", "2", "3"]
        first = [next(i for i, t in enumerate(pages) if re.search(rf"Variant {v}(?!\d)(?!,)", t)) for v in variants]
        assert all(i % 2 == 0 for i in first), (name, first)  # 0-based even: printed pages 1, 3, 5, ...
        ends = [*first[1:], len(pages)]
        for v, s, e in zip(variants, first, ends):
            printed = [t for t in pages[s:e] if t.strip()]
            n = len(printed)
            assert e - s - n <= 1  # at most one blank page after a variant
            for k, t in enumerate(printed, start=1):
                assert f"Variant {v}, page {k} of {n}" in t, (name, v, k)
                lines = [x for x in t.splitlines() if x.strip()]
                assert not lines[-2].startswith("Question"), (name, v, k, lines[-2])  # no heading at the foot
    from gradlab.worksheet.paging import outline_starts
    from gradlab.worksheet.pdf import print_pdf

    raw = PdfReader(print_pdf(out / "html" / "all-students.html", tmp_path / "raw.pdf"))
    found = outline_starts(raw, 3)  # the fast way: the outline has one heading a variant
    assert found is not None and found[0] == 0 and len(found) == 3


def _pdf(path: Path, texts: list[str]) -> Path:
    from pypdf import PdfWriter

    from gradlab.worksheet.paging import _footer_page

    writer = PdfWriter()
    for t in texts:
        writer.add_page(_footer_page(t, 595.0, 842.0))
    with open(path, "wb") as f:
        writer.write(f)
    return path


def test_blank_pages_after_odd_variants_and_a_footer_on_every_printed_page(tmp_path):
    pytest.importorskip("pypdf")
    from pypdf import PdfReader

    from gradlab.worksheet.paging import arrange, split

    texts = ["Variant 1 a", "b", "c", "Variant 2 d", "Variant 3 e", "f"]
    pdf = _pdf(tmp_path / "s.pdf", texts)
    paged = arrange(pdf, ["Variant 1", "Variant 2", "Variant 3"], lambda d, k, n: f"V{d + 1}, page {k} of {n}")
    assert (paged.counts, paged.blanks, paged.pages, paged.first_pages) == ([3, 1, 2], 2, 8, [0, 4, 6])
    pages = [p.extract_text() or "" for p in PdfReader(pdf).pages]
    assert len(pages) == 8 and not pages[3].strip() and not pages[5].strip()  # the blank pages
    assert "V1, page 3 of 3" in pages[2] and "V2, page 1 of 1" in pages[4] and "V3, page 2 of 2" in pages[7]
    assert pages[6].startswith("Variant 3") or "Variant 3" in pages[6]
    parts = split(pdf, paged, [tmp_path / f"{n}.pdf" for n in "abc"])
    assert [len(PdfReader(p).pages) for p in parts] == [3, 1, 2]  # each without the blank page after it
