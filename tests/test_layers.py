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
    ("", "errors", "jsonable", "fileio", "extras", "safetext", "htmltable", "children"),  # base ("" is gradlab/__init__)
    ("ops",),                                        # the op table: scalar and tensor gates, one record each
    ("model",),                                      # the graph model, network layers, answer keys
    ("lang",),                                       # programs, formulas, claims
    ("engine",),                                     # values, adjoints, finite differences, torch, SymPy, matrix forms
    ("check",),                                      # do the methods agree; is a claim right; graph files
    ("render", "worksheet", "grading", "testing", "lenet"),  # what people use
    ("cli", "__main__"),                             # the command
]

#: Imports that go up a layer or close a cycle on main today (importer -> imported): the redesign removes them.
DEBT: set[tuple[str, str]] = set()


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
    assert ("cli.grad", "check.gradients") in imports()  # inside run(), so that `gradlab --help` starts at once


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


def test_a_public_function_named_like_a_module_is_the_function():
    code = ("import gradlab.check.verify, gradlab.engine.tensor_symbolic, gradlab\n"
            "from gradlab import tensor_symbolic, verify\n"
            "print(callable(verify), callable(tensor_symbolic), gradlab.verify is verify)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["True", "True", "True"]


def test_importing_the_model_loads_no_layer_above_it():
    code = ("import sys, gradlab.model.graph, gradlab.model.networks, gradlab.model.answerkey\n"
            "print(sorted({m.split('.')[1] for m in sys.modules if m.startswith('gradlab.')}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    loaded = set(ast.literal_eval(out))
    assert loaded <= {"errors", "jsonable", "fileio", "safetext", "ops", "model"}, loaded


def test_the_graphs_conveniences_find_higher_layers_by_public_name_when_called():
    """Graph.parse, .load, .draw, .to_dot, .render and the Jupyter display belong to the parser, the graph-file
    reader and the renderer: the model reaches them through gradlab's public names at call time (``_api()``),
    never by importing them."""
    from gradlab import Graph
    from gradlab.model import graph as model

    g = Graph.parse("f = x*y")
    assert g.to_dot({"x": 2, "y": 3}).count("->") >= 2 and g.output == "f"
    tree = ast.parse(Path(model.__file__).read_text(encoding="utf-8"))
    gradlab_imports = [n for n in ast.walk(tree) if isinstance(n, ast.Import) and any(a.name == "gradlab"
                                                                                       for a in n.names)]
    assert len(gradlab_imports) == 1  # in _api(), and only there
    import gradlab
    for name in ("parse_program", "load_graph_file", "draw", "to_dot", "mimebundle"):
        assert name in gradlab.__all__


def _fresh(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout


def test_the_model_and_the_op_table_load_neither_sympy_nor_torch():
    """Issue 11: the graph model needs the op table's records, not SymPy's side of them (made on first use)."""
    out = _fresh("import sys, gradlab.model.graph, gradlab.model.networks, gradlab.ops\n"
                 "print(sorted({'sympy', 'torch'} & set(sys.modules)))")
    assert out.strip() == "[]"


def test_a_graph_is_built_and_validated_without_sympy():
    code = ("import sys\nfrom gradlab.model.graph import Graph\n"
            "g = Graph()\nw, x, b = g.input('w'), g.input('x'), g.input('b')\n"
            "z = g.apply('add', w * x, b, name='z')\na = g.apply('sigmoid', z, name='a')\n"
            "L = ((a - 1) ** 2).named('L')\ng.set_output(L)\ng.validate()\n"
            "t = Graph()\nW, v = t.input('W', shape=(2, 3)), t.input('v', shape=(3,))\n"
            "s = (W @ v).named('h').tanh().sum().named('s')\nt.set_output(s)\nt.validate()\n"
            "Graph.from_json(g.to_json()).validate()\n"
            "print(g.output, len(g.op_nodes), g.args('z')[1], t.shape('h'), sorted({'sympy', 'torch'} & set(sys.modules)))")
    assert _fresh(code).split() == ["L", "5", "b", "(2,)", "[]"]


def test_the_sympy_side_of_the_op_table_is_there_when_asked_for():
    code = ("import sys\nfrom gradlab.ops import OPS\nbefore = 'sympy' in sys.modules\n"
            "from gradlab.ops import HEADS, SYMPY_NAMESPACE, sigmoid\nfrom gradlab.ops.activations import silu\n"
            "print(before, HEADS[sigmoid] is OPS['sigmoid'], HEADS[silu].name, SYMPY_NAMESPACE['silu'] is silu)")
    assert _fresh(code).split() == ["False", "True", "silu", "True"]


def test_gradlab_grad_imports_torch_only_for_the_torch_method():
    code = ("import sys, contextlib, io\nfrom gradlab.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    rc = main(['grad', 'z = w*x; a = sigmoid(z)', '--at', 'w=2,x=-1', '--methods', 'fd'])\n"
            "print(rc, 'torch' in sys.modules)")
    assert _fresh(code).split() == ["0", "False"]
