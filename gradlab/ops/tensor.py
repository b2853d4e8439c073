"""Tensor operations: vectors and matrices as nodes of the same graph, each op with its own VJP.

Shapes follow the exercise sheets' notation: **vectors are column vectors**.

=========  ==============  ===============================================================
shape      what            notes
=========  ==============  ===============================================================
``()``     a number        every scalar node (the core engine's graphs have only these)
``(n,)``   column vector   ``(n, 1)`` is the same shape, written the short way
``(1, n)`` row vector      ``x.T`` for a column vector ``x``
``(m, n)`` matrix          at most two axes
=========  ==============  ===============================================================

So ``A @ x`` is a vector, ``(p - y) @ v.T`` an outer product (a matrix) and ``x.T @ x`` a number.
Elementwise gates (every scalar op of :mod:`gradlab.ops`: ``+ - * / **``, exp, tanh, ...)
broadcast the way the sheets do: a number with anything, a column vector ``(m,)`` with each
column of an ``m x n`` matrix (``A @ X + b``), a row vector ``(1, n)`` with each row. Other
combinations are shape errors that name both shapes.

The tensor gates (``matmul`` ``@``, ``transpose`` ``.T``, ``sum``, ``mean``, ``softmax``,
``log_softmax``, ``cross_entropy``, ``outer``) are :class:`TensorOp` records in the same
table :data:`gradlab.ops.TENSOR_OPS` (beside the scalar gates of :data:`gradlab.ops.OPS`), each with a shape rule, a forward and a vector-Jacobian product
(VJP) written once for two kinds of arrays: float arrays with leading batch axes (numbers,
many points at once) and numpy object arrays of SymPy expressions (one entry each). The VJP is
the op's local derivative, as ``partials`` is for a scalar gate. Everything else gradlab knows
about a tensor gate is in its record too: its VJP in matrix form, its index symmetry, its
optional axis, what a label brings into a softmax's gradient (see :class:`TensorOp`).

>>> matmul_shape((2, 3), (3,)), matmul_shape((2,), (1, 3)), matmul_shape((1, 3), (3,))
((2,), (2, 3), ())
>>> broadcast_shape((2, 3), (2,))
(2, 3)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np

from ..errors import GraphError, ShapeError
from .core import TENSOR_OPS as _TABLE
from .core import Op, as_sympy, op_for, partial_functions
from .lazy import LazyModule

if TYPE_CHECKING:
    import sympy as sp
else:
    sp = LazyModule("sympy")  # loaded when a formula is made, not when the table is imported

Shape = tuple[int, ...]

#: Largest size of one axis, and of a whole tensor (entries), that a program may declare.
MAX_AXIS = 100_000
MAX_ENTRIES = 4_000_000


# ------------------------------------------------------------------------------- shapes


def normalise_shape(shape: Any) -> Shape:
    """A declared shape in gradlab's form: ``(3, 1)`` -> ``(3,)``, ``(1, 1)`` and ``(1,)`` -> ``()``.

    >>> normalise_shape((3, 1)), normalise_shape([2, 3]), normalise_shape(4), normalise_shape((1, 1))
    ((3,), (2, 3), (4,), ())
    """
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        shape = (int(shape),)
    try:
        dims = tuple(shape)
    except TypeError:
        raise ShapeError(f"a shape is a tuple of sizes such as (3,) or (2, 3), got {shape!r}") from None
    for d in dims:
        if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1:
            raise ShapeError(f"the sizes of a shape are positive whole numbers, got {shape!r}")
        if d > MAX_AXIS:
            raise ShapeError(f"the size {d} is too large (at most {MAX_AXIS:,} along an axis)")
    dims = tuple(int(d) for d in dims)
    if len(dims) > 2:
        raise ShapeError(f"gradlab's tensors are numbers, vectors and matrices (at most 2 axes), got {dims}")
    if int(np.prod(dims, dtype=np.int64)) > MAX_ENTRIES:
        raise ShapeError(f"the shape {dims} has too many entries (at most {MAX_ENTRIES:,})")
    return from2d(*to2d(dims))


def to2d(shape: Shape) -> tuple[int, int]:
    """The matrix a shape stands for: ``()`` -> (1, 1), a column ``(n,)`` -> (n, 1)."""
    if len(shape) == 0:
        return (1, 1)
    if len(shape) == 1:
        return (shape[0], 1)
    return (shape[0], shape[1])


def from2d(rows: int, cols: int) -> Shape:
    """The shape gradlab writes for a ``rows x cols`` matrix: (n, 1) -> (n,), (1, 1) -> ()."""
    if cols == 1:
        return () if rows == 1 else (rows,)
    return (rows, cols)


def size(shape: Shape) -> int:
    return int(np.prod(shape, dtype=np.int64)) if shape else 1


def shape_text(shape: Shape) -> str:
    """``(2, 3)`` -> ``a 2x3 matrix``; ``(3,)`` -> ``a column vector (3,)``; ``()`` -> ``a number``."""
    if shape == ():
        return "a number"
    if len(shape) == 1:
        return f"a column vector {shape}"
    if shape[0] == 1:
        return f"a row vector {shape}"
    return f"a {shape[0]}x{shape[1]} matrix"


def _both(a: Shape, b: Shape, names: Sequence[str] | None, joiner: str) -> str:
    na, nb = names if names else ("the left side", "the right side")
    return f"{na} {joiner} {nb}: {na} is {shape_text(a)}, {nb} is {shape_text(b)}"


def is_row(shape: Shape) -> bool:
    return len(shape) == 2 and shape[0] == 1


def broadcast_shape(a: Shape, b: Shape, what: str = "combine", names: Sequence[str] | None = None) -> Shape:
    """The shape of an elementwise gate over ``a`` and ``b`` (see the module docstring)."""
    if a == b or b == ():
        return a
    if a == ():
        return b
    (ra, ca), (rb, cb) = to2d(a), to2d(b)
    rows_ok = ra == rb or ra == 1 or rb == 1
    cols_ok = ca == cb or ca == 1 or cb == 1
    outer = (ra > 1 and ca == 1 and rb == 1 and cb > 1) or (rb > 1 and cb == 1 and ra == 1 and ca > 1)
    if rows_ok and cols_ok and not outer:
        return from2d(max(ra, rb), max(ca, cb))
    hint = ""
    if outer:
        hint = "; a column and a row vector do not combine entry by entry (the outer product is a @ b.T)"
    elif sorted(to2d(a)) == sorted(to2d(b)) or (len(a) == 1 and len(b) == 2 and a[0] == b[1]) or (
            len(b) == 1 and len(a) == 2 and b[0] == a[1]):
        hint = "; a transpose (.T) may be missing"
    raise ShapeError(f"cannot {what} {_both(a, b, names, 'and')} (shapes do not fit entry by entry){hint}")


def matmul_shape(a: Shape, b: Shape, names: Sequence[str] | None = None) -> Shape:
    """The shape of ``a @ b`` for column-vector conventions, or a :class:`ShapeError` naming both."""
    if a == () or b == ():
        raise ShapeError(f"cannot multiply {_both(a, b, names, '@')}; @ multiplies vectors and matrices, "
                         "use * to multiply by a number")
    (ra, ca), (rb, cb) = to2d(a), to2d(b)
    if ca != rb:
        if len(a) == 1 and len(b) == 1:
            hint = ("; for two column vectors write x.T @ y for the inner product (a number) or x @ y.T for "
                    "the outer product")
        elif ra == rb:
            hint = "; a transpose (.T) of the left side may be missing"
        elif ca == cb:
            hint = "; a transpose (.T) of the right side may be missing"
        else:
            hint = ""
        raise ShapeError(f"cannot multiply {_both(a, b, names, '@')}; the left has {ca} column"
                         f"{'s' * (ca != 1)}, the right {rb} row{'s' * (rb != 1)}{hint}")
    return from2d(ra, cb)


def transpose_shape(a: Shape) -> Shape:
    r, c = to2d(a)
    return from2d(c, r)


def _reduce_axis(shape: Shape, param: Any) -> int | None:
    """The 2-D axis ``sum``/``mean`` reduce (None: all entries) for ``param`` None, 0 or 1."""
    if param is None:
        return None
    if param not in (0, 1):
        raise ShapeError(f"the axis of sum/mean is 0 (down the columns) or 1 (along the rows), got {param}")
    return int(param)


def reduce_shape(shape: Shape, param: Any) -> Shape:
    axis = _reduce_axis(shape, param)
    if axis is None:
        return ()
    r, c = to2d(shape)
    return from2d(1, c) if axis == 0 else from2d(r, 1)


def softmax_axis(shape: Shape) -> int:
    """The axis a softmax runs along, in 2-D terms: the entries of a vector, each column of a matrix."""
    return -1 if is_row(shape) else -2


def _softmax_shape(shapes: Sequence[Shape], param: Any, names: Sequence[str] | None = None) -> Shape:
    (a,) = shapes
    if a == ():
        raise ShapeError("softmax of a single number is always 1; it needs a vector (or a matrix: one softmax a column)")
    return a


def _ce_shape(shapes: Sequence[Shape], param: Any, names: Sequence[str] | None = None) -> Shape:
    z, y = shapes
    if z != y:
        raise ShapeError(f"cross_entropy(z, y) needs the scores z and the labels y of one shape, got "
                         f"{shape_text(z)} and {shape_text(y)}")
    if z == ():
        raise ShapeError("cross_entropy(z, y) needs vectors of scores and labels")
    return ()


def _outer_shape(shapes: Sequence[Shape], param: Any, names: Sequence[str] | None = None) -> Shape:
    a, b = shapes
    if not (len(a) == 1 or is_row(a)) or not (len(b) == 1 or is_row(b)):
        raise ShapeError(f"outer(a, b) takes two vectors, got {shape_text(a)} and {shape_text(b)}")
    return from2d(size(a), size(b))


# ------------------------------------------------------------------------------- arrays
# Values are float arrays of shape batch + node shape (batch: any leading axes, many points at
# once), or numpy object arrays of SymPy expressions of exactly the node shape.


def is_symbolic(a: Any) -> bool:
    return isinstance(a, np.ndarray) and a.dtype == object


def batch_of(a: np.ndarray, shape: Shape) -> tuple[int, ...]:
    return tuple(np.shape(a)[: np.ndim(a) - len(shape)])


def as2d(a: np.ndarray, shape: Shape) -> np.ndarray:
    """``a`` (batch + shape) viewed as batch + its 2-D form."""
    return np.reshape(a, batch_of(a, shape) + to2d(shape))


def expand(a: np.ndarray, shape: Shape, to: Shape, batch: tuple[int, ...] | None = None) -> np.ndarray:
    """``a`` (batch + ``shape``) broadcast to batch + ``to`` under the column-vector rules."""
    b = batch_of(a, shape) if batch is None else batch
    if shape == to and batch_of(a, shape) == b:
        return a
    a2 = np.reshape(a, batch_of(a, shape) + to2d(shape))
    out = np.broadcast_to(a2, b + to2d(to))
    return np.reshape(out, b + to)


def unbroadcast(g: np.ndarray, out: Shape, to: Shape) -> np.ndarray:
    """The adjoint ``g`` of a broadcast result (batch + ``out``) summed back onto an argument's shape."""
    if out == to:
        return g
    b = batch_of(g, out)
    g2 = np.reshape(g, b + to2d(out))
    (r, c), (tr, tc) = to2d(out), to2d(to)
    axes = tuple(ax for ax, (n, m) in zip((-2, -1), ((r, tr), (c, tc))) if m == 1 and n > 1)
    if axes:
        g2 = _sum(g2, axes)
    return np.reshape(g2, b + to)


