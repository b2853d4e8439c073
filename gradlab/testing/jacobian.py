"""Gradients of any function or torch module against central finite differences, in float64.

The gradient under test is torch autograd (for torch code, custom ``autograd.Function``
included) or a hand-written ``grad`` function (for NumPy or plain Python code). The
reference is Richardson-extrapolated central differences of the forward pass alone
(the step rule and the Richardson combination of :mod:`gradlab.engine.finite_diff`), with an
error estimate that widens the tolerance where differences are unreliable (a kink
straddled by the step).

Two modes:

* ``full``: every entry of the Jacobian (d output_i / d input_j), one backward pass per
  output entry and four forward passes per input entry: for small functions and modules;
* ``directions``: for large ones, the gradient of a random projection of the outputs along
  random directions, one per input or parameter tensor (``directions`` of them), and, when
  one disagrees, a bisection that narrows it down to one entry.

Random layers (dropout) see the same random numbers in every forward pass: the RNG is
reseeded before each one.

>>> import torch
>>> r = check_function_gradients(lambda x, w: torch.tanh(x @ w), (torch.ones(2), torch.ones(2, 3)))
>>> r.ok, r.mode, [t.name for t in r.results]
(True, 'full', ['x', 'w'])
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np

from ..check.report import num, table
from ..engine.finite_diff import central_richardson, step_size
from ..errors import GradlabError
from ..jsonable import jsonable as _jsonable

__tracebackhide__ = True  # pytest: gradlab's frames are not the user's problem

#: ``mode="auto"`` checks every Jacobian entry while inputs and parameters have at most this
#: many entries together ...
FULL_INPUT_LIMIT = 256
#: ... and the outputs at most this many.
FULL_OUTPUT_LIMIT = 256
#: ``TensorResult.output`` in ``directions`` mode: the outputs are projected on a random vector.
RANDOM_PROJECTION = "random projection"
#: Bisection steps at most, when a direction disagrees (2**40 entries).
MAX_BISECTION = 40


# ------------------------------------------------------------------------------------ results


@dataclass
class TensorResult:
    """One input or parameter: does the gradient under test match finite differences?

    ``autograd`` and ``fd`` are the two numbers at the worst entry (``full`` mode: the
    Jacobian entry d ``output`` / d ``name[index]``; ``directions`` mode: the directional
    derivative, or the partial derivative of the entry the bisection found).
    """

    name: str
    kind: str  # "input" or "parameter"
    shape: list[int]
    ok: bool = True
    #: ok | mismatch | no-gradient (the gradient under test gives none, differences do) |
    #: wrong-shape (a gradient of the wrong shape) | not-checked
    status: str = "ok"
    autograd: float | None = None
    fd: float | None = None
    fd_error: float | None = None
    rel_err: float | None = None
    index: list[int] | None = None
    output: str | None = None
    message: str = ""

    @property
    def entry(self) -> str:
        """``w[0, 1]``: the entry that disagrees most (or ``w`` for a whole tensor)."""
        if self.index is None or not self.shape:
            return self.name
        return f"{self.name}[{', '.join(map(str, self.index))}]"


@dataclass
class JacobianReport:
    """The result of :func:`check_function_gradients` / :func:`check_module_gradients`."""

    function: str
    mode: str  # "full" or "directions"
    gradient: str  # "autograd" or "grad" (a hand-written gradient function)
    ok: bool
    results: list[TensorResult]
    output_shapes: list[list[int]]
    custom_functions: list[str] = field(default_factory=list)
    evaluations: int = 0
    seed: int = 0
    rtol: float = 1e-6
    atol: float = 1e-8
    error: str | None = None  # the backward pass failed (a gradient of the wrong shape, ...)

    @property
    def first_failure(self) -> TensorResult | None:
        return next((r for r in self.results if not r.ok), None)

    def to_dict(self) -> dict[str, Any]:
        return _jsonable(asdict(self))

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, **kwargs)

    def __str__(self) -> str:
        return format_jacobian_report(self)


# ------------------------------------------------------------------------------------ helpers


def _torch() -> Any:
    try:
        import torch
    except ImportError as e:  # pragma: no cover - torch is a requirement
        raise GradlabError("PyTorch is not installed: pip install torch (see README for the CPU wheel)") from e
    return torch


def _add_note(e: BaseException, note: str) -> None:
    """``e.add_note(note)`` (PEP 678), also on Python 3.10, where exceptions have no ``add_note``.

    There the note goes to the same ``__notes__`` list, which pytest (through the ``exceptiongroup``
    backport) shows under the error; ``e`` itself, the user's error, is raised unchanged either way.
    """
    add_note = getattr(e, "add_note", None)
    if callable(add_note):
        add_note(note)
        return
    notes = getattr(e, "__notes__", None)
    if isinstance(notes, list):
        notes.append(note)
        return
    try:
        setattr(e, "__notes__", [note])
    except (AttributeError, TypeError):  # pragma: no cover - an exception that takes no attributes keeps no note
        pass


@contextlib.contextmanager
def _fixed_rng(seed: int) -> Iterator[None]:
    """The same random numbers in every forward pass (dropout masks), global state restored."""
    torch = _torch()
    np_state = np.random.get_state()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        np.random.seed(seed % 2**32)
        try:
            yield
        finally:
            np.random.set_state(np_state)


def _shape_text(shape: Sequence[int]) -> str:
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


def _is_float_array(x: Any) -> bool:
    return isinstance(x, np.ndarray) and np.issubdtype(x.dtype, np.floating)


def _callable_name(fn: Any) -> str:
    self_ = getattr(fn, "__self__", None)
    if inspect.isclass(self_) and getattr(fn, "__name__", "") == "apply":
        return f"{self_.__name__}.apply"
    return getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or type(fn).__name__


def _parameter_names(fn: Any) -> list[str]:
    """Names of the positional parameters of ``fn`` (for ``Function.apply``: of its ``forward``)."""
    target = fn
    self_ = getattr(fn, "__self__", None)
    if inspect.isclass(self_) and getattr(fn, "__name__", "") == "apply" and hasattr(self_, "forward"):
        target = self_.forward
        try:
            params = list(inspect.signature(target).parameters.values())[1:]  # drop ctx
        except (TypeError, ValueError):
            return []
    else:
        try:
            params = list(inspect.signature(target).parameters.values())
        except (TypeError, ValueError):
            return []
    out = []
    for p in params:
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            out.append(p.name)
        else:
            break
    return out


# ------------------------------------------------------------------------------------ the problem


@dataclass
class _Leaf:
    """One differentiable argument: where it goes, its name, its float64 value."""

    name: str
    kind: str
    slot: Any  # int (position) or str (keyword) or ("param", name)
    value: np.ndarray  # float64
    as_tensor: bool  # pass a tensor (else a NumPy array, or a float for a Python number)
    python_float: bool = False


class _Problem:
    """A function of its leaves: forward passes for finite differences, the gradient under test."""

    def __init__(self, name: str, leaves: list[_Leaf], call: Callable[[dict[Any, Any]], Any],
                 grad: Callable[..., Any] | None, seed: int) -> None:
        self.name = name
        self.leaves = leaves
        self.call = call
        self.grad_fn = grad
        self.seed = seed
        self.evaluations = 0
        self.given: list[Any] = []  # the differentiable inputs as the user gave them
        self.last_args: list[Any] = []  # the tensors of the autograd pass (to name an input in an error)

    # conversions -----------------------------------------------------------------------------
    def _arg(self, leaf: _Leaf, value: np.ndarray, requires_grad: bool = False) -> Any:
        if leaf.as_tensor:
            torch = _torch()
            t = torch.tensor(value, dtype=torch.float64)
            return t.requires_grad_(True) if requires_grad else t
        if leaf.python_float:
            return float(value)
        return value.copy()

    def forward(self, values: Sequence[np.ndarray]) -> np.ndarray:
        """The outputs, flattened to one float64 vector, at the given leaf values."""
        torch = _torch()
        self.evaluations += 1
        with _fixed_rng(self.seed), torch.no_grad():
            out = self.call({leaf.slot: self._arg(leaf, v) for leaf, v in zip(self.leaves, values)})
        return _flat_numpy(out, tensors_only=self.grad_fn is None)

    def linearise(self) -> "_Linearisation":
        """One forward pass that records what the gradient under test needs."""
        torch = _torch()
        base = [leaf.value for leaf in self.leaves]
        if self.grad_fn is not None:
            out = self.forward(base)
            return _UserGradient(self, out)
        args = {leaf.slot: self._arg(leaf, leaf.value, requires_grad=leaf.as_tensor) for leaf in self.leaves}
        self.evaluations += 1
        try:
            with _fixed_rng(self.seed), torch.enable_grad():
                out = self.call(args)
        except Exception as e:
            if any(not isinstance(x, torch.Tensor) for x in self.given):
                _add_note(e, "gradlab passed the inputs as float64 torch tensors to check autograd; for NumPy "
                          "code, pass grad=<your gradient function> (then inputs keep their type)")
            raise
        tensors = _output_tensors(out)
        if tensors is None:
            raise GradlabError(
                f"{self.name} returns {type(out).__name__}, not torch tensors, so there is no autograd gradient to "
                "check: pass grad=<your gradient function> to check a hand-written gradient")
        return _Autograd(self, [args[leaf.slot] for leaf in self.leaves], tensors)


def _output_tensors(out: Any) -> list[Any] | None:
    """The floating-point tensors of an output (a tensor, or tuples, lists and dicts of them)."""
    torch = _torch()
    found: list[Any] = []
    other = False

    def walk(x: Any) -> None:
        nonlocal other
        if isinstance(x, torch.Tensor):
            if x.is_floating_point():
                found.append(x)
        elif isinstance(x, (tuple, list)):
            for y in x:
                walk(y)
        elif isinstance(x, Mapping):
            for y in x.values():
                walk(y)
        else:
            other = True

    walk(out)
    if other and not found:
        return None
    return found


def _flat_numpy(out: Any, tensors_only: bool = False) -> np.ndarray:
    """Every floating-point number of an output, in order, as one float64 vector (with ``tensors_only``,
    those of its floating-point tensors: what autograd differentiates)."""
    torch = _torch()
    parts: list[np.ndarray] = []

    def walk(x: Any) -> None:
        if isinstance(x, torch.Tensor):
            if x.is_floating_point():
                parts.append(x.detach().to(torch.float64).reshape(-1).cpu().numpy())
        elif tensors_only and not isinstance(x, (tuple, list, Mapping)):
            return
        elif isinstance(x, np.ndarray):
            if np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer):
                parts.append(np.asarray(x, dtype=np.float64).reshape(-1))
        elif isinstance(x, (float, int, np.generic)) and not isinstance(x, bool):
            parts.append(np.array([float(x)]))
        elif isinstance(x, (tuple, list)):
            for y in x:
                walk(y)
        elif isinstance(x, Mapping):
            for y in x.values():
                walk(y)
        else:
            raise GradlabError(f"cannot read the output: {type(x).__name__} is not a number, array or tensor")

    walk(out)
    return np.concatenate(parts) if parts else np.zeros(0)


class BackwardFailed(Exception):
    """The gradient under test could not be computed (its message says why, naming the input)."""


class _Linearisation:
    out: np.ndarray
    shapes: list[list[int]]
    custom: list[str]

    def vjp(self, v: np.ndarray) -> list[np.ndarray | None]:  # pragma: no cover - abstract
        raise NotImplementedError


class _Autograd(_Linearisation):
    def __init__(self, problem: _Problem, args: list[Any], tensors: list[Any]) -> None:
        torch = _torch()
        self.problem = problem
        self.args = args
        self.tensors = tensors
        self.shapes = [list(t.shape) for t in tensors]
        self.flat = torch.cat([t.reshape(-1).to(torch.float64) for t in tensors]) if tensors else torch.zeros(0)
        self.out = self.flat.detach().numpy().copy()
        self.custom = _custom_functions(self.flat.grad_fn)

    def vjp(self, v: np.ndarray) -> list[np.ndarray | None]:
        torch = _torch()
        grads: list[np.ndarray | None] = [None] * len(self.args)
        wrt = [i for i, a in enumerate(self.args) if isinstance(a, torch.Tensor) and a.requires_grad]
        if not self.flat.requires_grad or not wrt:
            return grads
        try:
            with _fixed_rng(self.problem.seed):
                gs = torch.autograd.grad(self.flat, [self.args[i] for i in wrt],
                                         grad_outputs=torch.as_tensor(v, dtype=self.flat.dtype),
                                         retain_graph=True, allow_unused=True)
        except RuntimeError as e:
            raise BackwardFailed(_explain_backward_error(e, self.flat.grad_fn, self.problem)) from e
        for i, g in zip(wrt, gs):
            grads[i] = None if g is None else g.detach().to(torch.float64).numpy().copy()
        return grads


class _UserGradient(_Linearisation):
    def __init__(self, problem: _Problem, out: np.ndarray) -> None:
        self.problem = problem
        self.out = out
        self.shapes = [[]]
        self.custom = []
        if out.size != 1:
            raise GradlabError(
                f"with grad=, {problem.name} must return one number (a loss), not {out.size} numbers; for a layer, "
                "check a scalar such as (out * dout).sum() with a fixed random dout (see docs/testing.md)")
        self._grads: list[np.ndarray | None] | None = None

    def vjp(self, v: np.ndarray) -> list[np.ndarray | None]:
        if self._grads is None:
            p = self.problem
            args = {leaf.slot: p._arg(leaf, leaf.value) for leaf in p.leaves}
            with _fixed_rng(p.seed):
                got = p.call(args, use_grad=True)  # type: ignore[call-arg]
            self._grads = _match_user_grads(got, p.leaves)
        return [None if g is None else g * float(v[0]) for g in self._grads]


def _match_user_grads(got: Any, leaves: list[_Leaf]) -> list[np.ndarray | None]:
    """The gradients a ``grad`` function returned, one per leaf, shapes checked (naming the input)."""
    torch = _torch()
    if isinstance(got, Mapping):
        missing = [leaf.name for leaf in leaves if leaf.name not in got]
        if missing:
            raise BackwardFailed(f"grad returned no gradient for '{missing[0]}' (it returned {sorted(got)})")
        items = [got[leaf.name] for leaf in leaves]
    elif len(leaves) == 1 and not isinstance(got, (tuple, list)):
        items = [got]
    else:
        items = list(got) if isinstance(got, (tuple, list)) else [got]
        if len(items) != len(leaves):
            raise BackwardFailed(f"grad returned {len(items)} gradient{'s' * (len(items) != 1)}, expected "
                                 f"{len(leaves)} (one for each of {', '.join(repr(l.name) for l in leaves)})")
    out: list[np.ndarray | None] = []
    for leaf, g in zip(leaves, items):
        if g is None:
            out.append(None)
            continue
        if isinstance(g, torch.Tensor):
            g = g.detach().to(torch.float64).cpu().numpy()
        arr = np.asarray(g, dtype=np.float64)
        if arr.shape != leaf.value.shape:
            raise BackwardFailed(f"wrong gradient shape for '{leaf.name}': grad returned shape {_shape_text(arr.shape)}"
                                 f", but '{leaf.name}' has shape {_shape_text(leaf.value.shape)}", )
        out.append(arr)
    return out


def _custom_functions(grad_fn: Any, limit: int = 100_000) -> list[str]:
    """Names of the custom ``torch.autograd.Function`` classes in an autograd graph."""
    seen: set[int] = set()
    names: list[str] = []
    stack = [grad_fn] if grad_fn is not None else []
    while stack and len(seen) < limit:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        cls = getattr(node, "_forward_cls", None)
        if cls is not None and cls.__name__ not in names:
            names.append(cls.__name__)
        stack.extend(fn for fn, _ in getattr(node, "next_functions", ()))
    return names


_INVALID_GRAD = re.compile(r"Function (\w+) returned an invalid gradient at index (\d+) - got \[([^\]]*)\] but "
                           r"expected shape compatible with \[([^\]]*)\]")
_GRAD_COUNT = re.compile(r"[Ff]unction (\w+) returned an incorrect number of gradients \(expected (\d+), got (\d+)\)")


def _explain_backward_error(e: RuntimeError, root: Any, problem: _Problem) -> str:
    """A torch backward error in words, naming the Function and the input its gradient is for."""
    text = str(e)
    m = _INVALID_GRAD.search(text)
    if m:
        node_name, index = m.group(1), int(m.group(2))
        got = "(" + m.group(3) + ("," if m.group(3) and "," not in m.group(3) else "") + ")"
        want = "(" + m.group(4) + ("," if m.group(4) and "," not in m.group(4) else "") + ")"
        fn = node_name[: -len("Backward")] if node_name.endswith("Backward") else node_name
        target = _argument_target(root, node_name, index, problem)
        return (f"wrong gradient shape: the backward of {fn} returned a gradient of shape {got} for {target}its "
                f"argument {index}, which has shape {want}")
    m = _GRAD_COUNT.search(text)
    if m:
        fn = m.group(1)[: -len("Backward")] if m.group(1).endswith("Backward") else m.group(1)
        return (f"the backward of {fn} returned {m.group(3)} gradients, but its forward takes {m.group(2)} "
                "arguments: return one gradient per argument of forward (None for arguments without one)")
    return f"the backward pass failed: {type(e).__name__}: {text.splitlines()[0] if text else ''}"


def _argument_target(root: Any, node_name: str, index: int, problem: _Problem) -> str:
    """`` ('w', the input)``: which leaf receives the gradient at ``index`` of a backward node."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        nexts = getattr(node, "next_functions", ())
        if type(node).__name__ == node_name and index < len(nexts):
            target = nexts[index][0]
            variable = getattr(target, "variable", None)
            if variable is not None:
                for leaf, arg in zip(problem.leaves, problem.last_args):
                    if arg is variable:
                        return f"{leaf.kind} '{leaf.name}', "
            return "an intermediate value, "
        stack.extend(fn for fn, _ in nexts)
    return ""


