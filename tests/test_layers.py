"""gradlab's modules depend in one direction: base, op table, graph model, languages, engines, checks, then
pictures / worksheets / grading / testing / the LeNet lab, then the command line. This test reads every
import of the package (module level and inside functions, ``if TYPE_CHECKING:`` blocks excepted) and fails on
an import against that order, and on any import cycle.

The redesign (issue 11) removes the upward imports of today one by one: they are listed in DEBT, and the test
fails both on a new one and on a listed one that is gone (then strike it from the list).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import networkx as nx

PACKAGE = Path(__file__).resolve().parent.parent / "gradlab"

#: Layers, bottom first; a module may import its own layer and those below. Keys are module names or package
#: prefixes (the longest match wins).
LAYERS: list[tuple[str, ...]] = [
    ("", "errors", "jsonable", "fileio", "extras", "safetext"),  # base; "" is gradlab/__init__ (a lazy map of the API)
    ("ops", "tensor_ops"),                                                            # the op table
    ("graph", "shapes"),                                                              # the graph model
    ("grammar", "parse", "expr", "tensor_expr", "claims"),                            # languages
    ("numeric", "finite_diff", "symbolic", "tensor_symbolic", "torch_backend",
     "tensor_forms", "tensor_symmetry", "closeness"),                                   # engines
    ("check", "tensor_check", "results", "kinks", "blame", "report", "verify", "verify_scalar", "verify_tensor",
     "graphfile", "answerkey"),                                                        # checks
    ("render", "worksheet", "grading", "testing", "lenet"),                           # what people use
    ("cli", "__main__"),                                                              # the command
]

#: Imports that go up a layer or close a cycle on main today (importer -> imported): the redesign removes them.
DEBT = {
    ("graph", "parse"), ("graph", "graphfile"), ("graph", "render"),                # Graph.parse/load/draw conveniences
    ("tensor_forms", "verify"),
    ("render.steps", "render"), ("lenet.persist", "lenet.train"),                     # cycles inside a package
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> int:
    best, found = -1, -1
    for i, keys in enumerate(LAYERS):
        for key in keys:
            if (module == key or (key and module.startswith(key + "."))) and len(key) > best:
                best, found = len(key), i
    return found


def _runtime_nodes(tree: ast.Module) -> list[ast.AST]:
    """Every node, except the bodies of ``if TYPE_CHECKING:``."""
    skip = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
            and getattr(node.test, "id", getattr(node.test, "attr", "")) == "TYPE_CHECKING"
            for stmt in node.body for n in ast.walk(stmt)}
    return [n for n in ast.walk(tree) if id(n) not in skip]


def imports() -> set[tuple[str, str]]:
    """(importer, imported) for every gradlab-internal import, as module names relative to gradlab."""
    modules = {module_name(p) for p in PACKAGE.rglob("*.py")}
    found = set()
    for path in PACKAGE.rglob("*.py"):
        me = module_name(path)
        package = me.split(".") if path.name == "__init__.py" else me.split(".")[:-1]
        for node in _runtime_nodes(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = [p for p in package[: len(package) - node.level + 1] if p]
                    stem = ".".join(base + ([node.module] if node.module else []))
                elif node.module and node.module.startswith("gradlab"):
                    stem = node.module.removeprefix("gradlab").lstrip(".")
                else:
                    continue
                targets = [f"{stem}.{a.name}".lstrip(".") if f"{stem}.{a.name}".lstrip(".") in modules else stem
                           for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name.removeprefix("gradlab").lstrip(".") for a in node.names
                           if a.name == "gradlab" or a.name.startswith("gradlab.")]
            found.update((me, t) for t in targets if t != me)
    return found


def test_the_layer_reader_sees_function_level_imports():
    assert ("cli.grad", "check") in imports()  # inside run(), so that `gradlab --help` starts at once


def test_every_module_has_a_layer():
    modules = {a for a, _ in imports()} | {b for _, b in imports()}
    assert not sorted(m for m in modules if layer_of(m) < 0), "add them to LAYERS"


def test_no_import_goes_up_except_the_listed_debt():
    upward = {(a, b) for a, b in imports() if layer_of(b) > layer_of(a)}
    assert not sorted(upward - DEBT), "imports against the layer order (see LAYERS)"


def test_the_debt_list_holds_only_what_is_still_there():
    edges = imports()
    cyclic = [c for c in nx.strongly_connected_components(nx.DiGraph(sorted(edges))) if len(c) > 1]
    needed = {(a, b) for a, b in edges if layer_of(b) > layer_of(a) or any(a in c and b in c for c in cyclic)}
    assert not sorted(DEBT - needed), "gone or no longer against the order: strike them from DEBT"


def test_there_is_no_import_cycle_beside_the_listed_debt():
    graph = nx.DiGraph(sorted(imports() - DEBT))
    cycles = list(nx.simple_cycles(graph, length_bound=8))
    assert not cycles, f"import cycles: {sorted(cycles, key=len)[:5]}"


def test_the_command_and_the_package_start_without_the_heavy_packages():
    code = ("import sys, gradlab, gradlab.cli, gradlab.errors; gradlab.__version__; "
            "print(sorted({'sympy', 'torch', 'networkx'} & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_help_of_every_command_starts_without_the_heavy_packages():
    code = ("import sys, contextlib, io\nfrom gradlab.cli import build_parser\nbuild_parser()\n"
            "print(sorted({'sympy', 'torch', 'networkx'} & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_public_function_named_like_its_module_stays_the_function():
    code = ("import gradlab.verify, gradlab.tensor_symbolic, gradlab\n"
            "from gradlab import verify\n"
            "print(callable(verify), callable(gradlab.tensor_symbolic), gradlab.verify is verify)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["True", "True", "True"]