def _sum(a: np.ndarray, axes: Any) -> np.ndarray:
    """Sum keeping dims; SymPy sums are built in one ``Add`` (no quadratic re-flattening)."""
    if not is_symbolic(a):
        return np.sum(a, axis=axes, keepdims=True)
    axes = (axes,) if isinstance(axes, int) else tuple(axes)
    axes = tuple(ax % a.ndim for ax in axes)
    moved = np.moveaxis(a, axes, tuple(range(a.ndim - len(axes), a.ndim)))
    keep = moved.shape[: a.ndim - len(axes)]
    flat = moved.reshape(keep + (-1,))
    out = np.empty(keep, dtype=object)
    for idx in np.ndindex(*keep):
        out[idx] = sp.Add(*flat[idx])
    for ax in sorted(axes):
        out = np.expand_dims(out, ax)
    return out


def _matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if not (is_symbolic(a) or is_symbolic(b)):
        return np.matmul(a, b)
    a = np.asarray(a, dtype=object)
    b = np.asarray(b, dtype=object)
    r, k = a.shape[-2:]
    c = b.shape[-1]
    out = np.empty((r, c), dtype=object)
    for i in range(r):
        for j in range(c):
            out[i, j] = sp.Add(*[a[i, t] * b[t, j] for t in range(k)])
    return out