# ------------------------------------------------------------------------------------ finite differences


def _central(problem: _Problem, base: list[np.ndarray], i: int, direction: np.ndarray, h: float
             ) -> tuple[np.ndarray, np.ndarray]:
    """d outputs / d s of outputs(leaf_i + s * direction) at s = 0: Richardson value and error estimate."""
    def at(s: float) -> np.ndarray:
        values = list(base)
        values[i] = base[i] + s * direction
        return problem.forward(values)

    return central_richardson(at(h), at(-h), at(h / 2), at(-h / 2), h, h / 2)


# ------------------------------------------------------------------------------------ the checks


def _close(a: np.ndarray, f: np.ndarray, err: np.ndarray, rtol: float, atol: float) -> np.ndarray:
    return np.abs(a - f) <= atol + rtol * np.maximum(np.abs(a), np.abs(f)) + 2 * err


def _rel(a: float, f: float) -> float:
    scale = max(abs(a), abs(f))
    return 0.0 if scale == 0 else abs(a - f) / scale


def _output_entry(flat_index: int, shapes: list[list[int]]) -> str:
    """``out[1, 2]`` (one output) or ``out1[0]`` (several): the output entry at a flat index."""
    start = 0
    for k, shape in enumerate(shapes):
        size = int(np.prod(shape)) if shape else 1
        if flat_index < start + size:
            name = "out" if len(shapes) == 1 else f"out{k}"
            if not shape:
                return name
            idx = np.unravel_index(flat_index - start, shape)
            return f"{name}[{', '.join(str(int(j)) for j in idx)}]"
        start += size
    return f"out[{flat_index}]"


