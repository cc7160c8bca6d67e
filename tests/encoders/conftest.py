"""Encoders under test, built once per session: the packaged MiniLM and a tiny random-weight CLIP.

Every implementation (and backend) joins the conformance suite by adding a builder to the tables below.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from aisle.encoders import create_encoder

# A small open_clip config: random weights, built here, nothing downloaded.
TINY_CLIP_CFG: dict[str, Any] = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 2, "width": 64, "patch_size": 8, "head_width": 32},
    "text_cfg": {"context_length": 24, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}


@pytest.fixture(scope="session")
def tiny_clip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch
    from open_clip.model import CLIP

    from aisle.encoders.clip import save_clip_folder

    torch.manual_seed(0)
    return save_clip_folder(CLIP(**TINY_CLIP_CFG), TINY_CLIP_CFG, tmp_path_factory.mktemp("clip") / "tiny-clip")


TEXT_BUILDERS: dict[str, Callable[[Path], Any]] = {
    "minilm-torch": lambda clip_dir: create_encoder("minilm", backend="torch"),
    "clip-text-torch": lambda clip_dir: create_encoder("clip-text", spec=str(clip_dir)),
}
IMAGE_BUILDERS: dict[str, Callable[[Path], Any]] = {
    "clip-image-torch": lambda clip_dir: create_encoder("clip-image", spec=str(clip_dir)),
}
SPARSE_BUILDERS: dict[str, Callable[[Path], Any]] = {
    "bm25": lambda clip_dir: create_encoder("bm25"),
}
_BUILT: dict[str, Any] = {}


def _built(name: str, builders: dict[str, Callable[[Path], Any]], clip_dir: Path) -> Any:
    if name not in _BUILT:
        _BUILT[name] = builders[name](clip_dir)
    return _BUILT[name]


@pytest.fixture(params=sorted(TEXT_BUILDERS))
def text_encoder(request: pytest.FixtureRequest, tiny_clip_dir: Path) -> Any:
    return _built(request.param, TEXT_BUILDERS, tiny_clip_dir)


@pytest.fixture(params=sorted(IMAGE_BUILDERS))
def image_encoder(request: pytest.FixtureRequest, tiny_clip_dir: Path) -> Any:
    return _built(request.param, IMAGE_BUILDERS, tiny_clip_dir)


@pytest.fixture(params=sorted(SPARSE_BUILDERS))
def sparse_encoder(request: pytest.FixtureRequest, tiny_clip_dir: Path) -> Any:
    return _built(request.param, SPARSE_BUILDERS, tiny_clip_dir)


@pytest.fixture(scope="session")
def sample_images(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Five small, different JPEGs."""
    from PIL import Image

    folder = tmp_path_factory.mktemp("images")
    paths = []
    for i in range(5):
        noise = Image.effect_noise((48 + 8 * i, 40), 30 + 20 * i).convert("RGB")
        image = Image.blend(Image.new("RGB", noise.size, (40 * i, 200 - 30 * i, 90)), noise, 0.4)
        path = folder / f"img{i}.jpg"
        image.save(path)
        paths.append(path)
    return paths