def _elementwise(fn: Callable[..., Any], *arrays: np.ndarray) -> np.ndarray:
    """Apply a SymPy function entry by entry (object arrays)."""
    arrays_ = [np.asarray(x, dtype=object) for x in arrays]
    out = np.frompyfunc(fn, len(arrays_), 1)(*arrays_)
    return np.asarray(out, dtype=object)


def _exp(a: np.ndarray) -> np.ndarray:
    return _elementwise(sp.exp, a) if is_symbolic(a) else np.exp(a)


def _log(a: np.ndarray) -> np.ndarray:
    return _elementwise(sp.log, a) if is_symbolic(a) else np.log(a)


def softmax_values(a: np.ndarray, shape: Shape) -> np.ndarray:
    """softmax of ``a`` (batch + shape) along the entries of a vector / each column of a matrix."""
    axis = softmax_axis(shape)
    a2 = as2d(a, shape)
    if is_symbolic(a2):
        e = _exp(a2)
        p = e / _sum(e, axis)
    else:
        e = np.exp(a2 - np.max(a2, axis=axis, keepdims=True))
        p = e / np.sum(e, axis=axis, keepdims=True)
    return np.reshape(p, np.shape(a))


def log_softmax_values(a: np.ndarray, shape: Shape) -> np.ndarray:
    axis = softmax_axis(shape)
    a2 = as2d(a, shape)
    if is_symbolic(a2):
        out = a2 - _log(_sum(_exp(a2), axis))
    else:
        m = np.max(a2, axis=axis, keepdims=True)
        out = a2 - m - np.log(np.sum(np.exp(a2 - m), axis=axis, keepdims=True))
    return np.reshape(out, np.shape(a))


# ------------------------------------------------------------------------------- elementwise gates


def elementwise_forward(op: Op, args: Sequence[np.ndarray], shapes: Sequence[Shape], param: Any,
                        out: Shape) -> np.ndarray:
    """A scalar gate of :data:`OPS` applied entry by entry, its arguments broadcast to ``out``."""
    if all(s == out for s in shapes) and not any(is_symbolic(a) for a in args):  # numbers, or equal shapes
        return np.asarray(op.np_fn(list(args), param), dtype=np.float64)
    batch = _common_batch(args, shapes)
    xs = [expand(a, s, out, batch) for a, s in zip(args, shapes)]
    if any(is_symbolic(x) for x in xs):
        p = _sym_param(param)
        return _elementwise(lambda *v: op.sym(list(v), p), *xs)
    return np.asarray(op.np_fn(xs, param), dtype=np.float64)


def elementwise_partials(op: Op, args: Sequence[np.ndarray], value: np.ndarray, shapes: Sequence[Shape],
                         param: Any, out: Shape) -> list[np.ndarray]:
    """The local partials d out / d arg_k, entry by entry, in the output's shape."""
    if all(s == out for s in shapes) and not is_symbolic(value) and not any(is_symbolic(a) for a in args):
        xs = list(args)  # numbers, or equal shapes: nothing to broadcast but batch axes, which numpy does
    else:
        batch = _common_batch(args, shapes)
        xs = [expand(a, s, out, batch) for a, s in zip(args, shapes)]
    if any(is_symbolic(x) for x in xs) or is_symbolic(value):
        p = _sym_param(param)
        return [_elementwise(lambda *v, k=k: as_sympy(op.partials(list(v[:-1]), v[-1], p)[k]), *xs, value)
                for k in range(op.arity)]
    c = 0.0 if param is None else float(param)
    with np.errstate(all="ignore"):
        return [np.broadcast_to(np.asarray(f(*xs, value, c), dtype=np.float64), np.shape(value))
                for f in partial_functions(op)]


def _common_batch(args: Sequence[np.ndarray], shapes: Sequence[Shape]) -> tuple[int, ...]:
    return tuple(np.broadcast_shapes(*(batch_of(a, s) for a, s in zip(args, shapes))))


def _sym_param(p: Any) -> Any:
    if p is None:
        return None
    if isinstance(p, sp.Basic):
        return p
    return sp.Integer(p) if isinstance(p, int) or float(p).is_integer() and abs(p) < 2**53 else sp.Float(p)


# ------------------------------------------------------------------------------- tensor gates


def _not_scalar(name: str) -> Callable[..., Any]:
    def fail(*args: Any, **kwargs: Any) -> Any:
        from ..errors import GradlabError

        raise GradlabError(f"'{name}' is a tensor operation: evaluate its graph with gradlab's tensor engine "
                           "(gradients(), evaluate() and verify() choose it for you)")
    return fail


def _number_shape(shapes: Sequence[Shape], param: Any, names: Sequence[str] | None = None) -> Shape:
    return ()


