"""What a gradient check finds, for every graph: :class:`GradientReport` with one :class:`InputResult` per input
and one :class:`NodeResult` per node (plus the kinks it met and whom it blames).

One report type for graphs of numbers and of vectors and matrices: a value, gradient, finite difference or
torch adjoint is a float for a number and an array of the node's shape for a vector or matrix. The fields only
a tensor graph has (``shape``, ``matrix``, ``entries``, ``staged`` of an input, ``representative``,
``is_tensor``) are left out of the JSON of a graph of numbers, so its keys stay the documented ones.

>>> from gradlab import gradients
>>> r = gradients("f = (x + y)*z", at=dict(x=-2, y=5, z=-4))
>>> r.inputs["z"].grad, r.is_tensor, "shape" in r.to_dict()["inputs"]["z"]
(3.0, False, False)
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Mapping, Union

import numpy as np

from ..jsonable import jsonable as _jsonable

METHODS = ("symbolic", "fd", "torch")

#: A number for a number, an array of the node's shape for a vector or matrix.
Value = Union[float, np.ndarray]

#: Keys only tensor graphs have, left out of a graph of numbers' JSON.
_TENSOR_INPUT_KEYS = ("shape", "matrix", "entries", "staged", "representative")
_TENSOR_NODE_KEYS = ("shape", "matrix")


class LazyEntries(dict[str, str]):
    """Entry formulas as text, made on first read: the names are known at once, the text (``str()`` of each SymPy
    formula, 73% of a 64-32-10 network's check when it was eager) only when a value is shown or asked for.

    >>> e = LazyEntries(["dL/da_1", "dL/da_2"], lambda: {"dL/da_1": 1, "dL/da_2": "x"})
    >>> len(e), e.pending, e["dL/da_2"], e.pending, dict(e)
    (2, True, 'x', False, {'dL/da_1': '1', 'dL/da_2': 'x'})
    """

    _make: Callable[[], Mapping[str, Any]] | None = None  # class defaults: copies made without __init__
    _names: tuple[str, ...] = ()

    def __init__(self, names: Any = (), make: Callable[[], Mapping[str, Any]] | None = None) -> None:
        if make is None:  # a plain copy (dataclasses.asdict makes one from the items)
            super().__init__(names)
        else:
            super().__init__()
            self._names, self._make = tuple(names), make

    @property
    def pending(self) -> bool:
        """Whether the text is still to be made."""
        return self._make is not None

    def _fill(self) -> None:
        make = self._make
        if make is not None:
            self._make = None
            made = make()
            for k in self._names:
                dict.__setitem__(self, k, str(made[k]))

    def __len__(self) -> int:
        return len(self._names) if self._make is not None else dict.__len__(self)

    def __bool__(self) -> bool:
        return len(self) > 0


def _lazy(name: str) -> Callable[..., Any]:
    def method(self: LazyEntries, *args: Any, **kwargs: Any) -> Any:
        self._fill()
        return getattr(dict, name)(self, *args, **kwargs)

    method.__name__ = name
    return method


for _name in ("__getitem__", "__iter__", "__contains__", "__repr__", "__eq__", "__ne__", "__reversed__", "get",
              "items", "keys", "values", "copy", "__or__", "__ror__", "__reduce__", "__reduce_ex__"):
    setattr(LazyEntries, _name, _lazy(_name))


@dataclass(frozen=True)
class Tolerances:
    """When two methods agree: ``|a - b| <= atol + rtol * max(|a|, |b|)``, entry by entry.

    Finite differences have truncation and rounding error (about 1e-10 relative at the
    default step), so they get ``fd_rtol``/``fd_atol`` (``fd_atol`` is scaled by
    ``max(1, |output|)``, and widened by twice the differences' own error estimate, see
    :class:`gradlab.engine.finite_diff.FDEstimate`); torch computes the same float64 arithmetic
    in another order.
    """

    fd_rtol: float = 1e-6
    fd_atol: float = 1e-8
    torch_rtol: float = 1e-9
    torch_atol: float = 1e-10
    #: a kink argument closer than this (relative) to the kink counts as "near" it
    near_kink: float = 1e-4


@dataclass
class OutputResult:
    name: str
    value: float | None


@dataclass(slots=True)  # slots: a 100,000-gate check holds 160,000 results, a third of the size with them
class InputResult:
    """One input: its value, d output / d input by each method, and whether they agree.

    For a vector or matrix input, value, grad, fd and torch are arrays of its ``shape``, the errors the
    largest over the entries, ``matrix`` the gradient's checked matrix form (``(p - y) @ v.T / 2``),
    ``entries`` each entry's formula (``dL/dB_1_2``), ``staged`` the chain-rule step and
    ``representative`` the entry whose formula ``named`` shows.
    """

    name: str
    value: Value | None
    grad: Value | None
    expr: str
    named: str
    latex: str
    fd: Value | None = None
    torch: Value | None = None
    fd_rel_err: float | None = None
    fd_error: float | None = None  # estimated error of the finite differences themselves
    torch_rel_err: float | None = None
    ok: bool = True
    #: ok | mismatch | symbolic-only | kink / near-kink (methods differ, as conventions allow) |
    #: kink-agree / near-kink-agree (on or near a kink, and still every method agrees)
    status: str = "ok"
    #: on or near a kink: d output / d input under each convention (sympy, torch, fd_central,
    #: fd_left, fd_right: the one-sided difference quotients)
    conventions: dict[str, float] = field(default_factory=dict)
    shape: list[int] = field(default_factory=list)
    matrix: str | None = None
    entries: dict[str, str] = field(default_factory=dict)
    staged: str = ""
    representative: str = ""
    #: d output / d input by the high-precision referee, where it ran (else None, and no JSON key)
    reference: Value | None = None


@dataclass(slots=True)
class NodeResult:
    """One node: its value and adjoint (numeric from the symbolic partials, and by torch); for a vector or
    matrix node arrays of its ``shape``, with the adjoint's checked ``matrix`` form."""

    id: str
    kind: str
    label: str
    value: Value | None
    grad: Value | None
    torch: Value | None = None
    rel_err: float | None = None
    ok: bool = True
    status: str = "ok"
    op: str | None = None
    named: bool = False
    text: str | None = None
    staged: str = ""
    shape: list[int] = field(default_factory=list)
    matrix: str | None = None
    #: the node's adjoint by the high-precision referee, where it ran (else None, and no JSON key)
    reference: Value | None = None


@dataclass
class RefereeResult:
    """What the high-precision referee found (:mod:`gradlab.engine.referee`), where it ran: why it ran
    (``reasons``), at how many digits (``dps``; 0 where it could not run), and the verdict, one line per
    finding: which method is right and why the others are off."""

    reasons: list[str]
    dps: int
    settled: bool
    verdict: list[str]


@dataclass
class StagedForm:
    """What evaluating the staged form takes, where an input's formula is shown in it (:mod:`gradlab.check.staged`):
    why it is shown (``reason``), the ``output``, every gate's value in its arguments (``values``, forward order)
    and every adjoint ``d<output>_d<node>`` in its consumers' adjoints and local partials (``adjoints``, backward
    order), each a formula in gradlab's formula language."""

    reason: str
    output: str
    values: dict[str, str]
    adjoints: dict[str, str]


@dataclass
class KinkResult:
    """A gate evaluated exactly on (or near) its kink, and what each convention gives there."""

    node: str
    op: str
    args: dict[str, Value]
    distance: float
    exact: bool
    local_conventions: dict[str, list[float]]
    affected: list[str]
    note: str


@dataclass
class FDSampling:
    """How a big graph's finite differences covered its inputs (a graph past
    :data:`gradlab.engine.finite_diff.FD_EXACT_WORK`; smaller ones difference every entry and have none).

    ``checked`` names the input entries differenced one by one (``w12``, ``A[0, 1]``: a fixed random sample of
    ``sample`` of the ``entries``); the others have no ``fd`` (``None``, or nan entries in an array). Every entry is
    checked through ``directions`` random directions, each moving all of them at once: ``directional_fd[k]`` is
    d output along direction k by differences, ``directional_grad[k]`` the gradient's dot product with it,
    ``directional_rel_err`` the largest relative error and ``directional_ok`` whether they agree.
    """

    entries: int
    sample: int
    checked: list[str]
    directions: int
    directional_fd: list[float]
    directional_grad: list[float]
    directional_rel_err: float
    directional_ok: bool


@dataclass
class Blame:
    """Where methods first disagree, in backward order, and which gate is to blame."""

    node: str
    message: str
    gate: str | None = None
    argument: int | None = None
    symbolic_local: float | None = None
    torch_local: float | None = None
    fd_local: float | None = None


@dataclass
class GradientReport:
    """The result of :func:`gradlab.gradients`; ``to_json()`` keeps the documented stable keys."""

    program: str
    output: OutputResult
    inputs: dict[str, InputResult]
    nodes: list[NodeResult]
    ok: bool
    at: dict[str, Value] | None = None
    methods: tuple[str, ...] = METHODS
    kinks: list[KinkResult] = field(default_factory=list)
    blame: Blame | None = None
    tolerances: Tolerances = field(default_factory=Tolerances)
    title: str = ""
    #: a graph of vectors and matrices (arrays in place of numbers)
    is_tensor: bool = False
    #: a big graph: which entries finite differences checked one by one, and the directional check of all
    #: (left out of the JSON of a graph that differences every entry)
    fd_sampling: FDSampling | None = None
    #: the high-precision referee's findings, where it ran (else None, and no JSON key)
    referee: RefereeResult | None = None
    #: the definitions the staged form needs, where an input's formula is shown in it (else None, and no JSON key)
    staged_form: StagedForm | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["methods"] = list(self.methods)
        if self.fd_sampling is None:
            del d["fd_sampling"]
        if self.referee is None:  # the referee's keys only where it ran: other reports keep theirs
            del d["referee"]
        if self.staged_form is None:
            del d["staged_form"]
        for row in [*d["inputs"].values(), *d["nodes"]]:
            if row["reference"] is None:
                del row["reference"]
        if not self.is_tensor:  # a graph of numbers: the keys it always had
            del d["is_tensor"]
            for i in d["inputs"].values():
                for k in _TENSOR_INPUT_KEYS:
                    del i[k]
            for n in d["nodes"]:
                for k in _TENSOR_NODE_KEYS:
                    del n[k]
        return _jsonable(d)

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, **kwargs)

    def __str__(self) -> str:
        from .report import format_report

        return format_report(self)

    def _repr_html_(self) -> str:
        """A table of the inputs in Jupyter: value, gradient, finite differences, torch, check."""
        from .report import html_report

        return html_report(self)

    def grad(self, name: str) -> Value | None:
        """d output / d name for an input or any node."""
        if name in self.inputs:
            return self.inputs[name].grad
        for n in self.nodes:
            if n.id == name:
                return n.grad
        raise KeyError(name)
