"""Attention mass on the expressive parts of synthetic faces: the arithmetic and the measurement run."""

from __future__ import annotations

import pytest
import torch

from model.config import ModelConfig
from model.diagnostics.attention_regions import face_densities, measure_attention_regions, summarise
from model.network import build_model


def _masks(side: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    """One face: a head covering the left 6 columns, parts = its top-left 2x2 block (at 2x resolution)."""
    head = torch.zeros(1, 2 * side, 2 * side)
    head[:, :, : 2 * 6] = 1.0
    parts = torch.zeros_like(head)
    parts[:, :4, :4] = 1.0
    return parts, head


def test_uniform_attention_gives_ratio_one():
    parts, head = _masks()
    attention = torch.full((1, 8, 8), 1 / 64)

    result = summarise(1, 8, face_densities(attention, parts, head))

    assert result.pooled_ratio == pytest.approx(1.0) and result.median_ratio == pytest.approx(1.0)
    assert result.part_area == pytest.approx(4 / 48) and result.share_at_goal == 0.0


def test_attention_on_the_parts_gives_the_density_ratio():
    parts, head = _masks()
    attention = torch.ones(1, 8, 8)
    attention[:, :2, :2] = 3.0  # three times the weight per cell on the parts
    attention[:, :, 6:] = 10.0  # mass outside the head does not count either way
    attention = attention / attention.sum()

    result = summarise(1, 8, face_densities(attention, parts, head))

    assert result.pooled_ratio == pytest.approx(3.0) and result.share_at_goal == 1.0
    assert result.part_mass == pytest.approx(12 / float(4 * 3 + 44 + 16 * 10))


def test_measurement_runs_on_rendered_faces_for_every_stage():
    model = build_model(ModelConfig(backbone_weights=None, input_size=64))

    results = measure_attention_regions(model, n=6, seed=0, split="validation", size=64, batch_size=4)

    assert [r.stage for r in results] == [0, 1, 2, 3]
    assert [r.map_side for r in results] == [16, 8, 4, 2]
    for r in results:
        assert r.pooled_ratio > 0 and 0 < r.part_area < 1 and 0 <= r.part_mass <= 1