@dataclass(frozen=True)
class FormBuilders:
    """The constructors of matrix formulas (:class:`gradlab.engine.tensor_forms.M`) that a record's matrix forms are
    written with; :mod:`gradlab.engine.tensor_forms` passes them in, so that the op table does not import it."""

    num: Callable[[Any], Any]
    call: Callable[..., Any]          # call(fn, *args, shape=...): ``sum(G, 0)``, ``softmax(z)``
    matmul: Callable[[Any, Any], Any]
    transpose: Callable[[Any], Any]
    mul: Callable[[Any, Any], Any]    # entry by entry (or by a number)
    sub: Callable[[Any, Any], Any]
    neg: Callable[[Any], Any]
    scale: Callable[[Any, Any], Any]  # scale(c, e): ``e/2``, ``-e``


#: In a record's :attr:`TensorOp.symmetry`, the gate's output (arguments are 0, 1, ...).
OUT = -1
AxisTie = tuple[tuple[int, int], tuple[int, int]]


@dataclass(frozen=True)
class TensorOp(Op):
    """A gate over vectors and matrices: shape rule, forward, VJP and torch forward, and its matrix forms.

    ``forward(args, shapes, param)`` and ``vjp(g, args, value, shapes, param)`` work on float
    arrays with leading batch axes and on object arrays of SymPy entries alike; ``vjp`` returns
    d output/d argument_k contracted with the adjoint ``g`` (the vector-Jacobian product), one
    array in each argument's shape. ``shape_fn(shapes, param, names)`` names the arguments as
    ``names`` in its errors.
    """

    shape_fn: Callable[..., Shape] = _number_shape
    forward: Callable[..., np.ndarray] = _not_scalar("forward")
    vjp: Callable[..., list[np.ndarray]] = _not_scalar("vjp")
    torch_forward: Callable[..., Any] = _not_scalar("torch")
    #: the output as a matrix formula of the arguments' formulas, ``value_form(f, args, param, shape)`` with
    #: ``f`` the :class:`FormBuilders`; None: the gate has no matrix form
    value_form: Callable[[FormBuilders, Sequence[Any], Any, Shape], Any] | None = None
    #: the textbook VJP in matrix form (``G @ B.T`` and ``A.T @ G`` for ``A @ B``): each argument's share of the
    #: adjoint ``g``, ``matrix_vjp(f, g, args, out, shapes, param, out_shape)``, None where there is none
    matrix_vjp: Callable[..., list[Any]] | None = None
    #: adds up its argument's entries (``sum``): a matrix form writes 1 for the sum of a label's entries
    adds_entries: bool = False
    #: how it treats the indices of its axes (:mod:`gradlab.engine.tensor_symmetry`): ``symmetry(arg_dims, out_dims,
    #: param)`` gives the pairs ``((k, i), (m, j))`` of axes it ties, ``k`` an argument or :data:`OUT` and ``i``
    #: 0 (rows) or 1 (columns), for axes longer than 1; None: not known to treat them alike
    symmetry: Callable[[Sequence[tuple[int, int]], tuple[int, int], Any], list[AxisTie]] | None = None
    #: takes an optional axis, 0 (down the columns) or 1 (along the rows): ``sum(X, 1)``, ``sum(X, axis=1)``
    axis: bool = False
    #: of a number it is that number (``sum(3)``, ``transpose(3)``): a program may apply it to numbers
    number_is_itself: bool = False
    #: its output's entries sum to 1 (a vector, each column of a matrix): ``softmax``
    sums_to_one: bool = False
    #: the probabilities its output stands for, from its value (softmax: the value, log_softmax: exp of it)
    probabilities: Callable[[np.ndarray], np.ndarray] | None = None
    #: a softmax-cross-entropy gate (its first argument: the scores z): the share of the scores' adjoint that
    #: the label y brings in (the ``- y`` of ``p - y``), ``label_term(value, adjoint, arg_values)``; a student
    #: who leaves it out writes ``p``, a mistake verify and worksheets name
    label_term: Callable[[np.ndarray, np.ndarray, Sequence[np.ndarray]], np.ndarray] | None = None
    #: the argument that is the label (``cross_entropy(z, y)``: 1), if the gate takes one
    label_arg: int | None = None


def _register(name: str, arity: int, label: str | Callable[[Any], str], doc: str, shape_fn: Callable[..., Shape],
              forward: Callable[..., np.ndarray], vjp: Callable[..., list[np.ndarray]],
              torch_forward: Callable[..., Any], *, called: bool = True, **fields: Any) -> TensorOp:
    def label_fn(p: Any) -> str:
        return label(p) if callable(label) else label

    op = TensorOp(name=name, arity=arity, sym=_not_scalar(name), partials=_not_scalar(name),
                  np_fn=_not_scalar(name), torch_fn=_not_scalar(name), label_fn=label_fn, doc=doc,
                  call=name if called else None,
                  shape_fn=shape_fn, forward=forward, vjp=vjp, torch_forward=torch_forward, **fields)
    _TABLE[name] = op
    TENSOR_OPS[name] = op
    return op


def tensor_op(name: Any) -> TensorOp | None:
    """The tensor gate called ``name`` (its name in the table, as a graph node's ``op`` holds it), or None."""
    return TENSOR_OPS.get(name)


def tensor_function(call: Any) -> TensorOp | None:
    """The tensor gate a program or formula calls as ``call`` (``sum``, ``softmax``), or None."""
    entry = TENSOR_FUNCTIONS.get(call)
    return None if entry is None else TENSOR_OPS[entry[0]]


def _tie_all(arg_dims: Sequence[tuple[int, int]], out_dims: tuple[int, int], param: Any) -> list[AxisTie]:
    """Every argument's axes tied to the first argument's and, where the output has them, to the output's
    (softmax and its family, cross_entropy, mse)."""
    ties: list[AxisTie] = []
    for k, da in enumerate(arg_dims):
        for i in (0, 1):
            if da[i] > 1:
                ties.append(((k, i), (0, i)))
                if out_dims[i] > 1:
                    ties.append(((k, i), (OUT, i)))
    return ties