def _check_full(problem: _Problem, lin: _Linearisation, rtol: float, atol: float) -> list[TensorResult]:
    m = lin.out.size
    rows: list[list[np.ndarray | None]] = []
    for i in range(m):
        e = np.zeros(m)
        e[i] = 1.0
        rows.append(lin.vjp(e))
    base = [leaf.value for leaf in problem.leaves]
    atol_eff = atol * max(1.0, float(np.max(np.abs(lin.out))) if m else 1.0)
    results = []
    for k, leaf in enumerate(problem.leaves):
        n = leaf.value.size
        res = TensorResult(leaf.name, leaf.kind, list(leaf.value.shape))
        none = all(r[k] is None for r in rows)
        auto = np.zeros((m, n))
        for i, r in enumerate(rows):
            if r[k] is not None:
                auto[i] = np.asarray(r[k]).reshape(-1)
        fd = np.zeros((m, n))
        err = np.zeros((m, n))
        flat = leaf.value.reshape(-1)
        for j in range(n):
            direction = np.zeros(n)
            direction[j] = 1.0
            fd[:, j], err[:, j] = _central(problem, base, k, direction.reshape(leaf.value.shape), step_size(flat[j]))
        if m == 0 or n == 0:
            results.append(res)
            continue
        ok = _close(auto, fd, err, rtol, atol_eff)
        excess = np.abs(auto - fd) - (atol_eff + rtol * np.maximum(np.abs(auto), np.abs(fd)) + 2 * err)
        i, j = (int(x) for x in np.unravel_index(int(np.argmax(excess)), excess.shape))
        if ok.all():  # report the largest relative error among the entries
            rel = np.abs(auto - fd) / np.maximum(np.maximum(np.abs(auto), np.abs(fd)), 1e-300)
            rel[np.maximum(np.abs(auto), np.abs(fd)) == 0] = 0.0
            i, j = (int(x) for x in np.unravel_index(int(np.argmax(rel)), rel.shape))
        res.autograd, res.fd, res.fd_error = float(auto[i, j]), float(fd[i, j]), float(err[i, j])
        res.rel_err = _rel(res.autograd, res.fd)
        res.index = [int(x) for x in np.unravel_index(int(j), leaf.value.shape)] if leaf.value.shape else None
        res.output = _output_entry(int(i), lin.shapes)
        if not ok.all():
            res.ok = False
            res.status = "no-gradient" if none else "mismatch"
            n_bad = int((~ok).sum())
            res.message = (f"d {res.output} / d {res.entry}: {_gradient_word(problem)} gives "
                           f"{'no gradient (None)' if none else num(res.autograd)}, finite differences give "
                           f"{num(res.fd)}" + (f" ({n_bad} of {ok.size} entries disagree)" if ok.size > 1 else ""))
        results.append(res)
    return results


