"""``make_worksheet``: a spec (or a graph file) in, a folder of sheets, keys and exports out.

Layout of the folder::

    index.html, index.md           every variant with links
    key.json                       the answer key for `gradlab grade`
    responses-template.csv         the columns `gradlab grade` reads (id, variant, one per answer box)
    markdown/sheet-07.md, key-07.md and the pictures beside them (v07-part1-blank.svg, ...)
    html/sheet-07.html, key-07.html  self-contained (pictures inlined, MathML)
    students.pdf, keys.pdf         every sheet / every key, one per page (Chromium)
    moodle.xml                     Moodle question bank (see gradlab.worksheet.moodle)

Every file is written atomically, and the same seed gives byte-identical files.
"""

from __future__ import annotations

import csv
import io
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

from ..fileio import output_folder, write_atomic
from ..grading.followthrough import rounding_changes
from ..model.answerkey import AnswerKey
from ..model.graph import Graph
from .format import Files, Job
from .formats import BUILTIN, chosen, registered
from .pictures import renderer
from .questions import Worksheet, build_worksheet
from .spec import WorksheetSpec, load_spec, spec_from_graph

#: gradlab's own formats (the default); :func:`gradlab.worksheet.register_format` adds others.
FORMATS = BUILTIN


@dataclass
class WorksheetResult:
    """What :func:`make_worksheet` wrote, and any notes for the teacher."""

    folder: str
    title: str
    seed: int
    variants: int
    questions: list[dict[str, Any]]
    total_points: float
    files: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    pictures: bool = True

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, **kwargs)

    def _repr_html_(self) -> str:
        """Jupyter's view: the worksheet in one line, a row per question (answer boxes, points), the notes."""
        from ..htmltable import esc, html_table

        rows = [[q["id"], q["type"], q["title"], len(q["items"]), f"{q['points']:g}"] for q in self.questions]
        table = html_table(["question", "type", "asks for", "answer boxes", "points"], rows, left=(1, 2),
                           caption=f"{self.title}: {self.variants} variants, seed {self.seed}, "
                                   f"{self.total_points:g} points")
        notes = "".join(f"<li>note: {esc(n)}</li>" for n in self.notes)
        index, key = Path(self.folder) / "index.html", Path(self.folder) / "key.json"
        files = f"{len(self.files)} files in {self.folder}"
        return (f'<div class="gradlab-worksheet">{table}<p>{esc(files)} (open <code>{esc(index)}</code>; grade with '
                f"<code>gradlab grade RESPONSES.csv --key {esc(key)}</code>)</p>"
                + (f"<ul>{notes}</ul>" if notes else "") + "</div>")


def _spec_of(source: WorksheetSpec | Graph | str | Path) -> WorksheetSpec:
    if isinstance(source, WorksheetSpec):
        return source
    if isinstance(source, Graph):
        return spec_from_graph(source)
    return load_spec(source)


def responses_template(ws: Worksheet) -> str:
    """The header `gradlab grade` reads, and one example row per variant (empty answers)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["id", "variant", *[i.id for i in ws.items()]])
    return buf.getvalue()


def rounding_notes(key: AnswerKey, *, shown: int = 3) -> list[str]:
    """A note for the teacher when, in some variants, a student who rounds each step as the sheet says gets a
    later answer other than the key's (0.88 · 0.12 = 0.1056, written 0.11, where the key has 0.10), and what
    the key's grading mode makes of it."""
    hit = [(v.id, rounding_changes(v, key.grading)) for v in key.variants.values()]
    hit = [(vid, changes) for vid, changes in hit if changes]
    if not hit:
        return []
    examples = "; ".join(f"variant {vid}: {c.item} is {c.by_hand} from {c.uses}, the key has {c.expected}"
                         for vid, changes in hit[:shown] for c in changes[:1])
    more = f"; and {len(hit) - shown} more" if len(hit) > shown else ""
    if key.grading.mode == "strict":
        verdict = ("with [grading] mode = \"strict\" they lose those marks: set mode = \"follow-through\" (or "
                   "\"tolerance\") to give them")
    else:
        verdict = f"[grading] mode = \"{key.grading.mode}\" gives them full marks"
    return [f"rounding: in {len(hit)} of {len(key.variants)} variants, rounding each step as the sheet says changes "
            f"a later answer ({examples}{more}); {verdict}"]


def make_worksheet(source: WorksheetSpec | Graph | str | Path, out: str | Path, *, variants: int | None = None,
                   seed: int | None = None, formats: Sequence[str] = FORMATS, moodle_symbolic: str | None = None,
                   moodle_pictures: str | None = None, jobs: int = 2) -> WorksheetResult:
    """Write every variant's sheet and key, the index, ``key.json`` and the chosen formats to ``out``
    (any registered format, see :mod:`gradlab.worksheet.formats`).

    >>> r = make_worksheet("graphs/neuron_sigmoid_gate.toml", "sheets", variants=3, seed=2024,
    ...                    formats=("markdown",))                             # doctest: +SKIP
    """
    started = time.perf_counter()
    todo = chosen(formats)
    spec = _spec_of(source)
    notes: list[str] = []
    have_renderer = renderer() is not None
    if not have_renderer:
        notes.append("pictures left out: gradlab's renderer (gradlab.render) is not installed; the sheets list the "
                     "blanks instead")
    options = {"moodle_symbolic": moodle_symbolic or spec.moodle.get("symbolic", "essay"),
               "moodle_pictures": moodle_pictures or spec.moodle.get("pictures", "svg")}
    ws = build_worksheet(spec, variants=variants, seed=seed, pictures=have_renderer,
                         png=have_renderer and any(f.wants_png(options) for f in todo))
    folder = output_folder(out)
    job = Job(ws, tuple(f.name for f in todo), options, notes)
    key = ws.key()
    notes += rounding_notes(key)
    files: Files = {"key.json": key.to_json(indent=1) + "\n", "responses-template.csv": responses_template(ws)}
    for fmt in todo:
        files.update(fmt.files(job))
    for fmt in registered():
        if fmt.index is not None:  # the index pages are written whatever formats are chosen
            name, text = fmt.index(job)
            files[name] = text
    _write_all(folder, files, jobs)
    written = sorted(files)
    for fmt in todo:
        if fmt.finish is not None:
            written += fmt.finish(job, folder)
    result = WorksheetResult(str(folder), ws.title, ws.seed, len(ws.variants),
                             [{"id": q.id, "type": q.type, "title": q.title, "points": q.points,
                               "items": [i.id for i in q.items]} for q in ws.questions],
                             ws.total_points, written, notes, pictures=have_renderer)
    result.seconds = round(time.perf_counter() - started, 3)
    return result


def _write_all(folder: Path, files: Files, jobs: int) -> None:
    for sub in {os.path.dirname(n) for n in files if os.path.dirname(n)}:
        (folder / sub).mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        list(pool.map(lambda kv: write_atomic(folder / kv[0], kv[1]), files.items()))
