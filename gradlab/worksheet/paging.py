"""Print-ready PDFs of many documents (every variant's sheet, every student's feedback): each document starts on
an odd page, so that printed double-sided no student gets the back of another's last page, and every page has a
footer such as "Variant 07, page 2 of 4".

Chromium prints all documents in one run (:func:`gradlab.worksheet.pdf.print_pdf`); this module reads that PDF
with pypdf, finds the page where each document starts from the PDF's outline (one top-level heading a document)
or else by its heading's text (the documents are in order, so each heading is looked for after the one
before), puts a blank page after a document with an odd number of
pages, and lays a footer over each page (in Helvetica, a font every PDF reader has).
Without pypdf (``pip install gradlab[pdf]``) the PDF stays as Chromium printed it.

>>> starts(["Variant 1 ...", "more", "Variant 2 ...", "Variant 10 ..."], ["Variant 1", "Variant 2", "Variant 10"])
[0, 2, 3]
>>> page_counts([0, 2, 3], 5)
[2, 1, 2]
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from ..errors import GradlabError
from ..fileio import atomic_path, read_bytes, write_atomic

PDF_LIMIT = 512 * 1024 * 1024


class PagingError(GradlabError):
    """The printed PDF does not hold the documents as expected (a heading not found)."""


def available() -> bool:
    """Whether pypdf is installed (blank pages and footers need it)."""
    try:
        import pypdf  # noqa: F401
    except ImportError:
        return False
    return True


def _pattern(marker: str) -> re.Pattern[str]:
    chars = [re.escape(c) for c in marker if not c.isspace()]
    return re.compile(r"(?<![\w])" + r"\s*".join(chars) + r"(?![\w])")


def starts(texts: Sequence[str], markers: Sequence[str]) -> list[int]:
    """The index of the page where each document starts: the first page, at or after the previous document's
    start, whose text holds the document's marker (``Variant 07``; spaces and line breaks in the text do not
    matter, and ``Variant 1`` is not found in ``Variant 10``). A marker not found raises :class:`PagingError`."""
    out: list[int] = []
    page = 0
    for marker in markers:
        pattern = _pattern(marker)
        while page < len(texts) and not pattern.search(texts[page]):
            page += 1
        if page == len(texts):
            raise PagingError(f"'{marker}' is on no page of the PDF after page {out[-1] + 1 if out else 1}")
        out.append(page)
        page += 1
    if out and out[0] != 0:
        raise PagingError(f"the first page of the PDF is not the start of '{markers[0]}'")
    return out


def outline_starts(reader: Any, documents: int) -> list[int] | None:
    """The pages where the documents start, from the PDF's outline (Chromium makes one from the headings with
    ``--generate-pdf-document-outline``): each document has one top-level heading (``h1``), so the outline's
    top-level entries are the documents' starts, in order. None when the outline does not say so plainly."""
    try:
        top = [e for e in reader.outline if not isinstance(e, list)]
        found = [reader.get_destination_page_number(e) for e in top]
    except Exception:  # noqa: BLE001 - a broken outline: read the text instead
        return None
    if len(found) != documents or not found or found[0] != 0 or any(b <= a for a, b in zip(found, found[1:])):
        return None
    return found


def page_counts(first_pages: Sequence[int], total: int) -> list[int]:
    """How many pages each document has, from the pages where they start and the PDF's page count."""
    ends = [*first_pages[1:], total]
    return [e - s for s, e in zip(first_pages, ends)]


def page_texts(pdf: bytes) -> list[str]:
    """The text of each page of a PDF (pypdf)."""
    from pypdf import PdfReader

    return [p.extract_text() or "" for p in PdfReader(io.BytesIO(pdf)).pages]


@dataclass
class Paged:
    """What :func:`arrange` made: pages per document as printed, blank pages added, the final page count, and
    where each document starts in the final PDF (0-based)."""

    counts: list[int]
    blanks: int
    pages: int
    first_pages: list[int] = field(default_factory=list)
    footers: bool = False


FooterText = Callable[[int, int, int], str]  # (document index, page in it from 1, its page count) -> footer


