"""The soft-target contrastive loss: one-hot on distinct titles, shared targets on near-duplicates."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from aisle.encoders.clip_training.loss import SoftTargetClipLoss


def _features(seed: int, rows: int = 6, dim: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    image = F.normalize(torch.randn(rows, dim, generator=generator), dim=-1)
    text = F.normalize(torch.eye(rows, dim), dim=-1)  # distinct titles: orthogonal features
    return image, text


def test_distinct_titles_give_open_clips_loss() -> None:
    from open_clip.loss import ClipLoss

    image, text = _features(0)
    scale = torch.tensor(20.0)
    expected = ClipLoss()(image, text, scale)
    assert torch.allclose(SoftTargetClipLoss(0.03)(image, text, scale), expected, atol=1e-6)


def test_near_duplicate_titles_share_the_target() -> None:
    from open_clip.loss import ClipLoss

    _, text = _features(1)
    text[1] = F.normalize(text[0] + 0.1 * text[1], dim=0)  # two products with almost the same title
    target = SoftTargetClipLoss(0.03).targets(text)
    assert torch.allclose(target.sum(dim=1), torch.ones(len(text)))
    assert target[0, 1] > 0.3 and target[1, 0] > 0.3
    assert torch.allclose(target[2], F.one_hot(torch.tensor(2), len(text)).float(), atol=1e-6)
    # one-hot targets push photo 0 away from its twin's title; soft targets do not
    scale = torch.tensor(50.0)
    towards_twin = text[1] - text[0]
    steps = {}
    for name, loss in (("hard", ClipLoss()), ("soft", SoftTargetClipLoss(0.03))):
        photos = text.clone().requires_grad_(True)
        loss(photos, text, scale).backward()
        assert photos.grad is not None
        steps[name] = float(-photos.grad[0] @ towards_twin)  # gradient descent's move of photo 0 towards the twin
    assert steps["hard"] < 0 < steps["soft"]


def test_temperature_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        SoftTargetClipLoss(0.0)
