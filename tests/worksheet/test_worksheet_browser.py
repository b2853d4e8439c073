"""The HTML sheets in a real headless browser (Chromium): math and pictures shown, PDFs reproducible."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gradlab.worksheet import find_chromium, make_worksheet, print_pdf, screenshot
from gradlab.worksheet.pdf import dump_dom
from gradlab.worksheet.pictures import renderer

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(find_chromium() is None, reason="Chromium is not installed (scripts/install.sh)")


def test_chromium_shows_mathml_and_the_picture_and_prints_reproducible_pdfs(tmp_path):
    out = tmp_path / "sheets"
    result = make_worksheet(ROOT / "graphs" / "neuron_sigmoid_gate.toml", out, variants=2, seed=2024,
                            formats=("html", "pdf"))
    assert not [n for n in result.notes if "PDF" in n]
    dom = dump_dom(out / "html" / "sheet-1.html")
    assert dom.count("<math") >= 6 and "<mfrac>" in dom and "Variant 1" in dom
    if renderer() is not None:
        assert '<img alt="graph with numbered blanks, variant 1" src="data:image/svg+xml;base64,' in dom
    for name in ("students.pdf", "keys.pdf"):
        data = (out / name).read_bytes()
        assert data.startswith(b"%PDF") and data.count(b"/Type /Page") + data.count(b"/Type/Page") >= 2
    again = tmp_path / "again"
    make_worksheet(ROOT / "graphs" / "neuron_sigmoid_gate.toml", again, variants=2, seed=2024, formats=("html", "pdf"))
    assert (again / "students.pdf").read_bytes() == (out / "students.pdf").read_bytes()  # same input, same bytes
    printed = print_pdf(out / "html" / "all-students.html", tmp_path / "printed.pdf")
    assert printed.read_bytes().startswith(b"%PDF")
    shot = screenshot(out / "html" / "sheet-1.html", tmp_path / "shot.png", width=800, height=900)
    import matplotlib.image as mpimg

    pixels = mpimg.imread(shot)
    assert pixels.shape[:2] == (900, 800)
    assert (np.asarray(pixels)[..., :3].mean(axis=2) < 0.5).mean() > 0.005  # text and lines, not a blank page