def _gradient_word(problem: _Problem) -> str:
    return "grad" if problem.grad_fn is not None else "autograd"


def _check_directions(problem: _Problem, lin: _Linearisation, rtol: float, atol: float, directions: int,
                      rng: np.random.Generator) -> list[TensorResult]:
    m = lin.out.size
    v = rng.standard_normal(m) if m > 1 else np.ones(m)
    grads = lin.vjp(v)
    base = [leaf.value for leaf in problem.leaves]
    results = []
    for k, leaf in enumerate(problem.leaves):
        res = TensorResult(leaf.name, leaf.kind, list(leaf.value.shape))
        g = np.zeros_like(leaf.value) if grads[k] is None else np.asarray(grads[k]).reshape(leaf.value.shape)
        if leaf.value.size == 0:
            results.append(res)
            continue
        scale = float(np.max(np.abs(leaf.value)))
        h = step_size(scale)
        worst: tuple[float, float, float, float] | None = None  # excess, auto, fd, err
        failing_u = None
        for _ in range(max(1, directions)):
            u = rng.standard_normal(leaf.value.shape)
            u /= np.linalg.norm(u) or 1.0
            auto = float(np.sum(g * u))
            d, e = _central(problem, base, k, u, h)
            fd, err = float(v @ d), float(np.abs(v) @ e)
            loss_scale = float(np.abs(v) @ np.abs(lin.out)) if m else 1.0
            tol = atol * max(1.0, loss_scale) + rtol * max(abs(auto), abs(fd)) + 2 * err
            excess = abs(auto - fd) - tol
            if worst is None or excess > worst[0]:
                worst = (excess, auto, fd, err)
            if excess > 0 and failing_u is None:
                failing_u = u
        assert worst is not None
        _, res.autograd, res.fd, res.fd_error = worst
        res.rel_err = _rel(res.autograd, res.fd)
        res.output = RANDOM_PROJECTION
        if failing_u is not None:
            res.ok = False
            res.status = "no-gradient" if grads[k] is None else "mismatch"
            res.message = (f"along a random direction in {leaf.name}, {_gradient_word(problem)} gives "
                           f"{'no gradient (None)' if grads[k] is None else num(res.autograd)}, finite differences "
                           f"give {num(res.fd)}")
            found = _bisect(problem, base, k, g, v, failing_u, h, rtol, atol, m, lin)
            if found is not None:
                index, a, f, f_err = found
                res.index, res.autograd, res.fd, res.fd_error = index, a, f, f_err
                res.rel_err = _rel(a, f)
                res.message += f"; narrowed down to {res.entry}: {num(a)} vs {num(f)}"
        results.append(res)
    return results


