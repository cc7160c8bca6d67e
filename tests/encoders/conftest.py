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


@pytest.fixture(scope="session")
def tiny_st_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A sentence-transformers folder with a 2-layer, 32-wide random BERT and MiniLM's tokenizer: exports in a blink."""
    import json
    import shutil

    import torch
    from transformers import BertConfig, BertModel

    from aisle.encoders.text import minilm_path

    folder = tmp_path_factory.mktemp("st") / "tiny-bert"
    torch.manual_seed(0)
    config = BertConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64)
    BertModel(config).save_pretrained(str(folder))
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt"):
        shutil.copy(minilm_path() / name, folder / name)
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ]
    (folder / "modules.json").write_text(json.dumps(modules))
    (folder / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 128, "do_lower_case": False}))
    (folder / "1_Pooling").mkdir()
    (folder / "1_Pooling" / "config.json").write_text(
        json.dumps({"word_embedding_dimension": 32, "pooling_mode_mean_tokens": True})
    )
    (folder / "2_Normalize").mkdir()
    return folder


TEXT_BUILDERS: dict[str, Callable[[Path], Any]] = {
    "minilm-torch": lambda clip_dir: create_encoder("minilm", backend="torch"),
    "minilm-onnx": lambda clip_dir: create_encoder("minilm", backend="onnx"),
    "minilm-onnx-int8": lambda clip_dir: create_encoder("minilm", backend="onnx-int8"),
    "clip-text-torch": lambda clip_dir: create_encoder("clip-text", spec=str(clip_dir)),
    "clip-text-onnx": lambda clip_dir: create_encoder("clip-text", spec=str(clip_dir), backend="onnx"),
    "clip-text-onnx-int8": lambda clip_dir: create_encoder("clip-text", spec=str(clip_dir), backend="onnx-int8"),
}
IMAGE_BUILDERS: dict[str, Callable[[Path], Any]] = {
    "clip-image-torch": lambda clip_dir: create_encoder("clip-image", spec=str(clip_dir)),
    "clip-image-onnx": lambda clip_dir: create_encoder("clip-image", spec=str(clip_dir), backend="onnx"),
    "clip-image-onnx-int8": lambda clip_dir: create_encoder("clip-image", spec=str(clip_dir), backend="onnx-int8"),
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
