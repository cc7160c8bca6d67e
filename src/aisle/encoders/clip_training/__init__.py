"""Catalogue-trained CLIP: contrastive training on a catalogue's own (photo, title) pairs with open_clip.

With no pretrained CLIP to start from, the text tower is the packaged MiniLM, locked (its pooled title
features are computed once) and by default unprojected, so a small ModifiedResNet image tower learns to
place each photo on its title's MiniLM embedding: locked-text tuning (LiT). `text_proj="mlp"` also trains a
text projection into a new space. `TrainConfig(init=SPEC)` fine-tunes an existing open_clip model instead.
"""

from aisle.encoders.clip_training.run import (
    ensure_catalog_clip,
    find_trained,
    read_manifest,
    train_catalog_clip,
    train_on_pairs,
)
from aisle.encoders.clip_training.train import TrainConfig

__all__ = [
    "TrainConfig",
    "ensure_catalog_clip",
    "find_trained",
    "read_manifest",
    "train_catalog_clip",
    "train_on_pairs",
]
