"""What an op is lives in its op record only (gradlab/ops/, gradlab/ops/tensor.py): no other module compares a
name against a registered op's name, call name or alias (issue 11, item 1). The modules read the records' fields
instead (``TensorOp.matrix_vjp``, ``Op.output_mistake``, ...)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import gradlab
from gradlab.ops import OPS, TENSOR_OPS
from gradlab.ops.tensor import TENSOR_FUNCTIONS

PACKAGE = Path(gradlab.__file__).resolve().parent
#: The op table itself: the one place that may name ops.
TABLE = ("ops/", "ops/tensor.py")
#: Files whose ``kind`` strings are node kinds of the matrix-formula AST (gradlab.engine.tensor_forms.M: "mul", "div",
#: "neg", "matmul", "pow", ...), not op records: ``e.kind == "mul"`` asks what node a formula is, and the
#: printers and rewrites of formulas must ask that.
MATRIX_AST = ("engine/tensor_forms.py", "worksheet/matrixtext.py", "worksheet/mistakes.py")
#: Strings in these places that spell an op's name but mean something else (each still occurs: see below).
NOT_OPS = {
    ("lenet/gradcheck.py", "relu"): "the LeNet lab's activation layers are torch modules, not gates of a graph",
    ("lenet/models.py", "max"): "a pooling mode (max or average pooling)",
    ("lenet/keras_models.py", "max"): "a pooling mode (max or average pooling), as in lenet/models.py",
    ("model/networks.py", "max"): "a pooling mode (max or average pooling)",
    ("worksheet/spec.py", "min"): "a key of a worksheet's [numbers] table (the lowest value)",
    ("worksheet/spec.py", "max"): "a key of a worksheet's [numbers] table (the highest value)",
}


def op_names() -> set[str]:
    names = set(TENSOR_FUNCTIONS)
    for op in [*OPS.values(), *TENSOR_OPS.values()]:
        names |= {op.name, *op.aliases} | ({op.call} if op.call else set())
    return names


def _strings(node: ast.expr) -> list[str]:
    """The string constants a comparison operand is: ``"mul"``, or the members of ``("sum", "mean")``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return [s for e in node.elts for s in _strings(e)]
    return []


def _asks_the_ast_kind(node: ast.expr) -> bool:
    """``e.kind`` or ``k`` (the local the matrix-formula code binds to ``e.kind``)."""
    return (isinstance(node, ast.Attribute) and node.attr == "kind") or (isinstance(node, ast.Name) and node.id == "k")


def name_comparisons(source: str, names: set[str], *, matrix_ast: bool = False) -> list[tuple[int, str]]:
    """(line, name) of each comparison of something with a string constant that is one of ``names``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Compare):
            continue
        operands = [node.left, *node.comparators]
        if matrix_ast and any(_asks_the_ast_kind(o) for o in operands):
            continue
        found += [(node.lineno, s) for o in operands for s in _strings(o) if s in names]
    return found


def _scan() -> dict[tuple[str, str], list[int]]:
    names = op_names()
    found: dict[tuple[str, str], list[int]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel.startswith(TABLE):
            continue
        for line, name in name_comparisons(path.read_text(encoding="utf-8"), names, matrix_ast=rel in MATRIX_AST):
            found.setdefault((rel, name), []).append(line)
    return found


def test_no_module_outside_the_op_table_switches_on_op_names():
    found = _scan()
    switches = {f"{rel}:{lines[0]}: {name!r}" for (rel, name), lines in found.items() if (rel, name) not in NOT_OPS}
    assert not sorted(switches), "read the op's record (gradlab/ops/core.py, tensor.py) instead of its name"


def test_each_allowed_name_is_still_there():
    assert not sorted(set(NOT_OPS) - set(_scan())), "gone: strike it from NOT_OPS"


@pytest.mark.parametrize("code", [
    'if op_name == "matmul": pass',
    'if d["op"] in ("sigmoid", "tanh"): pass',
    'ok = "softmax" != node.op',
    'if fname in ["sum", "mean"]: pass',
    'if e.value == "sum": pass',
])
def test_the_scan_finds_a_string_switch(code):
    assert name_comparisons(code, op_names(), matrix_ast=True)


def test_the_scan_lets_the_matrix_formula_kinds_and_other_words_pass():
    code = 'if e.kind == "mul" or k in ("add", "sub"): pass\nif mode == "avg": pass\nif op is OPS["mul"]: pass'
    assert name_comparisons(code, op_names(), matrix_ast=True) == []
    assert name_comparisons(code, op_names()) != []  # outside the formula modules "mul" is an op's name
