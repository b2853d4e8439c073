"""What an output format of worksheets is: a name and the files it makes from a :class:`Job`.

A format prints the blocks of :mod:`gradlab.worksheet.document` (Markdown, HTML), or makes its own
export from the worksheet (Moodle XML); the registry (:mod:`gradlab.worksheet.formats`) lists them
and :func:`gradlab.worksheet.make_worksheet` runs the chosen ones. A new format is one module
with a :class:`Format` (registered with :func:`gradlab.worksheet.register_format`):

>>> from gradlab.worksheet.document import Paragraph
>>> def files(job):
...     return {f"text/{v.id}.txt": "\\n".join(b.text for b in job.document(v, key=False).blocks
...                                          if isinstance(b, Paragraph)) for v in job.ws.variants}
>>> TEXT = Format("text", files, "paragraphs of each sheet")
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

from .document import Document, sheet_document
from .questions import VariantView, Worksheet

#: A file of the folder (relative path) -> its text or bytes.
Files = dict[str, str | bytes]


@dataclass
class Job:
    """What the formats share while one folder is made: the worksheet, the chosen formats, options
    (``moodle_symbolic``, ``moodle_pictures``), the notes for the teacher, and each sheet's document (built once)."""

    ws: Worksheet
    formats: tuple[str, ...]
    options: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    _documents: dict[tuple[str, bool], Document] = field(default_factory=dict, repr=False)

    def document(self, v: VariantView, *, key: bool) -> Document:
        """The sheet (or key) of variant ``v`` as blocks (built on the first call)."""
        doc = self._documents.get((v.id, key))
        if doc is None:
            doc = self._documents[(v.id, key)] = sheet_document(self.ws, v, key=key)
        return doc


@dataclass(frozen=True)
class Format:
    """An output format.

    ``files(job)`` gives the files it writes into the folder; ``finish(job, folder)``, when given,
    runs after every file is written and returns the names of the files it made (PDF: Chromium
    prints the HTML); ``needs`` names formats whose files it reads (they are made too); ``png``: it
    embeds PNG pictures (or a function of the job's options saying whether); ``index(job)``, when given, is the folder's index page in this format
    (file name, text), written whatever formats are chosen.
    """

    name: str
    files: Callable[[Job], Files]
    description: str = ""
    finish: Optional[Callable[[Job, Path], list[str]]] = None
    needs: tuple[str, ...] = ()
    png: bool | Callable[[dict[str, Any]], bool] = False
    index: Optional[Callable[[Job], tuple[str, str]]] = None

    def wants_png(self, options: dict[str, Any]) -> bool:
        """Whether the worksheet needs PNG pictures for this format, with these options."""
        return self.png(options) if callable(self.png) else self.png


__all__ = ["Format", "Job", "Files"]
