"""The answer key of a worksheet (``key.json``): what each variant's answers are and how to grade them.

:func:`gradlab.worksheet.make_worksheet` writes it; :func:`gradlab.grading.grade` reads it. It is
self-contained: grading needs no graph file, only this key. Formulas are stored as text in
gradlab's strict formula syntax and read back with the safe parser (:mod:`gradlab.lang.expr`), never
with ``eval``; a key edited by hand is checked and its mistakes are reported by place.

Layout (``gradlab_key`` is the format version)::

    {"gradlab_key": 1, "title": ..., "seed": 2024,
     "questions": [{"id": "3", "type": "symbolic", "title": ..., "items": ["3.1", ...], ...}],
     "items": {"3.1": {"question": "3", "kind": "formula", "points": 2, "label": "∂a/∂x0"}},
     "variants": {"07": {"at": {...}, "answers": {"3.1": {...}, "1.4": {...}}}},
     "grading": {"rtol": 0.01, "atol": 0.005, "sigfigs": null, "partial": {"sign": 0.5}, "mode": "strict"}}

A number answer: ``{"value": 0.39, "mistakes": [{"id": "sign", "message": ..., "value": -0.39}]}``.
A blank of a picture's forward or backward pass may say how its value follows from earlier blanks, for
follow-through marking (:mod:`gradlab.grading.followthrough`): ``"follow": {"formula": "i2_6*i1_5*(1 - i1_5)",
"uses": {"i1_5": "1.5", "i2_6": "2.6"}}`` (a formula in the key's syntax; each name stands for the number
given for an item; the values the sheet prints are in the formula as numbers). A key without ``follow``
(one written before it existed) and a key whose ``grading/mode`` is ``strict`` grade each blank against
the key's value only.
A formula answer: ``{"formula": "w0*a*(1 - a)", "names": {"z": "w0*x0 + ...", "a": "sigmoid(z)"},
"aliases": {"alpha": "a"}, "inputs": [...], "probe": {"w0": [-3, 3]}, "mistakes": [{..., "formula": ...}]}``.
A matrix answer (a gradient of a tensor graph as a matrix formula) carries the graph itself:
``{"formula": "(p - y) @ v.T / 2", "program": "x: (3,)\n...", "shapes": {"x": [3], ...},
"domains": {"y": "onehot"}, "of": "L", "wrt": "B", "mistakes": [...]}``; it is graded by
:func:`gradlab.check.verify.verify` on the graph the program builds. A tensor variant's ``at`` holds
nested lists (a vector ``[1, -0.5, 2]``, a matrix by rows).

>>> normalise_variant("Variant 7", {"06": None, "07": None})
'07'
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping

from ..errors import GradlabError, Location
from ..fileio import path_kind, read_text, shown
from .mistakes import MISTAKES

KEY_VERSION = 1
KINDS = ("number", "formula", "matrix")

#: How numbers that follow from earlier blanks are graded (``[grading] mode``): ``strict`` against the
#: key's value only; ``tolerance`` also against the value that follows from the sheet's rounded values
#: (a student who rounds each step as told); ``follow-through`` also against the value that follows from
#: the student's own earlier answers (an error is carried forward and costs once).
MODES = ("strict", "tolerance", "follow-through")


class AnswerKeyError(GradlabError):
    """A ``key.json`` that cannot be used for grading."""


@dataclass
class Mistake:
    """A generated wrong answer: ``id`` from :data:`MISTAKES`, the student-facing message, and the
    wrong answer itself (a number, or a formula in the key's syntax)."""

    id: str
    message: str
    value: float | None = None
    formula: str | None = None
    detail: str = ""


@dataclass
class Follow:
    """How a blank's value follows from the numbers given for earlier items: ``formula`` (key syntax) in
    the names of ``uses`` (name -> item id)."""

    formula: str
    uses: dict[str, str] = field(default_factory=dict)


@dataclass
class Answer:
    """One variant's answer to one item."""

    value: float | None = None
    formula: str | None = None
    text: str = ""  # how the key prints it (0.39, or the formula in LaTeX)
    names: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    inputs: list[str] = field(default_factory=list)
    probe: dict[str, list[float]] = field(default_factory=dict)
    mistakes: list[Mistake] = field(default_factory=list)
    # a matrix answer: the graph (its program, input shapes and domains) and d of / d wrt
    program: str | None = None
    shapes: dict[str, list[int]] = field(default_factory=dict)
    domains: dict[str, str] = field(default_factory=dict)
    of: str | None = None
    wrt: str | None = None
    # a number answer: how it follows from earlier blanks (follow-through marking)
    follow: Follow | None = None

    @property
    def kind(self) -> str:
        if self.program is not None:
            return "matrix"
        return "formula" if self.formula is not None else "number"


@dataclass
class Item:
    """One answer box: ``3.1``, in question ``3``, worth ``points``."""

    id: str
    question: str
    kind: str
    points: float
    label: str
    plain: str = ""  # the label in plain text (for CSV headers and Moodle names)


@dataclass
class Question:
    """One question of the sheet (its items are answered in the same place)."""

    id: str
    type: str
    title: str
    items: list[str]
    part: int = 0
    text: str = ""


@dataclass
class Variant:
    id: str
    at: dict[str, Any]  # a number per scalar input, nested lists for vectors and matrices
    answers: dict[str, Answer]
    part_points: list[dict[str, float]] = field(default_factory=list)


@dataclass
class Grading:
    """How numbers are compared and what partial credit each named mistake earns."""

    rtol: float = 0.01
    atol: float = 0.005
    sigfigs: int | None = None
    decimals: int = 2
    partial: dict[str, float] = field(default_factory=lambda: {"sign": 0.5})
    timeout: float = 5.0
    memory_mb: int = 768
    student_seconds: float = 30.0  # grading time for one student's answers (a row)
    class_seconds: float = 3600.0  # grading time for the whole class
    mode: str = "strict"  # one of MODES; a key written before modes existed grades strictly


@dataclass
class AnswerKey:
    """Everything needed to grade a worksheet's answers (see the module docstring)."""

    title: str = ""
    seed: int = 0
    questions: list[Question] = field(default_factory=list)
    items: dict[str, Item] = field(default_factory=dict)
    variants: dict[str, Variant] = field(default_factory=dict)
    grading: Grading = field(default_factory=Grading)
    spec: str = ""

    @property
    def total_points(self) -> float:
        return sum(i.points for i in self.items.values())

    def variant(self, text: Any) -> Variant:
        """A variant by its id, forgiving how it is written: ``7``, ``07``, ``v07``, ``Variant 7``."""
        vid = normalise_variant(text, self.variants)
        if vid is None:
            shown = ", ".join(list(self.variants)[:5]) + (" ..." if len(self.variants) > 5 else "")
            raise AnswerKeyError(f"there is no variant {str(text)[:20]!r} in the key (variants: {shown})")
        return self.variants[vid]

    # ------------------------------------------------------------------ JSON
    def to_dict(self) -> dict[str, Any]:
        return {
            "gradlab_key": KEY_VERSION,
            "title": self.title,
            "seed": self.seed,
            "spec": self.spec,
            "grading": asdict(self.grading),
            "questions": [asdict(q) for q in self.questions],
            "items": {k: asdict(i) for k, i in self.items.items()},
            "variants": {vid: {"at": v.at, "answers": {k: _answer_dict(a) for k, a in v.answers.items()}}
                         for vid, v in self.variants.items()},
        }

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=False, **kwargs)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "key.json") -> "AnswerKey":
        def bad(msg: str) -> AnswerKeyError:
            return AnswerKeyError(msg, Location(file=where))

        if not isinstance(data, Mapping) or data.get("gradlab_key") != KEY_VERSION:
            raise bad(f"not a gradlab answer key (expected \"gradlab_key\": {KEY_VERSION}); "
                      "make one with 'gradlab worksheet'")
        check_key_data(data, where)
        try:
            grading = Grading(**{k: v for k, v in dict(data.get("grading") or {}).items()
                                 if k in Grading.__dataclass_fields__})
            questions = [Question(**q) for q in data.get("questions", [])]
            items = {str(k): Item(**v) for k, v in dict(data.get("items", {})).items()}
            variants: dict[str, Variant] = {}
            for vid, v in dict(data.get("variants", {})).items():
                answers = {}
                for k, a in dict(v["answers"]).items():
                    a = dict(a)
                    a["mistakes"] = [Mistake(**m) for m in a.get("mistakes", [])]
                    if a.get("follow") is not None:
                        a["follow"] = Follow(**a["follow"])
                    answers[str(k)] = Answer(**a)
                variants[str(vid)] = Variant(str(vid), {str(n): _point_value(x) for n, x in dict(v.get("at", {})).items()},
                                             answers)
        except (TypeError, KeyError, ValueError, AttributeError) as e:
            raise bad(f"the key is malformed ({type(e).__name__}: {e})") from None
        for vid, v in variants.items():
            for k, a in v.answers.items():
                if k not in items:
                    raise bad(f"variant {vid} answers item '{k}', which the key does not list")
                if a.formula is None and (a.value is None or not math.isfinite(float(a.value))):
                    raise bad(f"variant {vid}, item {k}: the answer needs a finite 'value' or a 'formula'")
                if a.program is not None and (a.formula is None or not a.of or not a.wrt):
                    raise bad(f"variant {vid}, item {k}: a matrix answer needs 'formula', 'of' and 'wrt'")
        for it in items.values():
            if it.kind not in KINDS:
                raise bad(f"item {it.id}: unknown kind {it.kind!r} (number, formula or matrix)")
        if not variants:
            raise bad("the key has no variants")
        return cls(title=str(data.get("title", "")), seed=int(data.get("seed", 0)), questions=questions,
                   items=items, variants=variants, grading=grading, spec=str(data.get("spec", "")))

    @classmethod
    def load(cls, path: str | Path) -> "AnswerKey":
        """Read ``key.json``; a clear error for a missing, non-JSON or malformed file."""
        p = Path(path)
        if path_kind(p) is None:
            raise AnswerKeyError(f"no such answer key: {shown(p)} (write one with 'gradlab worksheet ... -o DIR'; "
                                 "it is DIR/key.json)")
        text = read_text(p, "answer key", error=AnswerKeyError)
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise AnswerKeyError(f"not valid JSON: {e}", Location(file=str(p))) from None
        except RecursionError:
            raise AnswerKeyError(f"not an answer key: its JSON is nested too deeply (a key is at most "
                                 f"{MAX_KEY_DEPTH} levels deep)", Location(file=str(p))) from None
        return cls.from_dict(data, str(p))


