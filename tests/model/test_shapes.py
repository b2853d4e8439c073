"""Tests for gradlab.model.networks: formulas against torch, the exercise answers, errors, the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gradlab.errors import GradlabError, ShapeError
from gradlab.model.networks import (
    Activation,
    Conv2d,
    Dense,
    Flatten,
    Input,
    Pool2d,
    conv_output_size,
    conv_shapes,
    dense_network,
    format_bytes,
    lenet5,
    load_spec,
    parse_spec,
    parse_widths,
    receptive_field,
)

torch = pytest.importorskip("torch")
nn = torch.nn

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def to_torch(layers) -> "nn.Sequential":
    """The torch modules for a layer list (test helper: gradlab.model.networks does not import torch)."""
    mods, c = [], None
    shape = layers[0].shape
    c = shape[-1] if len(shape) == 3 else None
    n = shape[0] if len(shape) == 1 else None
    for layer in layers[1:]:
        if isinstance(layer, Conv2d):
            mods.append(nn.Conv2d(c, layer.filters, layer.kernel, layer.stride, layer.padding, layer.dilation,
                                  layer.groups, layer.bias))
            c = layer.filters
        elif isinstance(layer, Pool2d):
            cls = nn.MaxPool2d if layer.mode == "max" else nn.AvgPool2d
            mods.append(cls(layer.kernel, layer.stride, layer.padding))
        elif isinstance(layer, Flatten):
            mods.append(nn.Flatten())
            n = None
        elif isinstance(layer, Dense):
            mods.append(nn.LazyLinear(layer.units, bias=layer.bias) if n is None else
                        nn.Linear(n, layer.units, bias=layer.bias))
            n = layer.units
        elif isinstance(layer, Activation):
            mods.append(nn.Sigmoid() if layer.name == "sigmoid" else nn.ReLU())
    model = nn.Sequential(*mods)
    x = torch.zeros(1, shape[2], shape[0], shape[1]) if len(shape) == 3 else torch.zeros(1, shape[0])
    with torch.no_grad():
        model(x)  # materialises LazyLinear; raises RuntimeError where torch rejects the stack
    return model


def torch_out_shape(layers) -> tuple[int, ...]:
    shape = layers[0].shape
    x = torch.zeros(1, shape[2], shape[0], shape[1]) if len(shape) == 3 else torch.zeros(1, shape[0])
    model = to_torch(layers)
    with torch.no_grad():
        y = model(x)
    return (y.shape[2], y.shape[3], y.shape[1]) if y.dim() == 4 else (y.shape[1],)


# ---------------------------------------------------------------------------- acceptance examples


def test_exercise_32x32x5_with_one_5x5x5_kernel():
    t = conv_shapes("input 32x32x5 | conv 1@5x5x5")
    row = t.rows[1]
    assert row.output == "28x28x1"
    assert row.params == 126 and row.param_formula == "5*5*5*1 + 1 = 126"
    assert row.size_formula == "floor((32 + 2*0 - (5-1) - 1)/1) + 1 = 28"
    assert t.total_params == 126


def test_lenet5_table_and_total():
    t = conv_shapes(lenet5(), name="lenet5")
    assert t.total_params == 61_706
    outs = [r.output for r in t.rows if r.kind != "activation"]
    assert outs == ["28x28x1", "28x28x6", "14x14x6", "10x10x16", "5x5x16", "400", "120", "84", "10"]
    assert [r.params for r in t.rows if r.params] == [156, 2416, 48120, 10164, 850]
    assert format_bytes(t.memory_bytes) == "241.04 KiB"  # Keras prints 241.04 KB
    model = to_torch(lenet5())
    assert sum(p.numel() for p in model.parameters()) == t.total_params
    assert torch_out_shape(lenet5()) == (10,)
    assert conv_shapes(lenet5(activation=None)).total_params == 61_706
    text = str(t)
    assert "61,706" in text and "48,120" in text and "400*120 + 120" in text


def test_lenet5_receptive_fields():
    t = conv_shapes(lenet5(activation=None))
    assert [(r.receptive_field, r.jump) for r in t.rows[:5]] == [
        ((1, 1), (1, 1)), ((5, 5), (1, 1)), ((6, 6), (2, 2)), ((14, 14), (2, 2)), ((16, 16), (4, 4))]
    assert t.rows[5].receptive_field is None  # flatten: everything


def test_dense_8_4_4_4_2():
    net = dense_network("8-4-4-4-2")
    assert [l.weight_shape for l in net.layers] == [(4, 8), (4, 4), (4, 4), (2, 4)]
    assert [l.bias_shape for l in net.layers] == [(4, 1), (4, 1), (4, 1), (2, 1)]
    assert [l.params for l in net.layers] == [36, 20, 20, 10] and net.total_params == 86
    assert net.nested() == "y = A4(A3(A2(A1 x + b1) + b2) + b3) + b4"
    assert net.expanded() == "y = A4 A3 A2 A1 x + A4 A3 A2 b1 + A4 A3 b2 + A4 b3 + b4"
    assert net.latex()["nested"] == (r"y = A_{4}\left(A_{3}\left(A_{2}\left(A_{1} x + b_{1}\right) + b_{2}\right)"
                                     r" + b_{3}\right) + b_{4}")
    assert net.cost_layer_by_layer().mul == 72 and net.cost_collapsed().mul == 16
    assert net.cost_expanded().mul == 72 + 40 + 24 + 8
    assert net.break_even() == 6
    torch_params = sum(p.numel() for p in nn.Sequential(nn.Linear(8, 4), nn.Linear(4, 4), nn.Linear(4, 4),
                                                        nn.Linear(4, 2)).parameters())
    assert torch_params == net.total_params


def test_dense_sympy_expansion_matches_text():
    import sympy as sp

    net = dense_network([3, 2, 2])
    expanded = sp.expand(net.sympy())
    A1, A2 = sp.MatrixSymbol("A_1", 2, 3), sp.MatrixSymbol("A_2", 2, 2)
    b1, b2, x = sp.MatrixSymbol("b_1", 2, 1), sp.MatrixSymbol("b_2", 2, 1), sp.MatrixSymbol("x", 3, 1)
    assert sp.simplify(expanded - (A2 * A1 * x + A2 * b1 + b2)) == sp.ZeroMatrix(2, 1)


@FAST
@given(st.lists(st.integers(1, 7), min_size=2, max_size=6), st.integers(0, 2**31 - 1))
def test_collapsed_map_equals_nested_and_costs_are_exact(widths, seed):
    """A = A_L...A_1, c = sum of the b terms reproduce the layer-by-layer output; the cost counts are the
    real operation counts of those computations."""
    rng = np.random.default_rng(seed)
    net = dense_network(widths)
    As = [rng.normal(size=l.weight_shape) for l in net.layers]
    bs = [rng.normal(size=l.bias_shape) for l in net.layers]
    x = rng.normal(size=(widths[0], 1))
    h = x
    for A, b in zip(As, bs):
        h = A @ h + b
    A_all = np.eye(widths[0])
    c = np.zeros((widths[0], 1))
    for i, (A, b) in enumerate(zip(As, bs)):
        A_all = A @ A_all
        c = b if i == 0 else A @ c + b
    np.testing.assert_allclose(A_all @ x + c, h, rtol=1e-9, atol=1e-9)
    assert net.cost_layer_by_layer().mul == sum(A.size for A in As)
    assert net.cost_collapsed().mul == A_all.size
    assert net.total_params == sum(A.size + b.size for A, b in zip(As, bs))
    be = net.break_even()
    per, coll, setup = (net.cost_layer_by_layer().total, net.cost_collapsed().total,
                        net.cost_collapsed_setup().total)
    if be is None:
        assert coll >= per
    else:
        assert setup + be * coll < be * per and setup + (be - 1) * coll >= (be - 1) * per


# ---------------------------------------------------------------------------- formulas vs torch


@FAST
@given(n=st.integers(1, 20), k=st.integers(1, 6), s=st.integers(1, 4), p=st.integers(0, 3), d=st.integers(1, 3))
def test_conv_output_size_matches_torch(n, k, s, p, d):
    conv = nn.Conv2d(1, 1, k, stride=s, padding=p, dilation=d)
    x = torch.zeros(1, 1, n, n)
    if n + 2 * p < d * (k - 1) + 1:
        with pytest.raises(ShapeError):
            conv_output_size(n, k, s, p, d)
        with pytest.raises(RuntimeError):
            conv(x)
        return
    with torch.no_grad():
        assert conv_output_size(n, k, s, p, d) == conv(x).shape[-1]


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@FAST
@given(n=st.integers(1, 20), k=st.integers(1, 6), d=st.integers(1, 3))
def test_same_padding_stride1_matches_torch(n, k, d):
    conv = nn.Conv2d(1, 1, k, padding="same", dilation=d)
    with torch.no_grad():
        assert conv_output_size(n, k, 1, "same", d) == conv(torch.zeros(1, 1, n, n)).shape[-1] == n


conv_cfg = st.fixed_dictionaries({
    "h": st.integers(4, 16), "w": st.integers(4, 16), "cin_mult": st.integers(1, 3),
    "groups": st.integers(1, 3), "cout_mult": st.integers(1, 3), "kh": st.integers(1, 4), "kw": st.integers(1, 4),
    "sh": st.integers(1, 3), "sw": st.integers(1, 3), "ph": st.integers(0, 2), "pw": st.integers(0, 2),
    "dh": st.integers(1, 2), "dw": st.integers(1, 2), "bias": st.booleans(),
    "pool": st.sampled_from([None, "max", "avg"]), "pk": st.integers(1, 3), "dense": st.integers(1, 5),
})


@FAST
@given(conv_cfg)
def test_random_stacks_match_torch_shapes_and_params(cfg):
    g = cfg["groups"]
    cin, cout = g * cfg["cin_mult"], g * cfg["cout_mult"]
    layers = [Input((cfg["h"], cfg["w"], cin)),
              Conv2d(cout, (cfg["kh"], cfg["kw"]), (cfg["sh"], cfg["sw"]), (cfg["ph"], cfg["pw"]),
                     (cfg["dh"], cfg["dw"]), g, cfg["bias"]),
              Activation("relu")]
    if cfg["pool"]:
        layers.append(Pool2d(cfg["pool"], cfg["pk"]))
    layers += [Flatten(), Dense(cfg["dense"])]
    try:
        table = conv_shapes(layers)
    except ShapeError:
        with pytest.raises(RuntimeError):
            torch_out_shape(layers)
        return
    model = to_torch(layers)
    shape = layers[0].shape
    x = torch.zeros(1, shape[2], shape[0], shape[1])
    with torch.no_grad():
        y = x
        for mod, row in zip(model, table.rows[1:]):
            y = mod(y)
            got = (y.shape[2], y.shape[3], y.shape[1]) if y.dim() == 4 else (y.shape[1],)
            assert got == row.output_shape, row
            assert sum(p.numel() for p in mod.parameters()) == row.params, row
    assert sum(p.numel() for p in model.parameters()) == table.total_params


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 4), st.integers(1, 3), st.integers(1, 2)), min_size=1, max_size=3))
def test_receptive_field_is_the_gradient_support(spec):
    """Ones-weight convs: the input pixels that reach one output value form an r x r block."""
    r, _ = receptive_field(spec)[-1]
    n = r + 2 * max(s for _, s, _ in spec) * 3 + 8
    layers = [Input((n, n, 1))] + [Conv2d(1, k, s, 0, d, bias=False) for k, s, d in spec]
    try:
        table = conv_shapes(layers)
    except ShapeError:
        return
    assert table.rows[-1].receptive_field == (r, r)
    model = to_torch(layers)
    for p in model.parameters():
        torch.nn.init.ones_(p)
    x = torch.ones(1, 1, n, n, requires_grad=True)
    y = model(x)
    y[0, 0, y.shape[2] // 2, y.shape[3] // 2].backward()
    rows = torch.nonzero(x.grad[0, 0].abs().sum(1)).flatten()
    cols = torch.nonzero(x.grad[0, 0].abs().sum(0)).flatten()
    assert int(rows.max() - rows.min() + 1) == r == int(cols.max() - cols.min() + 1)


def test_receptive_field_recurrence():
    assert receptive_field([(3, 1, 1)] * 3) == [(3, 1), (5, 1), (7, 1)]
    assert receptive_field([(2, 2, 1)] * 3) == [(2, 2), (4, 4), (8, 8)]
    assert receptive_field([(3, 1, 2)]) == [(5, 1)]


def test_same_padding_with_stride_is_keras_ceil():
    t = conv_shapes("input 7x9x2 | conv 3@3x3 stride=2 pad=same")
    assert t.rows[1].output == "4x5x3"
    assert t.rows[1].size_formula == "H: ceil(7/2) = 4; W: ceil(9/2) = 5"


# ---------------------------------------------------------------------------- input forms


def test_spec_string_dicts_objects_and_toml_agree(tmp_path):
    text = "input 32x32x3 | conv 8@3x3 pad=1 | relu | maxpool 2 | conv 16@3x3 stride 2 | flatten | dense 10"
    dicts = [{"type": "input", "shape": [32, 32, 3]},
             {"type": "conv", "filters": 8, "kernel": 3, "padding": 1}, {"type": "relu"},
             {"type": "maxpool", "size": 2}, {"type": "conv2d", "filters": 16, "kernel_size": [3, 3], "strides": 2},
             {"type": "flatten"}, {"type": "dense", "units": 10}]
    objs = [Input((32, 32, 3)), Conv2d(8, 3, padding=1), Activation("relu"), Pool2d("max", 2),
            Conv2d(16, 3, stride=2), Flatten(), Dense(10)]
    toml = tmp_path / "net.toml"
    toml.write_text('name = "small"\ninput = "32x32x3"\n'
                    'layers = ["conv 8@3x3 pad=1", "relu", "maxpool 2"]\n'
                    '[[layer]]\ntype = "conv"\nfilters = 16\nkernel = 3\nstride = 2\n'
                    '[[layer]]\ntype = "flatten"\n[[layer]]\ntype = "dense"\nunits = 10\n')
    tables = [conv_shapes(text), conv_shapes(dicts), conv_shapes(objs), conv_shapes(load_spec(toml))]
    summary = [[(r.output, r.params) for r in t.rows] for t in tables]
    assert summary[0] == summary[1] == summary[2] == summary[3]
    assert tables[0].output_shape == (10,) == torch_out_shape(objs)
    assert tables[0].total_params == sum(p.numel() for p in to_torch(objs).parameters())


def test_parse_spec_comments_newlines_and_options():
    layers = parse_spec("input 28x28  # grey\nconv 4@3x3 dilation=2 groups=1 bias=false\navgpool 2 stride 1")
    assert layers[0] == Input((28, 28, 1))
    assert layers[1] == Conv2d(4, (3, 3), dilation=(2, 2), bias=False)
    assert layers[2] == Pool2d("avg", (2, 2), (1, 1))
    assert conv_shapes(layers).rows[1].params == 3 * 3 * 4


def test_parse_widths_forms():
    assert parse_widths("8-4-4-4-2") == parse_widths("8,4,4,4,2") == parse_widths([8, 4, 4, 4, 2]) == [8, 4, 4, 4, 2]
    for bad in ("8", "8-x-2", "8-0-2", [8, -1]):
        with pytest.raises(ShapeError):
            parse_widths(bad)


def test_vector_input_dense_only():
    t = conv_shapes("input 784 | dense 128 | relu | dense 10")
    assert t.total_params == 784 * 128 + 128 + 128 * 10 + 10


def test_to_dict_and_json_roundtrip():
    t = conv_shapes(lenet5())
    d = json.loads(t.to_json())
    assert d["total_params"] == 61706 and d["memory_float32"] == "241.04 KiB"
    assert d["rows"][1]["output_shape"] == [28, 28, 6] and d["rows"][1]["receptive_field"] == [5, 5]
    n = json.loads(dense_network("8-4-4-4-2").to_json())
    assert n["layers"][0]["weight_shape"] == [4, 8] and n["cost"]["break_even_inputs"] == 6


def test_format_bytes():
    assert format_bytes(504) == "504 B"
    assert format_bytes(1024) == "1.00 KiB"
    assert format_bytes(3 * 1024**2) == "3.00 MiB"


# ---------------------------------------------------------------------------- errors


@pytest.mark.parametrize("spec, message", [
    ("input 4x4x1 | conv 1@3x3 | conv 2@5x5",
     "layer 2 (conv 5x5, stride 1): the input 2x2 is smaller than the kernel 5x5"),
    ("input 4x4 | conv 1@7x7 pad=1", "the padded input 6x6 (4x4 with padding 1) is smaller than the kernel 7x7"),
    ("input 8x8x3 | conv 4@3x3 groups=2", "groups=2 must divide both the input channels (3) and the filters (4)"),
    ("input 8x8x3 | conv 4@3x3x2", "the kernel depth 2 must equal the input channels 3"),
    ("input 8x8 | dense 3", "add 'flatten' before the first dense layer"),
    ("input 8x8 | flatten | conv 1@2x2", "needs an image H x W x C but gets the vector 64"),
    ("input 8x8 | conv 2@3x3 stride=0", "the stride must be positive"),
    ("input 8x8 | conv 2@3x3 pad=-1", "padding must be >= 0"),
    ("input 8x8 | blah 3", "unknown layer type 'blah'"),
    ("input 8x8 | conv 2@3x3 foo=1", "unknown option 'foo' for conv"),
    ("input 8x8 | maxpool 3 pad=2", "padding 2 is more than half the pool size 3x3"),
    ("conv 1@3x3", "must start with the input"),
    ("input 0x8", "positive sizes"),
    ("input 8x8 | conv 6", "conv FILTERS@KHxKW"),
    ("", "empty layer spec"),
])
def test_errors_name_the_layer(spec, message):
    with pytest.raises(ShapeError) as info:
        conv_shapes(spec)
    assert message in str(info.value)
    assert isinstance(info.value, GradlabError)


def test_load_spec_errors(tmp_path):
    with pytest.raises(ShapeError, match="no such file"):
        load_spec(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("input = \n")
    with pytest.raises(ShapeError, match="not valid TOML"):
        load_spec(bad)
    with pytest.raises(ShapeError, match="needs 'input"):
        conv_shapes({"layers": ["dense 3"]})


# ---------------------------------------------------------------------------- CLI


@pytest.fixture
def cli(monkeypatch):
    """``gradlab.cli.main`` with the subcommand modules that exist in this checkout (the others are
    written in other branches); ``shapes`` must be among them."""
    import importlib.util

    import gradlab.cli as cli_mod

    present = [c for c in cli_mod.COMMANDS if importlib.util.find_spec(f"gradlab.cli.{c}") is not None]
    assert "shapes" in present
    monkeypatch.setattr(cli_mod, "COMMANDS", present)
    return cli_mod.main


def test_cli_conv_spec(cli, capsys):
    assert cli(["shapes", "conv", "input 32x32x5 | conv 1@5x5"]) == 0
    out = capsys.readouterr().out
    assert "28x28x1" in out and "5*5*5*1 + 1 = 126" in out and "total params: 126" in out


def test_cli_conv_preset_json(cli, capsys):
    assert cli(["shapes", "conv", "--preset", "lenet5", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["name"] == "lenet5" and data["total_params"] == 61706 and data["output_shape"] == [10]


def test_cli_conv_toml_file(cli, capsys, tmp_path):
    f = tmp_path / "tiny.toml"
    f.write_text('input = [32, 32, 5]\nlayers = ["conv 1@5x5"]\n')
    assert cli(["shapes", "conv", str(f)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("tiny:") and "28x28x1" in out


def test_cli_dense(cli, capsys):
    assert cli(["shapes", "dense", "8-4-4-4-2", "--latex"]) == 0
    out = capsys.readouterr().out
    assert "A1: 4x8" in out and "total params: 86" in out
    assert "y = A4(A3(A2(A1 x + b1) + b2) + b3) + b4" in out and r"A_{4} A_{3} A_{2} A_{1} x" in out
    assert cli(["shapes", "dense", "8-4-4-4-2", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["total_params"] == 86


def test_cli_bad_input_one_line_exit_2(cli, capsys):
    assert cli(["shapes", "conv", "input 4x4 | conv 1@5x5"]) == 2
    err = capsys.readouterr().err
    assert err == ("gradlab shapes: error: layer 1 (conv 5x5, stride 1): the input 4x4 is smaller than "
                   "the kernel 5x5\n")
    assert cli(["shapes", "dense", "8-zero-2"]) == 2
    assert "whole numbers" in capsys.readouterr().err
    assert cli(["shapes", "conv"]) == 2
    assert "--preset lenet5" in capsys.readouterr().err
    assert cli(["shapes"]) == 2


def test_cli_conv_reads_stdin(cli, capsys, monkeypatch):
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("input 8x8  # grey\nconv 2@3x3 pad=1x0\n"))
    assert cli(["shapes", "conv", "-", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["output_shape"] == [8, 6, 2] and data["total_params"] == 3 * 3 * 2 + 2


def test_pool_rejects_same_padding():
    with pytest.raises(ShapeError, match="not 'same'"):
        conv_shapes("input 8x8 | maxpool 2 pad=same")
