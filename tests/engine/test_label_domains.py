"""A label declared onehot or probs must be one: cross_entropy's matrix form softmax(z) - y needs it (issue 12
item 3)."""

from __future__ import annotations

import pytest

from gradlab import gradients


def test_a_onehot_label_that_is_not_one_is_refused() -> None:
    from gradlab.errors import EvaluationError

    program = "z: (3,); y: onehot(3); L = cross_entropy(z, y)"
    with pytest.raises(EvaluationError, match=r"'y' is declared onehot\(3\).*not one-hot.*'y: \(3,\)'"):
        gradients(program, at={"z": [1.0, 2.0, 0.5], "y": [0.5, 1, 0]})
    r = gradients(program, at={"z": [1.0, 2.0, 0.5], "y": [0, 1, 0]})
    assert r.ok and r.inputs["z"].matrix == "softmax(z) - y"


def test_any_label_gets_the_general_form() -> None:
    r = gradients("z: (3,); y: (3,); L = cross_entropy(z, y)", at={"z": [1.0, 2.0, 0.5], "y": [0.5, 1, 0]})
    assert r.ok and r.inputs["z"].matrix == "softmax(z)*sum(y) - y"


def test_a_probs_label_must_sum_to_one_and_a_batch_is_checked_column_by_column() -> None:
    from gradlab.errors import EvaluationError

    with pytest.raises(EvaluationError, match="not a distribution"):
        gradients("z: (3,); q: probs(3); L = cross_entropy(z, q)", at={"z": [1.0, 2.0, 0.5], "q": [0.2, 0.3, 0.4]})
    program = "Z: (2, 2); Y: onehot(2, 2); L = cross_entropy(Z, Y)"
    assert gradients(program, at={"Z": [[1.0, 0.0], [0.5, 2.0]], "Y": [[1, 1], [0, 0]]}).ok  # columns one-hot
    with pytest.raises(EvaluationError, match="not one-hot"):
        gradients(program, at={"Z": [[1.0, 0.0], [0.5, 2.0]], "Y": [[1, 0], [1, 0]]})