def _bisect(problem: _Problem, base: list[np.ndarray], k: int, g: np.ndarray, v: np.ndarray, u: np.ndarray,
            h: float, rtol: float, atol: float, m: int, lin: _Linearisation
            ) -> tuple[list[int], float, float, float] | None:
    """Halve the support of a failing direction until one entry is left; its partial derivatives."""
    shape = u.shape
    flat_u = u.reshape(-1)
    support = np.arange(flat_u.size)
    loss_scale = float(np.abs(v) @ np.abs(lin.out)) if m else 1.0

    def mismatch(idx: np.ndarray) -> float:
        d = np.zeros_like(flat_u)
        d[idx] = flat_u[idx]
        auto = float(np.sum(g.reshape(-1)[idx] * flat_u[idx]))
        dd, ee = _central(problem, base, k, d.reshape(shape), h)
        fd, err = float(v @ dd), float(np.abs(v) @ ee)
        return abs(auto - fd) - (atol * max(1.0, loss_scale) + rtol * max(abs(auto), abs(fd)) + 2 * err)

    steps = 0
    while support.size > 1 and steps < MAX_BISECTION:
        steps += 1
        half = support.size // 2
        a, b = support[:half], support[half:]
        ea, eb = mismatch(a), mismatch(b)
        if max(ea, eb) <= 0:
            return None
        support = a if ea >= eb else b
    if support.size != 1:
        return None
    j = int(support[0])
    e_j = np.zeros(flat_u.size)
    e_j[j] = 1.0
    x = base[k].reshape(-1)[j]
    dd, ee = _central(problem, base, k, e_j.reshape(shape), step_size(x))
    index = [int(i) for i in np.unravel_index(j, shape)] if shape else []
    # the partial derivative of the projected loss v . out with respect to that one entry
    return index, float(g.reshape(-1)[j]), float(v @ dd), float(np.abs(v) @ ee)


