"""Jupyter's rich display: every result a notebook user meets has an HTML view (``_repr_html_``) that holds
its key numbers, escapes the text in it, and shows a picture inline where there is one."""

from __future__ import annotations

import re

import pytest

from gradlab import conv_shapes, dense_network, gradients, verify
from gradlab.htmltable import Html, esc, html_table, png_img

LENET = "input 32x32x1 | conv 6@5x5 | maxpool 2 | conv 16@5x5 | maxpool 2 | flatten | dense 120 | dense 84 | dense 10"


def cells(h: str) -> list[str]:
    return re.findall(r"<td[^>]*>(.*?)</td>", h)


def test_the_table_helper_escapes_every_cell_but_markup_it_is_given():
    h = html_table(["id", "<b>"], [["<script>alert(1)</script>", Html("<i>x</i>")], ["a\x1b[2J\u202eb", 3]],
                   caption="A & B")
    assert "<script>" not in h and "&lt;script&gt;" in h and "&lt;b&gt;" in h and "<i>x</i>" in h
    assert "A &amp; B" in h and "\x1b" not in h and "\u202e" not in h and "\\x1b[2J\\u202eb" in h
    assert cells(h)[-1] == "3" and esc(None) == ""


def test_a_png_goes_inline_as_a_data_uri(tmp_path):
    png = tmp_path / "p.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 10)
    img = png_img(png, 'a "plot"', width=300)
    assert img is not None and img.startswith('<img src="data:image/png;base64,iVBORw0KGgo') and 'width="300"' in img
    assert "&quot;plot&quot;" in img and png_img(tmp_path / "missing.png", "x") is None


def test_a_wrong_claim_shows_the_verdict_the_mistake_and_the_counterexample():
    r = verify("f = x*y", "df/dx = x")
    h = r._repr_html_()
    assert not r.ok and r.counterexample is not None and "FALSE" in h and f"{r.trials} points tested" in h
    assert r.mistake and esc(r.mistake) in h
    for e in r.counterexample.entries:
        assert [esc(e.entry), f"{e.claimed:.6g}", f"{e.true:.6g}"] == cells(h)[-3:]
    for name in r.counterexample.point:
        assert f">{name}</td>" in h
    right = verify("f = x*y", "df/dx = y")._repr_html_()
    assert "TRUE" in right and "<table" not in right


def test_a_gradient_report_of_arrays_shows_its_entries():
    r = gradients("L = sum(W @ x)", at={"W": [[1.0, 2.0], [3.0, 4.0]], "x": [[5.0], [6.0]]})
    h = r._repr_html_()
    assert "all methods agree" in h and "L = 56" in h  # W x = [17, 39]
    assert cells(h)[:3] == ["W", "[[1., 2.], [3., 4.]]", "[[5., 6.], [5., 6.]]"]  # dL/dW = 1 x^T


def test_a_dense_network_shows_its_layers_params_and_forms():
    net = dense_network("3-4-2")
    h = net._repr_html_()
    total = sum(a * b + b for a, b in zip(net.widths, net.widths[1:]))
    assert net.total_params == total and f"<b>{total:,}</b>" in h
    for layer in net.layers:
        assert layer.formula in cells(h) and f"A{layer.index}: {layer.n_out}x{layer.n_in}" in cells(h)
    assert esc(net.nested()) in h and esc(net.collapsed()) in h and "<details>" in h


def test_a_shape_table_shows_every_layer_and_the_lenet_total():
    t = conv_shapes(LENET, name="LeNet-5")
    h = t._repr_html_()
    assert "<b>61,706</b>" in h and "LeNet-5" in h  # the reference LeNet's parameter count
    for r in t.rows:
        assert r.output in cells(h) and f"{r.params:,}" in cells(h)
    assert f"{t.activation_elements:,} numbers" in h


def test_a_model_summary_shows_the_keras_numbers():
    pytest.importorskip("torchinfo")
    from gradlab.lenet.summary import format_kb, model_summary

    import lenet_helpers  # noqa: F401  (one torch thread per test worker)

    s = model_summary("lenet")
    h = s._repr_html_()
    assert f"{s.total_params:,}" in cells(h) and format_kb(s.total_params * 4) in cells(h)
    assert "61,706" in cells(h) and "241.04 KB" in cells(h)  # the reference LeNet, as Keras counts it
    assert [r.formula for r in s.rows if r.params] == [c for c in cells(h) if "=" in c and "*" in c]
    assert "(None, 10)" in cells(h) and s.memory("float64") in h


