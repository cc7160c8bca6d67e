"""Training data for the catalogue CLIP: (image, title) pairs, their fingerprint, the fixed validation hold-out,
a decoded-once uint8 pixel cache, and augmentation on tensors (so epochs never re-decode JPEGs)."""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from aisle.files import save_array
from aisle.types import Product

log = logging.getLogger(__name__)
CACHE_FORMAT = 1


@dataclass(frozen=True, slots=True)
class Pair:
    id: str
    title: str
    image: str


def pairs_from_products(products: Sequence[Product]) -> list[Pair]:
    """Products with a title and a photo, sorted by id (a stable order for seeds and caches)."""
    pairs = [Pair(p.id, p.title.strip(), str(p.image)) for p in products if p.image and p.title.strip()]
    return sorted(pairs, key=lambda p: p.id)


def data_fingerprint(pairs: Sequence[Pair]) -> str:
    """sha1 of every id, title and photo's bytes: changes whenever the training data does."""
    digest = hashlib.sha1(f"pairs-v1:{len(pairs)}".encode())
    for pair in pairs:
        digest.update(f"{pair.id}\x00{pair.title}\x00".encode())
        digest.update(hashlib.sha1(Path(pair.image).read_bytes()).digest())
    return digest.hexdigest()


def is_validation(product_id: str, fraction: float) -> bool:
    """The fixed hold-out: a stable hash of the product id (the same on every machine and run)."""
    bucket = int.from_bytes(hashlib.sha1(f"clip-val:{product_id}".encode()).digest()[:4], "big")
    return bucket < fraction * 2**32


def split_pairs(pairs: Sequence[Pair], fraction: float) -> tuple[list[int], list[int]]:
    """Indices of the training and validation pairs (validation gets at least one pair when there are two)."""
    val = [i for i, p in enumerate(pairs) if is_validation(p.id, fraction)]
    if not val and len(pairs) >= 2 and fraction > 0:
        val = [len(pairs) - 1]
    chosen = set(val)
    return [i for i in range(len(pairs)) if i not in chosen], val


def _decode(path: str, transform: Any) -> np.ndarray:
    from aisle.encoders.images import load_rgb

    pixels = transform(load_rgb(path))  # float [3, S, S] in [0, 1]: open_clip's eval transform, unnormalised
    return np.clip(pixels.numpy() * 255.0 + 0.5, 0, 255).astype(np.uint8)


def pixel_cache(pairs: Sequence[Pair], image_size: int, cache_dir: Path, fingerprint: str) -> np.ndarray:
    """uint8 [N, 3, S, S] of every photo, resized and centre-cropped exactly as inference does (open_clip's eval
    transform), decoded once and kept under `cache_dir` keyed by the data fingerprint and size."""
    import open_clip
    from tqdm import tqdm

    path = cache_dir / f"pixels-{fingerprint[:16]}-{image_size}-v{CACHE_FORMAT}.npy"
    if path.is_file():
        cached = np.load(path, mmap_mode="r")
        if cached.shape == (len(pairs), 3, image_size, image_size):
            log.info("pixel cache hit: %s", path)
            return np.array(cached)  # a writable copy in memory
    transform = open_clip.image_transform(image_size, is_train=False, mean=(0.0,) * 3, std=(1.0,) * 3)
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        decoded = list(
            tqdm(
                pool.map(lambda p: _decode(p.image, transform), pairs),
                total=len(pairs),
                desc="decode photos",
                unit="photo",
                disable=len(pairs) < 500,
            )
        )
    array = np.stack(decoded) if decoded else np.zeros((0, 3, image_size, image_size), np.uint8)
    save_array(path, array)
    return array


def augment(pixels: Any, generator: Any, *, scale: tuple[float, float] = (0.6, 1.0), jitter: float = 0.15) -> Any:
    """A batch of uint8 [B, 3, S, S] -> float [B, 3, S, S] in [0, 1], each photo randomly cropped and resized
    (one affine grid sample for the batch), flipped, and lightly jittered in brightness, contrast and
    saturation. Hue is never changed: colour is what shoppers search for."""
    import torch
    import torch.nn.functional as F

    x = pixels.float() / 255.0
    b = x.shape[0]

    def uniform(low: float, high: float) -> Any:
        return low + (high - low) * torch.rand(b, generator=generator, device="cpu").to(x.device)

    area = uniform(*scale)
    log_ratio = uniform(np.log(3 / 4), np.log(4 / 3))
    sx = torch.sqrt(area * torch.exp(log_ratio)).clamp(max=1.0)
    sy = torch.sqrt(area / torch.exp(log_ratio)).clamp(max=1.0)
    tx = (1 - sx) * uniform(-1.0, 1.0)
    ty = (1 - sy) * uniform(-1.0, 1.0)
    flip = torch.where(uniform(0.0, 1.0) < 0.5, -1.0, 1.0)
    theta = torch.zeros(b, 2, 3, device=x.device)
    theta[:, 0, 0], theta[:, 0, 2] = sx * flip, tx
    theta[:, 1, 1], theta[:, 1, 2] = sy, ty
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    if jitter > 0:
        shape = (b, 1, 1, 1)
        brightness = uniform(1 - jitter, 1 + jitter).view(shape)
        contrast = uniform(1 - jitter, 1 + jitter).view(shape)
        saturation = uniform(1 - jitter, 1 + jitter).view(shape)
        x = x * brightness
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        x = (x - mean) * contrast + mean
        grey = (0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3]).expand_as(x)
        x = (x - grey) * saturation + grey
    return x.clamp(0.0, 1.0)


def normalise(x: Any, mean: Sequence[float], std: Sequence[float]) -> Any:
    """Float [B, 3, S, S] in [0, 1] -> the model's input (open_clip's Normalize)."""
    import torch

    m = torch.tensor(mean, device=x.device).view(1, 3, 1, 1)
    s = torch.tensor(std, device=x.device).view(1, 3, 1, 1)
    return (x - m) / s
