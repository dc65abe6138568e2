"""The official loss formulas, checked against hand-written versions on random tensors."""

from __future__ import annotations

import torch

from asen.training.losses import alignment_loss, triplet_ranking_loss


def _cos(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1))


def test_alignment_loss_is_the_sum_of_three_clamped_means() -> None:
    generator = torch.Generator().manual_seed(0)
    globals_ = tuple(torch.randn(7, 12, generator=generator) for _ in range(3))
    locals_ = tuple(torch.randn(7, 12, generator=generator) for _ in range(3))
    expected = sum(
        torch.clamp(1 - _cos(glob, loc), min=0).mean()
        for glob, loc in zip(globals_, locals_, strict=True)
    )
    assert torch.allclose(alignment_loss(globals_, locals_), expected, atol=1e-6)


def test_alignment_loss_is_zero_for_identical_directions() -> None:
    vectors = tuple(torch.randn(5, 8) for _ in range(3))
    scaled = tuple(3.0 * v for v in vectors)
    assert alignment_loss(vectors, scaled).item() < 1e-6


def test_triplet_ranking_loss_matches_margin_ranking_on_cosines() -> None:
    generator = torch.Generator().manual_seed(1)
    anchor, positive, negative = (torch.randn(9, 6, generator=generator) for _ in range(3))
    expected = torch.clamp(0.2 - _cos(anchor, positive) + _cos(anchor, negative), min=0).mean()
    loss = triplet_ranking_loss(anchor, positive, negative, 0.2)
    assert torch.allclose(loss, expected, atol=1e-6)


def test_losses_are_float32_under_half_inputs() -> None:
    anchor, positive, negative = (torch.randn(4, 6).half() for _ in range(3))
    assert triplet_ranking_loss(anchor, positive, negative, 0.2).dtype == torch.float32
    assert alignment_loss((anchor,), (positive,)).dtype == torch.float32