#: The tensor gates by name (the same records as :data:`gradlab.ops.TENSOR_OPS`).
TENSOR_OPS: dict[str, TensorOp] = {}


def _swap(a: np.ndarray) -> np.ndarray:
    return np.swapaxes(a, -1, -2)


# matmul ---------------------------------------------------------------------------------------
def _matmul_forward(args: Sequence[np.ndarray], shapes: Sequence[Shape], param: Any) -> np.ndarray:
    (a, b), (sa, sb) = args, shapes
    out = matmul_shape(sa, sb)
    r = _matmul(as2d(a, sa), as2d(b, sb))
    return np.reshape(r, np.shape(r)[:-2] + out)


def _matmul_vjp(g: np.ndarray, args: Sequence[np.ndarray], value: np.ndarray, shapes: Sequence[Shape],
                param: Any) -> list[np.ndarray]:
    (a, b), (sa, sb) = args, shapes
    out = matmul_shape(sa, sb)
    g2, a2, b2 = as2d(g, out), as2d(a, sa), as2d(b, sb)
    da, db = _matmul(g2, _swap(b2)), _matmul(_swap(a2), g2)
    return [np.reshape(da, np.shape(da)[:-2] + sa), np.reshape(db, np.shape(db)[:-2] + sb)]


def _torch_2d(t: Any, shape: Shape) -> Any:
    return t.reshape(tuple(t.shape[: t.dim() - len(shape)]) + to2d(shape))


def _matmul_torch(args: Sequence[Any], shapes: Sequence[Shape], param: Any) -> Any:
    (a, b), (sa, sb) = args, shapes
    r = _torch_2d(a, sa) @ _torch_2d(b, sb)
    return r.reshape(tuple(r.shape[:-2]) + matmul_shape(sa, sb))


def _matmul_forms(f: FormBuilders, g: Any, args: Sequence[Any], out: Any, shapes: Sequence[Shape], param: Any,
                  out_shape: Shape) -> list[Any]:
    a, b = args
    if out_shape == ():
        return [f.mul(g, f.transpose(b)), f.mul(f.transpose(a), g)]
    return [f.matmul(g, f.transpose(b)), f.matmul(f.transpose(a), g)]


def _matmul_symmetry(dims: Sequence[tuple[int, int]], out: tuple[int, int], param: Any) -> list[AxisTie]:
    (ra, ca), (_, cb) = dims
    return ([((0, 1), (1, 0))] if ca > 1 else []) + ([((0, 0), (OUT, 0))] if ra > 1 else []) + (
        [((1, 1), (OUT, 1))] if cb > 1 else [])


_register("matmul", 2, "@", "matrix product A @ B (column vectors: A @ x, x.T @ y, x @ y.T)",
          lambda s, p, names=None: matmul_shape(s[0], s[1], names), _matmul_forward, _matmul_vjp, _matmul_torch,
          called=False, value_form=lambda f, args, p, shape: f.matmul(*args), matrix_vjp=_matmul_forms,
          symmetry=_matmul_symmetry)


# transpose ------------------------------------------------------------------------------------
def _transpose_forward(args: Sequence[np.ndarray], shapes: Sequence[Shape], param: Any) -> np.ndarray:
    (a,), (sa,) = args, shapes
    t = _swap(as2d(a, sa))
    return np.reshape(t, np.shape(t)[:-2] + transpose_shape(sa))


def _transpose_vjp(g: np.ndarray, args: Sequence[np.ndarray], value: np.ndarray, shapes: Sequence[Shape],
                   param: Any) -> list[np.ndarray]:
    (sa,) = shapes
    out = transpose_shape(sa)
    t = _swap(as2d(g, out))
    return [np.reshape(t, np.shape(t)[:-2] + sa)]


def _transpose_torch(args: Sequence[Any], shapes: Sequence[Shape], param: Any) -> Any:
    (a,), (sa,) = args, shapes
    t = _torch_2d(a, sa).transpose(-1, -2)
    return t.reshape(tuple(t.shape[:-2]) + transpose_shape(sa))


_register("transpose", 1, "T", "transpose x.T (a column vector becomes a row vector)",
          lambda s, p, names=None: transpose_shape(s[0]), _transpose_forward, _transpose_vjp, _transpose_torch,
          value_form=lambda f, args, p, shape: f.transpose(args[0]),
          matrix_vjp=lambda f, g, args, out, shapes, p, out_shape: [f.transpose(g)],
          symmetry=lambda dims, out, p: [((0, i), (OUT, 1 - i)) for i in (0, 1) if dims[0][i] > 1],
          number_is_itself=True)


# sum and mean -----------------------------------------------------------------------------------
def _reduce_axes(shape: Shape, param: Any) -> tuple[int, ...]:
    axis = _reduce_axis(shape, param)
    return (-2, -1) if axis is None else ((-2,) if axis == 0 else (-1,))


def _count(shape: Shape, param: Any) -> int:
    axis = _reduce_axis(shape, param)
    r, c = to2d(shape)
    return r * c if axis is None else (r if axis == 0 else c)