# ----------------------------------------------------------------------------- checking a key's values

#: How deep a key's JSON goes (variants / id / at / name / rows / entries is 6).
MAX_KEY_DEPTH = 12
#: Ranges of the grading settings: (lowest, highest), for numbers and whole numbers.
GRADING_RANGES: dict[str, tuple[float, float]] = {
    "rtol": (0.0, 1.0), "atol": (0.0, 1e6), "sigfigs": (1, 10), "decimals": (0, 8),
    "timeout": (0.1, 600.0), "memory_mb": (128, 65536), "student_seconds": (1.0, 86400.0),
    "class_seconds": (1.0, 604800.0),
}
_SECTIONS: dict[str, Any] = {}


def check_key_data(data: Mapping[str, Any], where: str = "key.json") -> None:
    """Check the types and ranges of every value of a key's JSON before it is used; the error names
    the value's place (``grading/timeout``, ``variants/07/answers/3.1/value``) and the file.

    >>> check_key_data({"gradlab_key": 1, "grading": {"timeout": "abc"}}, "key.json")
    Traceback (most recent call last):
    ...
    gradlab.model.answerkey.AnswerKeyError: key.json: grading/timeout must be a number, got "abc"
    """
    def bad(path: list[str], msg: str) -> AnswerKeyError:
        return AnswerKeyError(f"{'/'.join(path)} {msg}", Location(file=where))

    _check_depth(data, bad)
    if not _SECTIONS:
        _SECTIONS.update({"grading": Grading, "questions": list[Question], "items": dict[str, Item],
                          "variants": dict[str, _VariantData], "title": str, "spec": str, "seed": int})
    for key, hint in _SECTIONS.items():
        if key in data:
            _check(data[key], hint, [key], bad)
    grading = data.get("grading") or {}
    for key, (lo, hi) in GRADING_RANGES.items():
        v = grading.get(key)
        if v is not None and not lo <= v <= hi:
            raise bad(["grading", key], f"must be from {lo:g} to {hi:g}, got {v!r}")
    for k, v in (grading.get("partial") or {}).items():
        if k not in MISTAKES:
            raise bad(["grading", "partial", k], f"is not a mistake gradlab knows ({', '.join(MISTAKES)})")
        if not 0 <= v <= 1:
            raise bad(["grading", "partial", k], f"must be from 0 to 1, got {v!r}")
    if grading.get("mode", "strict") not in MODES:
        raise bad(["grading", "mode"], f"must be one of {', '.join(MODES)}, got {_shown(grading['mode'])}")
    for iid, item in (data.get("items") or {}).items():
        if not 0 <= item.get("points", 0) <= 1e6:
            raise bad(["items", iid, "points"], f"must be from 0 to 1e6, got {item['points']!r}")