@contextlib.contextmanager
def _one_thread() -> Iterator[None]:
    """torch on one thread while checking: thousands of tiny forward passes, where splitting each
    over threads costs more than it saves (10,000 times more on a busy machine); restored after."""
    torch = _torch()
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _run(problem: _Problem, mode: str, rtol: float, atol: float, directions: int, seed: int) -> JacobianReport:
    with _one_thread():
        return _run_checks(problem, mode, rtol, atol, directions, seed)


def _run_checks(problem: _Problem, mode: str, rtol: float, atol: float, directions: int, seed: int
                ) -> JacobianReport:
    if mode not in ("auto", "full", "directions"):
        raise GradlabError(f"unknown mode {mode!r}; choose auto, full or directions")
    if rtol < 0 or atol < 0:
        raise GradlabError("rtol and atol must not be negative")
    gradient = "grad" if problem.grad_fn is not None else "autograd"
    try:
        lin = problem.linearise()
    except BackwardFailed as e:
        return JacobianReport(problem.name, mode, gradient, False, [], [], [], problem.evaluations, seed, rtol, atol,
                              str(e))
    if isinstance(lin, _Autograd):
        problem.last_args = lin.args
    n_in = sum(leaf.value.size for leaf in problem.leaves)
    if mode == "auto":
        mode = "full" if n_in <= FULL_INPUT_LIMIT and lin.out.size <= FULL_OUTPUT_LIMIT else "directions"
    try:
        if mode == "full":
            results = _check_full(problem, lin, rtol, atol)
        else:
            results = _check_directions(problem, lin, rtol, atol, directions, np.random.default_rng(seed))
    except BackwardFailed as e:
        return JacobianReport(problem.name, mode, gradient, False, [], lin.shapes, lin.custom, problem.evaluations,
                              seed, rtol, atol, str(e))
    ok = all(r.ok for r in results)
    return JacobianReport(problem.name, mode, gradient, ok, results, lin.shapes, lin.custom, problem.evaluations,
                          seed, rtol, atol)


