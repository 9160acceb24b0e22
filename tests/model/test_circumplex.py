"""Per-class circumplex coordinates and the V/A derived from class probabilities."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from model.circumplex import CIRCUMPLEX_COORDINATES, class_coordinates, derived_va
from model.config import CLASS_NAMES


def test_every_affectnet_class_sits_in_its_circumplex_region():
    v, a = zip(*(CIRCUMPLEX_COORDINATES[n] for n in CLASS_NAMES), strict=True)
    coords = dict(zip(CLASS_NAMES, zip(v, a, strict=True), strict=True))
    assert max(abs(x) for x in coords["neutral"]) < 0.1
    assert coords["happy"][0] > 0.5  # pleasant
    assert coords["sad"][0] < -0.5 and coords["sad"][1] < 0  # unpleasant, deactivated
    for name in ("surprise", "fear", "anger", "disgust", "contempt"):
        assert coords[name][1] > 0.4, name  # activated
    for name in ("fear", "anger", "disgust", "contempt"):
        assert coords[name][0] < 0, name  # unpleasant


def test_one_hot_probabilities_give_the_class_coordinates():
    va = derived_va(torch.eye(8))  # (8,2)
    assert torch.allclose(va, class_coordinates())
    assert tuple(va[CLASS_NAMES.index("happy")].tolist()) == pytest.approx(CIRCUMPLEX_COORDINATES["happy"])


def test_a_mixture_gives_the_weighted_mean_and_rows_are_normalised():
    p = torch.zeros(2, 8)
    p[0, CLASS_NAMES.index("happy")] = p[0, CLASS_NAMES.index("sad")] = 0.5
    p[1] = p[0] * 3  # same mixture, unnormalised
    happy, sad = np.array(CIRCUMPLEX_COORDINATES["happy"]), np.array(CIRCUMPLEX_COORDINATES["sad"])
    expected = torch.tensor((happy + sad) / 2, dtype=torch.float32)
    va = derived_va(p)
    assert torch.allclose(va[0], expected) and torch.allclose(va[1], expected)


def test_numpy_in_numpy_out_and_gradients_flow_for_tensors():
    out = derived_va(np.full((3, 8), 1 / 8))
    assert isinstance(out, np.ndarray) and out.shape == (3, 2)
    logits = torch.zeros(1, 8, requires_grad=True)
    derived_va(torch.softmax(logits, dim=1))[0, 0].backward()
    assert logits.grad is not None and logits.grad[0, CLASS_NAMES.index("happy")] > 0


@pytest.mark.parametrize(
    "bad, message",
    [(torch.ones(2, 7), r"\(B,8\)"), (-torch.eye(8), "non-negative"), (torch.zeros(1, 8), "positive sum")],
)
def test_invalid_probabilities_are_rejected(bad, message):
    with pytest.raises(ValueError, match=message):
        derived_va(bad)
