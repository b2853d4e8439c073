"""Exam-style worksheets from graphs: randomized variants, answer keys, Markdown/HTML/PDF/Moodle.

* :func:`make_worksheet` writes a folder: per variant a student sheet and an answer key (Markdown
  with GitHub math, self-contained HTML with MathML, PDF), an index, ``key.json`` for
  ``gradlab grade``, and a Moodle XML question bank;
* :func:`build_worksheet` gives the same as data (:class:`Worksheet`), without writing;
* :func:`load_spec` reads a worksheet spec (TOML) or a graph file with defaults (see
  :mod:`gradlab.worksheet.spec` for the format);
* :func:`sheet_document` gives one sheet or key as blocks (:mod:`gradlab.worksheet.document`), which
  every format prints its own way; :func:`register_format` adds a format (:class:`Format`).

>>> from gradlab.worksheet import build_worksheet, spec_from_program
>>> ws = build_worksheet(spec_from_program("z = w0*x0 + w2; a = sigmoid(z)"), variants=3, seed=2024, pictures=False)
>>> [v.id for v in ws.variants], ws.variants[0].parts[0].at == build_worksheet(
...     spec_from_program("z = w0*x0 + w2; a = sigmoid(z)"), variants=1, seed=2024, pictures=False).variants[0].parts[0].at
(['1', '2', '3'], True)
"""

from __future__ import annotations

from .build import FORMATS, WorksheetResult, make_worksheet, responses_template
from .document import Document, sheet_document
from .format import Format, Job
from .formats import register_format, unregister_format
from .moodle import MoodleXMLError, check_moodle_xml, moodle_xml
from .pdf import ChromiumNotFound, find_chromium, print_pdf, screenshot
from .questions import Worksheet, build_worksheet, variant_ids
from .spec import (
    QUESTION_TYPES,
    Part,
    ValueRange,
    WorksheetError,
    WorksheetSpec,
    load_spec,
    parse_spec,
    spec_from_graph,
    spec_from_program,
)
from .variants import variant_point, why_not

__all__ = ["make_worksheet", "build_worksheet", "WorksheetResult", "Worksheet", "load_spec", "parse_spec",
           "spec_from_graph", "spec_from_program", "WorksheetSpec", "Part", "ValueRange", "WorksheetError",
           "QUESTION_TYPES", "FORMATS", "variant_point", "variant_ids", "why_not", "moodle_xml", "check_moodle_xml",
           "MoodleXMLError", "print_pdf", "screenshot", "find_chromium", "ChromiumNotFound", "responses_template",
           "Document", "sheet_document", "Format", "Job", "register_format", "unregister_format"]