def test_a_sweep_shows_its_table_and_its_bar_chart_inline(tmp_path):
    pytest.importorskip("matplotlib")
    from gradlab.lenet.sweep import SweepResult, SweepSpec, plot_final

    spec = SweepSpec.parse('name = "opt"\nruns = 3\n[base]\nepochs = 1\n[[point]]\nlabel = "Adam"\n'
                           '[[point]]\nlabel = "SGD <0.1>"\noptimizer = "sgd"\n')

    def stat(mean: float) -> dict[str, float]:
        return {"mean": mean, "std": 0.0125, "n": 3}

    summaries = {label: {"final_test_acc": stat(acc), "best_test_acc": stat(acc + 0.01),
                         "final_train_loss": stat(1 - acc), "seconds_per_run": stat(12.34)}
                 for label, acc in (("Adam", 0.8125), ("SGD <0.1>", 0.6875))}
    res = SweepResult(spec, {"Adam": [], "SGD <0.1>": []}, summaries, str(tmp_path), 75.0)
    assert "data:image/png" not in res._repr_html_()  # no picture written yet
    plot_final(res, tmp_path / "final.png")
    h = res._repr_html_()
    assert "0.8125 ± 0.0125" in cells(h) and "0.6875 ± 0.0125" in cells(h) and "12.3 s" in cells(h)
    assert "SGD &lt;0.1&gt;" in h and "<0.1>" not in h and 'src="data:image/png;base64,' in h
    assert "mean ± std over 3 runs per point" in h and "total time 75 s" in h
    spec.runs = 1
    assert "sweep opt: one run per point" in res._repr_html_()


def test_a_grade_report_shows_the_class_and_every_item():
    from gradlab.grading import grade
    from gradlab.grading.simulate import simulate_responses
    from gradlab.worksheet import build_worksheet, spec_from_program

    key = build_worksheet(spec_from_program("z = w*x + b; s = sigmoid(z)"), variants=2, seed=7,
                          pictures=False).key()
    header, rows = simulate_responses(key, 8, seed=3)
    rows.append(["<img src=x onerror=alert(1)>", "v99"] + [""] * (len(header) - 2))
    report = grade((header, rows), key, workers=1)
    h = report._repr_html_()
    scores = sorted(s.score for s in report.students if not s.error)
    assert f"{len(scores)} students graded, 1 rows with errors" in h
    assert f"mean {sum(scores) / len(scores):.2f} / {key.total_points:g} points" in h
    assert f"highest {scores[-1]:g}" in h and "<img" not in h and "&lt;img src=x" in h
    for i in report.items:
        row = h.split(f">{esc(i.item)}</td>", 1)[1].split("</tr>", 1)[0]
        assert cells("<td>" + row)[1:8] == [f"{i.max_points:g}", f"{i.mean_points:g}",
                                            *(str(i.counts.get(c, 0)) for c in ("correct", "partial", "wrong",
                                                                                "rejected", "blank"))]


def test_a_training_shows_every_run_the_spread_the_verdicts_and_its_curves(tmp_path):
    pytest.importorskip("matplotlib")
    from gradlab.lenet import TrainConfig, train

    import lenet_helpers  # noqa: F401  (one torch thread per test worker)

    cfg = TrainConfig(dataset="mnist5k", model="lenet-relu-maxpool", optimizer="adam", epochs=1, runs=2,
                      batch_size=64, train_limit=128, test_limit=64)
    res = train(cfg, tmp_path / "t")
    h = res._repr_html_()
    for r in res.runs:
        row = cells(h.split(f"<td style=\"text-align:left\">{r.run}</td>", 1)[1].split("</tr>", 1)[0])
        assert row[:6] == [f"{r.seed}", "1", f"{r.final['train_loss']:.4f}", f"{r.final['train_acc']:.4f}",
                           f"{r.final['test_acc']:.4f}", f"{r.final['best_test_acc']:.4f}"]
        assert esc(r.verdict) in h
    acc = res.summary["final_test_acc"]
    assert f"{acc['mean']:.4f} ± {acc['std']:.4f}" in cells(h) and "2 runs" in h
    assert 'src="data:image/png;base64,' in h  # curves.png inline
    assert "data:image/png" not in train(cfg.__class__(**{**cfg.to_dict(), "runs": 1}))._repr_html_()  # no folder


def test_a_worksheet_shows_its_questions_points_and_where_its_files_are(tmp_path):
    from gradlab.worksheet import make_worksheet, parse_spec

    spec = parse_spec('title = "Quiz <1>"\n[[part]]\nprogram = "z = w*x + b; s = sigmoid(z)"\n'
                      'questions = ["backward", "symbolic"]\n')
    res = make_worksheet(spec, tmp_path / "sheets", variants=2, seed=3, formats=("markdown",))
    h = res._repr_html_()
    assert "Quiz &lt;1&gt;: 2 variants, seed 3" in h and f"{res.total_points:g} points" in h and "<1>" not in h
    for q in res.questions:
        row = cells(h.split(f"<td>{q['id']}</td>", 1)[1].split("</tr>", 1)[0])
        assert row == [q["type"], esc(q["title"]), str(len(q["items"])), f"{q['points']:g}"]
    assert f"{len(res.files)} files in {tmp_path / 'sheets'}" in h and esc(tmp_path / "sheets" / "key.json") in h