# ------------------------------------------------------------------------------------ public API


def _leaf_value(x: Any, tensors: bool) -> tuple[np.ndarray, bool, bool] | None:
    """(float64 value, as_tensor, python_float) for a differentiable argument; None for others."""
    torch = _torch()
    if isinstance(x, torch.Tensor):
        if not x.is_floating_point():
            return None
        return x.detach().to(torch.float64).cpu().numpy().copy(), True, False
    if _is_float_array(x):
        return np.asarray(x, dtype=np.float64).copy(), tensors, False
    if isinstance(x, float) or (isinstance(x, np.floating)):
        return np.asarray(float(x)), tensors, not tensors
    return None


def check_function_gradients(fn: Callable[..., Any], inputs: Any, *, grad: Callable[..., Any] | None = None,
                             kwargs: Mapping[str, Any] | None = None, mode: str = "auto", rtol: float = 1e-6,
                             atol: float = 1e-8, directions: int = 2, seed: int = 0) -> JacobianReport:
    """The gradient of ``fn`` (autograd, or your ``grad`` function) against finite differences.

    ``inputs``: one argument, a tuple of positional arguments, or a dict of keyword arguments.
    Floating-point tensors, float arrays and floats are differentiated (in float64); integers,
    integer tensors and anything else are passed through unchanged. Without ``grad``, every
    differentiable input is passed as a float64 tensor and torch autograd is checked. With
    ``grad`` (same arguments as ``fn``, returning one gradient per differentiable input, a
    tuple or a dict by name), ``fn`` must return one number and inputs keep their type, so
    NumPy code works.

    >>> import numpy as np
    >>> check_function_gradients(lambda x: np.sum(x**3), np.array([1.0, 2.0]), grad=lambda x: 3*x**2).ok
    True
    """
    if not callable(fn):
        raise GradlabError(f"fn must be callable, got {type(fn).__name__}")
    name = _callable_name(fn)
    tensors = grad is None
    if isinstance(inputs, Mapping):
        positional: list[Any] = []
        keywords = dict(inputs)
    elif isinstance(inputs, (tuple, list)):
        positional, keywords = list(inputs), {}
    else:
        positional, keywords = [inputs], {}
    extra = dict(kwargs or {})
    names = _parameter_names(fn)
    leaves: list[_Leaf] = []
    static: dict[Any, Any] = {}
    for i, x in enumerate(positional):
        label = names[i] if i < len(names) else f"argument {i}"
        lv = _leaf_value(x, tensors)
        if lv is None:
            static[i] = x
        else:
            leaves.append(_Leaf(label, "input", i, lv[0], lv[1], lv[2]))
    for key, x in keywords.items():
        lv = _leaf_value(x, tensors)
        if lv is None:
            static[key] = x
        else:
            leaves.append(_Leaf(key, "input", key, lv[0], lv[1], lv[2]))
    if not leaves:
        raise GradlabError("no input to differentiate: pass floating-point tensors, float arrays or floats "
                           f"(got {', '.join(type(x).__name__ for x in [*positional, *keywords.values()]) or 'nothing'})")
    n_pos = len(positional)

    def call(args: dict[Any, Any], use_grad: bool = False) -> Any:
        merged = {**static, **args}
        pos = [merged[i] for i in range(n_pos)]
        kw = {k: v for k, v in merged.items() if not isinstance(k, int)}
        target = grad if use_grad else fn
        return target(*pos, **kw, **extra)  # type: ignore[misc]

    problem = _Problem(name, leaves, call, grad, seed)
    problem.given = [positional[leaf.slot] if isinstance(leaf.slot, int) else keywords[leaf.slot] for leaf in leaves]
    return _run(problem, mode, rtol, atol, directions, seed)