def arrange(pdf: str | Path, markers: Sequence[str], footer: FooterText | None = None, *, odd: bool = True) -> Paged:
    """Rewrite ``pdf`` (printed from documents whose headings hold ``markers``, in order) so that each document
    starts on an odd page (``odd``) and, given ``footer``, every page but the blank ones has its footer
    (``footer(document, page, pages)``, document from 0, page from 1). Written in place, atomically."""
    from pypdf import PdfReader, PdfWriter

    path = Path(pdf)
    data = read_bytes(path, "PDF file", limit=PDF_LIMIT)
    reader = PdfReader(io.BytesIO(data))
    first = outline_starts(reader, len(markers))
    if first is None:  # no outline of one heading per document: read every page's text (slow: 0.1 s a page)
        first = starts([p.extract_text() or "" for p in reader.pages], markers)
    counts = page_counts(first, len(reader.pages))
    writer = PdfWriter()
    layout: list[tuple[int, int, int] | None] = []  # per final page: (document, page, count), None for a blank
    first_final: list[int] = []
    for d, (s, n) in enumerate(zip(first, counts)):
        first_final.append(len(layout))
        for k in range(n):
            writer.add_page(reader.pages[s + k])
            layout.append((d, k + 1, n))
        if odd and n % 2 and d < len(counts) - 1:
            box = reader.pages[s + n - 1].mediabox
            writer.add_blank_page(width=box.width, height=box.height)
            layout.append(None)
    if footer is not None:
        _stamp(writer, layout, [footer(*where) for where in layout if where is not None])
    if reader.metadata:
        writer.add_metadata({k: v for k, v in reader.metadata.items() if isinstance(v, str)})
    buf = io.BytesIO()
    writer.write(buf)
    write_atomic(path, buf.getvalue())
    return Paged(counts, layout.count(None), len(layout), first_final, footer is not None)


#: Widths of Helvetica's glyphs (1/1000 em) for centring a footer; other characters count as an average letter.
_WIDTHS = {**dict.fromkeys("0123456789", 556), " ": 278, ",": 278, ".": 278, ":": 278, "-": 333, "(": 333, ")": 333,
           **dict.fromkeys("ijl", 222), **dict.fromkeys("frt", 300), **dict.fromkeys("mw", 800),
           **dict.fromkeys("ABCDEFGHIJKLMNOPQRSTUVWXYZ", 680)}
FOOTER_PT = 9.0
FOOTER_Y_PT = 20.0  # from the page's foot: inside the bottom margin of the sheets' CSS


def _footer_text(text: str) -> bytes:
    raw = text.encode("cp1252", "replace")
    return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def _footer_page(text: str, width: float, height: float) -> Any:
    """A blank page of the given size with ``text`` centred at its foot (Helvetica, a PDF's own font)."""
    from pypdf import PageObject
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    page = PageObject.create_blank_page(width=width, height=height)
    font = DictionaryObject({NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
                             NameObject("/BaseFont"): NameObject("/Helvetica"),
                             NameObject("/Encoding"): NameObject("/WinAnsiEncoding")})
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/FGL"): font})})
    w = sum(_WIDTHS.get(c, 520) for c in text) * FOOTER_PT / 1000
    x = max(0.0, (width - w) / 2)
    stream = DecodedStreamObject()
    stream.set_data(b"q 0.27 0.27 0.27 rg BT /FGL %.1f Tf %.2f %.2f Td (%s) Tj ET Q"
                    % (FOOTER_PT, x, FOOTER_Y_PT, _footer_text(text)))
    page[NameObject("/Contents")] = stream
    return page


def _stamp(writer: Any, layout: list[tuple[int, int, int] | None], texts: list[str]) -> None:
    """Lay each footer over its page (the blank pages keep none)."""
    n = 0
    for i, where in enumerate(layout):
        if where is None:
            continue
        page = writer.pages[i]
        box = page.mediabox
        page.merge_page(_footer_page(texts[n], float(box.width), float(box.height)))
        n += 1


def split(pdf: str | Path, paged: Paged, names: Sequence[str | Path]) -> list[Path]:
    """Each document of a PDF made by :func:`arrange` as a file of its own (its pages, without the blank page
    put after it)."""
    from pypdf import PdfReader, PdfWriter

    reader = PdfReader(io.BytesIO(read_bytes(pdf, "PDF file", limit=PDF_LIMIT)))
    out = []
    for s, n, name in zip(paged.first_pages, paged.counts, names):
        writer = PdfWriter()
        for k in range(s, s + n):
            writer.add_page(reader.pages[k])
        with atomic_path(name) as tmp:
            with open(tmp, "wb") as f:
                writer.write(f)
        out.append(Path(name))
    return out


__all__ = ["arrange", "starts", "outline_starts", "page_counts", "page_texts", "split", "available", "Paged",
           "PagingError"]