def _make_reduce(mean: bool) -> tuple[Callable[..., np.ndarray], Callable[..., list[np.ndarray]], Callable[..., Any]]:
    def forward(args: Sequence[np.ndarray], shapes: Sequence[Shape], param: Any) -> np.ndarray:
        (a,), (sa,) = args, shapes
        s = _sum(as2d(a, sa), _reduce_axes(sa, param))
        if mean:
            s = s / (sp.Integer(_count(sa, param)) if is_symbolic(s) else _count(sa, param))
        return np.reshape(s, np.shape(s)[:-2] + reduce_shape(sa, param))

    def vjp(g: np.ndarray, args: Sequence[np.ndarray], value: np.ndarray, shapes: Sequence[Shape],
            param: Any) -> list[np.ndarray]:
        (sa,) = shapes
        out = reduce_shape(sa, param)
        b = batch_of(g, out)
        r = expand(g, out, sa, b) if out != () or sa == () else np.broadcast_to(
            np.reshape(g, b + (1,) * len(sa)), b + sa)
        if mean:
            r = r / (sp.Integer(_count(sa, param)) if is_symbolic(r) else _count(sa, param))
        return [np.array(r) if not is_symbolic(r) else np.array(r, dtype=object)]

    def torch_forward(args: Sequence[Any], shapes: Sequence[Shape], param: Any) -> Any:
        (a,), (sa,) = args, shapes
        a2 = _torch_2d(a, sa)
        axes = _reduce_axes(sa, param)
        s = a2.sum(dim=axes, keepdim=True)
        if mean:
            s = s / _count(sa, param)
        return s.reshape(tuple(s.shape[:-2]) + reduce_shape(sa, param))

    return forward, vjp, torch_forward


def _reduce_label(name: str) -> Callable[[Any], str]:
    return lambda p: name if p is None else f"{name}({int(p)})"


def _sum_form(f: FormBuilders, args: Sequence[Any], param: Any, shape: Shape) -> Any:
    return f.call("sum", args[0], *([f.num(param)] if param is not None else []), shape=shape)


