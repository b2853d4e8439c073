"""The package never hands text to Python's evaluator: no eval/exec, no parse_expr, no string
sympify (``strict=True`` makes SymPy refuse strings), no torch.load without weights_only=True."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import sympy as sp

PACKAGE = Path(__file__).resolve().parent.parent / "gradlab"
SOURCES = sorted(PACKAGE.rglob("*.py"))


def _is_true(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_call_evaluates_text(path):
    bad = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        f, kw = node.func, {k.arg: k.value for k in node.keywords}
        name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
        owner = f.value.id if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) else None
        where = f"{path.name}:{node.lineno}"
        if name in ("eval", "exec") and (isinstance(f, ast.Name) or owner == "builtins"):  # not model.eval()
            bad.append(f"{where}: {name}()")
        if name == "parse_expr":
            bad.append(f"{where}: parse_expr()")
        if name == "sympify" and not _is_true(kw.get("strict")):
            bad.append(f"{where}: sympify() without strict=True")
        if name == "load" and owner == "torch" and not _is_true(kw.get("weights_only")):
            bad.append(f"{where}: torch.load without weights_only=True")
    assert not bad, bad


def test_strict_sympify_refuses_text():
    with pytest.raises(sp.SympifyError):
        sp.sympify("__import__('os')", strict=True)
