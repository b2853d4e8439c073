"""Every gate's backward rule in words (the practice page's hints) lives in its op record."""

from __future__ import annotations

from gradlab.ops import OPS, TENSOR_OPS, Op, register_op, unregister_op


def test_every_scalar_gate_says_its_backward_rule():
    missing = [name for name, op in OPS.items() if not op.hint]
    assert not missing
    assert "swaps" in OPS["mul"].hint and "unchanged" in OPS["add"].hint and "σ·(1 − σ)" in OPS["sigmoid"].hint


def test_a_gate_without_a_hint_gets_one_from_its_label_and_partials():
    good = OPS["tanh"]
    op = register_op(Op("cube_hint", 1, good.sym, good.partials, good.np_fn, good.torch_fn, lambda p: "x³", "x cubed"))
    try:
        assert op.backward_hint() == "multiply the upstream gradient by the local derivative of the x³ gate"
    finally:
        unregister_op("cube_hint")
    assert "local derivative of the @ gate" in TENSOR_OPS["matmul"].backward_hint()