def _mean_form(f: FormBuilders, args: Sequence[Any], param: Any, shape: Shape) -> Any:
    return f.scale(sp.Rational(1, size(args[0].shape) // max(1, size(shape))), _sum_form(f, args, param, shape))


def _reduce_forms(mean: bool) -> Callable[..., list[Any]]:
    def forms(f: FormBuilders, g: Any, args: Sequence[Any], out: Any, shapes: Sequence[Shape], param: Any,
              out_shape: Shape) -> list[Any]:
        (a,) = args
        share = g if shapes[0] == out_shape else f.mul(g, f.call("ones_like", a, shape=shapes[0]))
        return [f.scale(sp.Rational(size(out_shape), size(shapes[0])), share) if mean else share]
    return forms


def _reduce_symmetry(dims: Sequence[tuple[int, int]], out: tuple[int, int], param: Any) -> list[AxisTie]:
    da = dims[0]
    if param == 0 and da[1] > 1:
        return [((0, 1), (OUT, 1))]
    if param == 1 and da[0] > 1:
        return [((0, 0), (OUT, 0))]
    return []


_register("sum", 1, _reduce_label("sum"), "sum of all entries; sum(X, 0) down each column, sum(X, 1) along each row",
          lambda s, p, names=None: reduce_shape(s[0], p), *_make_reduce(False),
          value_form=_sum_form, matrix_vjp=_reduce_forms(False), adds_entries=True, symmetry=_reduce_symmetry,
          axis=True, number_is_itself=True)
_register("mean", 1, _reduce_label("mean"), "mean of all entries; mean(X, 0), mean(X, 1) as for sum",
          lambda s, p, names=None: reduce_shape(s[0], p), *_make_reduce(True),
          value_form=_mean_form, matrix_vjp=_reduce_forms(True), symmetry=_reduce_symmetry,
          axis=True, number_is_itself=True)


# softmax, log_softmax, cross_entropy ------------------------------------------------------------
def _softmax_forward(args: Sequence[np.ndarray], shapes: Sequence[Shape], param: Any) -> np.ndarray:
    return softmax_values(args[0], shapes[0])


def _softmax_vjp(g: np.ndarray, args: Sequence[np.ndarray], value: np.ndarray, shapes: Sequence[Shape],
                 param: Any) -> list[np.ndarray]:
    (sa,) = shapes
    axis = softmax_axis(sa)
    p2, g2 = as2d(value, sa), as2d(g, sa)
    r = p2 * (g2 - _sum(g2 * p2, axis))   # the textbook p * (g - <g, p>)
    return [np.reshape(r, np.shape(value))]


def _softmax_torch(args: Sequence[Any], shapes: Sequence[Shape], param: Any) -> Any:
    (a,), (sa,) = args, shapes
    return _torch_2d(a, sa).softmax(dim=softmax_axis(sa)).reshape(a.shape)


def _log_softmax_forward(args: Sequence[np.ndarray], shapes: Sequence[Shape], param: Any) -> np.ndarray:
    return log_softmax_values(args[0], shapes[0])


def _log_softmax_vjp(g: np.ndarray, args: Sequence[np.ndarray], value: np.ndarray, shapes: Sequence[Shape],
                     param: Any) -> list[np.ndarray]:
    (a,), (sa,) = args, shapes
    axis = softmax_axis(sa)
    p2 = as2d(softmax_values(a, sa), sa) if not is_symbolic(value) else as2d(_exp(value), sa)
    g2 = as2d(g, sa)
    r = g2 - p2 * _sum(g2, axis)
    return [np.reshape(r, np.shape(value))]


def _log_softmax_torch(args: Sequence[Any], shapes: Sequence[Shape], param: Any) -> Any:
    (a,), (sa,) = args, shapes
    return _torch_2d(a, sa).log_softmax(dim=softmax_axis(sa)).reshape(a.shape)


def _ce_forward(args: Sequence[np.ndarray], shapes: Sequence[Shape], param: Any) -> np.ndarray:
    (z, y), (sz, _) = args, shapes
    s = as2d(y, sz) * as2d(log_softmax_values(z, sz), sz)
    return np.reshape(-_sum(s, (-2, -1)), batch_of(z, sz))


def _ce_vjp(g: np.ndarray, args: Sequence[np.ndarray], value: np.ndarray, shapes: Sequence[Shape],
            param: Any) -> list[np.ndarray]:
    (z, y), (sz, _) = args, shapes
    axis = softmax_axis(sz)
    b = batch_of(z, sz)
    g2 = np.reshape(g, b + (1, 1))
    y2 = as2d(y, sz)
    p2 = as2d(softmax_values(z, sz), sz)
    dz = g2 * (p2 * _sum(y2, axis) - y2)          # softmax(z) * sum(y) - y
    dy = -g2 * as2d(log_softmax_values(z, sz), sz)
    return [np.reshape(dz, np.shape(z)), np.reshape(dy, np.shape(y))]


def _ce_torch(args: Sequence[Any], shapes: Sequence[Shape], param: Any) -> Any:
    (z, y), (sz, _) = args, shapes
    ls = _torch_2d(z, sz).log_softmax(dim=softmax_axis(sz))
    return -(_torch_2d(y, sz) * ls).sum(dim=(-2, -1))


def _call_form(name: str) -> Callable[[FormBuilders, Sequence[Any], Any, Shape], Any]:
    """The output written as a call of the gate by its name: ``softmax(z)``, ``outer(a, b)``."""
    return lambda f, args, param, shape: f.call(name, *args, shape=shape)


def _along(f: FormBuilders, shape: Shape) -> tuple[list[Any], Shape]:
    """The axis argument of a sum along the softmax's axis (none for a vector, 0 for each column), and the
    shape of that sum."""
    axis = [] if len(shape) == 1 or is_row(shape) else [f.num(0)]
    return axis, reduce_shape(shape, 0 if axis else None)


def _softmax_forms(f: FormBuilders, g: Any, args: Sequence[Any], out: Any, shapes: Sequence[Shape], param: Any,
                   out_shape: Shape) -> list[Any]:
    axis, shape = _along(f, shapes[0])
    return [f.mul(out, f.sub(g, f.call("sum", f.mul(out, g), *axis, shape=shape)))]


def _log_softmax_forms(f: FormBuilders, g: Any, args: Sequence[Any], out: Any, shapes: Sequence[Shape], param: Any,
                       out_shape: Shape) -> list[Any]:
    axis, shape = _along(f, shapes[0])
    p = f.call("softmax", args[0], shape=shapes[0])
    return [f.sub(g, f.mul(p, f.call("sum", g, *axis, shape=shape)))]


def _ce_forms(f: FormBuilders, g: Any, args: Sequence[Any], out: Any, shapes: Sequence[Shape], param: Any,
              out_shape: Shape) -> list[Any]:
    z, y = args
    axis, shape = _along(f, shapes[0])
    p = f.call("softmax", z, shape=shapes[0])
    sy = f.call("sum", y, *axis, shape=shape)
    return [f.mul(g, f.sub(f.mul(p, sy), y)), f.neg(f.mul(g, f.call("log_softmax", z, shape=shapes[0])))]


def _ce_label_term(value: np.ndarray, adjoint: np.ndarray, args: Sequence[np.ndarray]) -> np.ndarray:
    y = args[1]
    return -adjoint.reshape(adjoint.shape + (1,) * (y.ndim - 1)) * y


_register("softmax", 1, "softmax", "softmax of a vector (of each column of a matrix)",
          _softmax_shape, _softmax_forward, _softmax_vjp, _softmax_torch,
          value_form=_call_form("softmax"), matrix_vjp=_softmax_forms, symmetry=_tie_all, sums_to_one=True,
          probabilities=lambda value: value, label_term=lambda value, adjoint, args: value * adjoint)
_register("log_softmax", 1, "log_softmax", "log(softmax(z)), computed stably",
          _softmax_shape, _log_softmax_forward, _log_softmax_vjp, _log_softmax_torch,
          value_form=_call_form("log_softmax"), matrix_vjp=_log_softmax_forms, symmetry=_tie_all,
          probabilities=np.exp, label_term=lambda value, adjoint, args: adjoint)
_register("cross_entropy", 2, "CE", "cross_entropy(z, y) = -sum(y * log_softmax(z)) for scores z and labels y",
          _ce_shape, _ce_forward, _ce_vjp, _ce_torch,
          value_form=_call_form("cross_entropy"), matrix_vjp=_ce_forms, symmetry=_tie_all,
          label_term=_ce_label_term, label_arg=1)


# mean squared error ----------------------------------------------------------------------------
def _mse_shape(shapes: Sequence[Shape], param: Any, names: Sequence[str] | None = None) -> Shape:
    p, y = shapes
    if p != y:
        raise ShapeError(f"mse(p, y) needs the predictions p and the targets y of one shape, got "
                         f"{shape_text(p)} and {shape_text(y)}")
    return ()


def _per_entry(n: int, like: np.ndarray) -> Any:
    return sp.Rational(1, n) if is_symbolic(like) else 1.0 / n


def _mse_forward(args: Sequence[np.ndarray], shapes: Sequence[Shape], param: Any) -> np.ndarray:
    (p, y), (s, _) = args, shapes
    d = as2d(p, s) - as2d(y, s)
    total = _sum(d * d, (-2, -1))
    return np.reshape(total * _per_entry(size(s), total), batch_of(p, s))


def _mse_vjp(g: np.ndarray, args: Sequence[np.ndarray], value: np.ndarray, shapes: Sequence[Shape],
             param: Any) -> list[np.ndarray]:
    (p, y), (s, _) = args, shapes
    g_entries = np.reshape(g, batch_of(p, s) + (1,) * len(s))
    dp = g_entries * (p - y) * (2 * _per_entry(size(s), g_entries * p))  # 2 (p - y) / n
    return [dp, -dp]


def _mse_torch(args: Sequence[Any], shapes: Sequence[Shape], param: Any) -> Any:
    (p, y), (s, _) = args, shapes
    d = _torch_2d(p, s) - _torch_2d(y, s)
    return (d * d).sum(dim=(-2, -1)) / size(s)


_register("mse", 2, "MSE", "mean squared error: mean((p - y)**2) over every entry of predictions p and targets y",
          _mse_shape, _mse_forward, _mse_vjp, _mse_torch, symmetry=_tie_all)


# outer -----------------------------------------------------------------------------------------
def _outer_forward(args: Sequence[np.ndarray], shapes: Sequence[Shape], param: Any) -> np.ndarray:
    (a, b), (sa, sb) = args, shapes
    ba, bb = batch_of(a, sa), batch_of(b, sb)
    col = np.reshape(a, ba + (size(sa), 1))
    row = np.reshape(b, bb + (1, size(sb)))
    r = col * row
    return np.reshape(r, np.shape(r)[:-2] + _outer_shape(shapes, param))


def _outer_vjp(g: np.ndarray, args: Sequence[np.ndarray], value: np.ndarray, shapes: Sequence[Shape],
               param: Any) -> list[np.ndarray]:
    (a, b), (sa, sb) = args, shapes
    out = _outer_shape(shapes, param)
    g2 = np.reshape(g, batch_of(g, out) + (size(sa), size(sb)))
    col = np.reshape(a, batch_of(a, sa) + (size(sa), 1))
    row = np.reshape(b, batch_of(b, sb) + (1, size(sb)))
    da = _sum(g2 * row, -1)
    db = _sum(g2 * col, -2)
    return [np.reshape(da, np.shape(da)[:-2] + sa), np.reshape(db, np.shape(db)[:-2] + sb)]


def _outer_torch(args: Sequence[Any], shapes: Sequence[Shape], param: Any) -> Any:
    (a, b), (sa, sb) = args, shapes
    col = a.reshape(tuple(a.shape[: a.dim() - len(sa)]) + (size(sa), 1))
    row = b.reshape(tuple(b.shape[: b.dim() - len(sb)]) + (1, size(sb)))
    r = col * row
    return r.reshape(tuple(r.shape[:-2]) + _outer_shape(shapes, None))


def _outer_forms(f: FormBuilders, g: Any, args: Sequence[Any], out: Any, shapes: Sequence[Shape], param: Any,
                 out_shape: Shape) -> list[Any]:
    a, b = args
    if len(shapes[0]) != 1 or len(shapes[1]) != 1:
        return [None, None]
    return [f.matmul(g, b), f.matmul(f.transpose(g), a)]


def _outer_symmetry(dims: Sequence[tuple[int, int]], out: tuple[int, int], param: Any) -> list[AxisTie]:
    ties: list[AxisTie] = []
    for k, target in ((0, 0), (1, 1)):
        i = 0 if dims[k][0] > 1 else 1
        if dims[k][i] > 1:
            ties.append(((k, i), (OUT, target)))
    return ties


_register("outer", 2, "outer", "outer product outer(a, b) = a @ b.T of two vectors",
          _outer_shape, _outer_forward, _outer_vjp, _outer_torch,
          value_form=_call_form("outer"), matrix_vjp=_outer_forms, symmetry=_outer_symmetry)


#: Tensor functions a program or a claim may call (each tensor gate's call name), with their gate and number of
#: arguments (and an optional axis where the gate's record says so).
TENSOR_FUNCTIONS: dict[str, tuple[str, int]] = {
    op.call: (op.name, op.arity) for op in TENSOR_OPS.values() if op.call is not None}


# ------------------------------------------------------------------------------- one rule for all


def gate_op(op_name: str) -> Op:
    """The gate called ``op_name`` (scalar or tensor) where it must exist, such as a graph node's gate.

    Unlike :func:`gradlab.ops.op_for`, never None: an unknown name is a :class:`GraphError`.
    """
    op = op_for(op_name)
    if op is None:
        raise GraphError(f"unknown operation {op_name!r}: neither a scalar nor a tensor gate")
    return op


def result_shape(op_name: str, shapes: Sequence[Shape], param: Any = None,
                 names: Sequence[str] | None = None) -> Shape:
    """The shape of a gate's output from its arguments' shapes (a :class:`ShapeError` if they do not fit;
    ``names`` are the arguments as the message should call them)."""
    op = op_for(op_name)
    shapes = [tuple(s) for s in shapes]
    if isinstance(op, TensorOp):
        return op.shape_fn(shapes, param, names)
    if len(shapes) == 1:
        return shapes[0]
    return broadcast_shape(shapes[0], shapes[1], op.verb if op is not None else "combine", names)


def forward_values(op_name: str, args: Sequence[np.ndarray], shapes: Sequence[Shape], param: Any,
                   out: Shape) -> np.ndarray:
    """The value of any gate (tensor or elementwise) from its arguments' values."""
    op = gate_op(op_name)
    if isinstance(op, TensorOp):
        return op.forward(list(args), list(shapes), param)
    return elementwise_forward(op, args, shapes, param, out)


def vjp_values(op_name: str, g: np.ndarray, args: Sequence[np.ndarray], value: np.ndarray,
               shapes: Sequence[Shape], param: Any, out: Shape, *, identity: bool = False) -> list[np.ndarray]:
    """Each argument's share of the adjoint ``g`` of a gate's output (the chain rule through one gate).

    ``identity=True`` replaces a one-argument gate's local derivative by 1 (what a student
    who forgets it computes).
    """
    op = gate_op(op_name)
    if isinstance(op, TensorOp):
        return op.vjp(g, list(args), value, list(shapes), param)
    if identity:
        return [unbroadcast(g, out, s) for s in shapes]
    parts = elementwise_partials(op, args, value, shapes, param, out)
    return [unbroadcast(g * lp, out, s) for lp, s in zip(parts, shapes)]


def torch_values(op_name: str, args: Sequence[Any], shapes: Sequence[Shape], param: Any, out: Shape) -> Any:
    """The torch forward of any gate (for autograd), arguments broadcast under the column-vector rules."""
    op = gate_op(op_name)
    if isinstance(op, TensorOp):
        return op.torch_forward(list(args), list(shapes), param)
    xs = []
    for a, s in zip(args, shapes):
        if s != out:
            b = tuple(a.shape[: a.dim() - len(s)])
            a = a.reshape(b + to2d(s)).expand(b + to2d(out)).reshape(b + out)
        xs.append(a)
    return op.torch_fn(xs, param)