def check_module_gradients(module: Any, inputs: Any, *, kwargs: Mapping[str, Any] | None = None,
                           parameters: bool = True, input_gradients: bool = True, mode: str = "auto",
                           rtol: float = 1e-6, atol: float = 1e-8, directions: int = 2,
                           seed: int = 0) -> JacobianReport:
    """The gradients of a torch module's outputs with respect to its parameters and inputs.

    The module is copied and converted to float64 (yours is left as it is, in its train or
    eval mode); ``inputs`` is one tensor or a tuple of positional arguments. Small modules
    get every Jacobian entry checked, large ones random directions per parameter tensor.

    >>> import torch
    >>> check_module_gradients(torch.nn.Linear(3, 2), torch.randn(4, 3)).ok
    True
    """
    torch = _torch()
    if not isinstance(module, torch.nn.Module):
        raise GradlabError(f"expected a torch.nn.Module, got {type(module).__name__} (use assert_function_gradients "
                           "for functions)")
    try:
        m = copy.deepcopy(module).to(torch.float64)
    except Exception as e:  # noqa: BLE001 - any failure to copy is reported in words
        raise GradlabError(f"cannot copy {type(module).__name__} to float64 for the check: {e}") from None
    args = list(inputs) if isinstance(inputs, (tuple, list)) else [inputs]
    names = _parameter_names(m.forward)
    leaves: list[_Leaf] = []
    if parameters:
        for pname, p in m.named_parameters():
            if p.requires_grad:
                leaves.append(_Leaf(pname, "parameter", ("param", pname), p.detach().numpy().copy(), True))
    static: dict[Any, Any] = {}
    for i, x in enumerate(args):
        label = names[i] if i < len(names) else f"input {i}"
        lv = _leaf_value(x, True) if input_gradients else None
        if lv is None:
            static[i] = x.to(torch.float64) if isinstance(x, torch.Tensor) and x.is_floating_point() else x
        else:
            leaves.append(_Leaf(label, "input", i, lv[0], True))
    if not leaves:
        raise GradlabError(f"{type(module).__name__} has no parameters that require a gradient and no floating-point "
                           "input: nothing to check")
    from torch.func import functional_call

    n_args = len(args)
    extra = dict(kwargs or {})

    def call(values: dict[Any, Any]) -> Any:
        params = {k[1]: v for k, v in values.items() if isinstance(k, tuple)}
        pos = [values[i] if i in values else static[i] for i in range(n_args)]
        return functional_call(m, params, tuple(pos), extra)

    return _run(_Problem(type(module).__name__, leaves, call, None, seed), mode, rtol, atol, directions, seed)


# ------------------------------------------------------------------------------------ the table


def format_jacobian_report(r: JacobianReport) -> str:
    """The compact table a failing assertion shows (and ``str(report)``)."""
    what = "a hand-written grad" if r.gradient == "grad" else "autograd"
    how = ("every Jacobian entry" if r.mode == "full" else
           "random directions per tensor, bisected to an entry on a mismatch")
    verdict = "ok" if r.ok else "FAILED"
    lines = [f"gradient check of {r.function}: {verdict} ({what} vs central finite differences, float64, {how})"]
    if r.error:
        lines.append("")
        lines.append(r.error)
    if r.results:
        first = r.first_failure
        rows = []
        for t in r.results:
            mark = "<-- first mismatch" if t is first else ""
            where = f"d {t.output} / d {t.entry}" if (t.output and t.output != RANDOM_PROJECTION) else (
                f"entry {t.entry}" if (not t.ok and t.index is not None) else
                ("random directions" if r.mode == "directions" else ""))
            auto = "None" if t.status == "no-gradient" else num(t.autograd)
            rows.append([t.name, t.kind, _shape_text(t.shape), "ok" if t.ok else "FAIL", auto, num(t.fd),
                         num(t.rel_err, 2) if t.rel_err is not None else "-", where, mark])
        headers = ["name", "kind", "shape", "check", "grad" if r.gradient == "grad" else "autograd", "finite diff",
                   "rel err", "worst entry", ""]
        lines.append("")
        lines.append(table(headers, rows))
        if first is not None:
            lines.append("")
            lines.append(f"first mismatch: {first.kind} '{first.name}': {first.message}")
    if r.custom_functions:
        lines.append("")
        fns = ", ".join(r.custom_functions)
        lines.append(f"custom autograd Function{'s' * (len(r.custom_functions) > 1)} in the graph: {fns}"
                     + ("" if r.ok else " (check the backward)"))
    word = "grad" if r.gradient == "grad" else "autograd"
    lines.append(f"tolerance: |{word} - fd| <= {r.rtol:g}*|value| + {r.atol:g}*max(1, |output|) + 2*(error of fd); "
                 f"{r.evaluations} forward pass{'es' * (r.evaluations != 1)}, seed {r.seed}")
    return "\n".join(lines)
