"""The contrastive loss with soft targets from title-title similarity.

open_clip's ClipLoss treats every other pair in the batch as a negative. A catalogue is full of near-duplicate
titles ("Nike Men Black T-shirt" in many cuts), and pushing one photo away from its twin's title teaches the
image tower noise. Here each row's target is a softmax of its title's similarity to the batch's titles at a low
temperature: distinct titles still give (nearly) one-hot targets, near-duplicates share the target mass.
On the Myntra dev queries (image-only nDCG@10, 64 px, width 32, 48 epochs) it gave 0.618 against 0.598 for
one-hot targets at batch 256, and 0.574 against 0.571 at batch 128 (the README's catalogue-CLIP section).
"""

from __future__ import annotations

from typing import Any


class SoftTargetClipLoss:
    """Symmetric cross-entropy of `logit_scale * image @ text.T` against softmax(text @ text.T / temperature)."""

    def __init__(self, temperature: float) -> None:
        if not temperature > 0:
            raise ValueError(f"the target temperature must be positive, got {temperature}")
        self.temperature = temperature

    def targets(self, text_features: Any) -> Any:
        """[B, B] row-stochastic targets from L2-normalised text features (no gradient)."""
        import torch

        with torch.no_grad():
            return torch.softmax(text_features @ text_features.T / self.temperature, dim=1)

    def __call__(self, image_features: Any, text_features: Any, logit_scale: Any) -> Any:
        logits = logit_scale * image_features @ text_features.T
        target = self.targets(text_features)  # symmetric, so it serves both directions
        image_to_text = -(target * logits.log_softmax(dim=1)).sum(dim=1).mean()
        text_to_image = -(target * logits.T.log_softmax(dim=1)).sum(dim=1).mean()
        return (image_to_text + text_to_image) / 2