@dataclass
class _VariantData:
    """A variant as key.json writes it (its id is the key it is stored under)."""

    at: dict[str, Any]
    answers: dict[str, Answer]


def _check_depth(data: Any, bad: Any) -> None:
    stack: list[tuple[Any, list[str]]] = [(data, [])]
    while stack:
        x, path = stack.pop()
        if len(path) > MAX_KEY_DEPTH:
            raise bad(path[:4] + ["..."], f"is nested too deeply (a key is at most {MAX_KEY_DEPTH} levels deep)")
        if isinstance(x, Mapping):
            stack.extend((v, path + [str(k)]) for k, v in x.items())
        elif isinstance(x, list):
            stack.extend((v, path + [str(i)]) for i, v in enumerate(x))


def _check(x: Any, hint: Any, path: list[str], bad: Any) -> None:
    """``x`` (parsed JSON) fits the type ``hint`` (str, int, float, lists, dicts, a dataclass, ``| None``, Any)."""
    import dataclasses
    import types
    import typing

    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        if path[-2:-1] == ["at"]:
            _check_point_value(x, path, bad)
        return
    if origin in (typing.Union, types.UnionType):
        if x is None and type(None) in args:
            return
        _check(x, next(a for a in args if a is not type(None)), path, bad)
        return
    if hint is float:
        if isinstance(x, bool) or not isinstance(x, (int, float)):
            raise bad(path, f"must be a number, got {_shown(x)}")
        if not math.isfinite(x):
            raise bad(path, f"must be a finite number, got {_shown(x)}")
    elif hint is int:
        if isinstance(x, bool) or not isinstance(x, int):
            raise bad(path, f"must be a whole number, got {_shown(x)}")
    elif hint is str:
        if not isinstance(x, str):
            raise bad(path, f"must be text, got {_shown(x)}")
    elif origin is list:
        if not isinstance(x, list):
            raise bad(path, f"must be a list, got {_shown(x)}")
        for i, e in enumerate(x):
            _check(e, args[0], path + [str(i)], bad)
    elif origin is dict:
        if not isinstance(x, Mapping):
            raise bad(path, f"must be an object {{...}}, got {_shown(x)}")
        for k, v in x.items():
            _check(v, args[1], path + [str(k)], bad)
    elif dataclasses.is_dataclass(hint):
        if not isinstance(x, Mapping):
            raise bad(path, f"must be an object {{...}}, got {_shown(x)}")
        hints = typing.get_type_hints(hint)
        for k, v in x.items():
            if k in hints:
                _check(v, hints[k], path + [str(k)], bad)


def _check_point_value(x: Any, path: list[str], bad: Any) -> None:
    """An input's value: a finite number, or a list of them, or a list of such lists (a matrix)."""
    rows = x if isinstance(x, list) else [x]
    for row in rows:
        for e in (row if isinstance(row, list) else [row]):
            if isinstance(e, bool) or not isinstance(e, (int, float)) or not math.isfinite(e):
                raise bad(path, f"must be a finite number, a vector [..] or a matrix [[..], ..], got {_shown(e)}")


def _shown(x: Any) -> str:
    text = json.dumps(x, ensure_ascii=True) if isinstance(x, (str, int, float, bool, type(None))) else type(x).__name__
    return text if len(text) <= 40 else text[:37] + "..."


def _point_value(x: Any) -> Any:
    """An input's value in a key: a number, or nested lists of numbers (a vector, a matrix)."""
    if isinstance(x, list):
        return [_point_value(e) for e in x]
    return float(x)


def _answer_dict(a: Answer) -> dict[str, Any]:
    d = asdict(a)
    for key in ("value", "formula", "program", "of", "wrt", "follow"):
        if d[key] is None:
            del d[key]
    for key in ("names", "aliases", "inputs", "probe", "shapes", "domains"):
        if not d[key]:
            del d[key]
    d["mistakes"] = [{k: v for k, v in m.items() if v not in (None, "")} for m in d["mistakes"]]
    return d


def normalise_variant(text: Any, known: Mapping[str, Any]) -> str | None:
    """``7``, ``07``, ``v07``, ``Variant 7`` -> the key's id for variant 7 (or None)."""
    s = str(text).strip()
    if s in known:
        return s
    digits = "".join(ch for ch in s if ch.isdigit())
    if not digits or len(s) > 20:
        return None
    n = int(digits)
    for vid in known:
        vd = "".join(ch for ch in vid if ch.isdigit())
        if vd and int(vd) == n:
            return vid
    return None
