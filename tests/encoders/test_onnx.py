"""ONNX backends: agreement with PyTorch, one embedding space, exported files that are whole and made once."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from aisle.cli.main import app
from aisle.encoders import EncoderError
from aisle.encoders.onnx_export import (
    MANIFEST,
    RECIPES,
    cosine_agreement,
    ensure_text_onnx,
    read_manifest,
    space_dir,
    text_pooling,
)
from aisle.encoders.text import SentenceTransformerEncoder
from tests.encoders.conftest import IMAGE_BUILDERS, TEXT_BUILDERS, _built

TITLES = [
    "Turtle Check Men Navy Blue Shirt",
    "Nike Women Revolution 5 Running Shoes",
    "ViewSonic Pro8200 DLP Multimedia Projector",
    "Set of 10 Battery Operated Multi LED Train Christmas Lights - Clear Wire",
    "KitchenAid 5-Qt. Artisan Stand Mixer, Empire Red",
    "Titan Women Silver Analog Watch",
    "led christmas lights",
    "Café crème mug & saucer",
]
PAIRS = [
    ("minilm-torch", "minilm-onnx", 0.9999),
    ("minilm-torch", "minilm-onnx-int8", 0.99),
    ("clip-text-torch", "clip-text-onnx", 0.9999),
    ("clip-text-torch", "clip-text-onnx-int8", 0.99),
]


def row_cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=1)


@pytest.mark.parametrize(("torch_name", "onnx_name", "floor"), PAIRS)
def test_text_backends_agree_per_row(torch_name: str, onnx_name: str, floor: float, tiny_clip_dir: Path) -> None:
    reference = _built(torch_name, TEXT_BUILDERS, tiny_clip_dir)
    candidate = _built(onnx_name, TEXT_BUILDERS, tiny_clip_dir)
    cosines = row_cosines(reference.encode_documents(TITLES), candidate.encode_documents(TITLES))
    assert cosines.min() >= floor, cosines
    queries = row_cosines(reference.encode_queries(TITLES[:3]), candidate.encode_queries(TITLES[:3]))
    assert queries.min() >= floor, queries


@pytest.mark.parametrize(("onnx_name", "floor"), [("clip-image-onnx", 0.9999), ("clip-image-onnx-int8", 0.99)])
def test_image_backends_agree_per_row(
    onnx_name: str, floor: float, tiny_clip_dir: Path, sample_images: list[Path]
) -> None:
    reference = _built("clip-image-torch", IMAGE_BUILDERS, tiny_clip_dir).encode_images(sample_images)
    candidate = _built(onnx_name, IMAGE_BUILDERS, tiny_clip_dir).encode_images(sample_images)
    cosines = row_cosines(reference, candidate)
    assert cosines.min() >= floor, cosines


def test_int8_is_not_fp32_in_disguise(tiny_clip_dir: Path) -> None:
    fp32 = _built("minilm-onnx", TEXT_BUILDERS, tiny_clip_dir)
    int8 = _built("minilm-onnx-int8", TEXT_BUILDERS, tiny_clip_dir)
    assert int8.path.stat().st_size < 0.75 * fp32.path.stat().st_size
    assert not np.array_equal(fp32.encode_queries(TITLES), int8.encode_queries(TITLES))


def test_backends_share_one_space(tiny_clip_dir: Path) -> None:
    groups = [
        ["minilm-torch", "minilm-onnx", "minilm-onnx-int8"],
        ["clip-text-torch", "clip-text-onnx", "clip-text-onnx-int8"],
    ]
    for names in groups:
        infos = [_built(name, TEXT_BUILDERS, tiny_clip_dir).info for name in names]
        assert len({info.space for info in infos}) == 1
        assert [info.backend for info in infos] == ["torch", "onnx", "onnx-int8"]
        assert all(info.compatible_with(infos[0].to_json()) for info in infos)
    images = [_built(n, IMAGE_BUILDERS, tiny_clip_dir).info for n in ("clip-image-torch", "clip-image-onnx")]
    assert images[0].space == images[1].space == infos[0].space  # both CLIP towers: one space


def test_clip_preprocess_matches_open_clip() -> None:
    import open_clip
    from PIL import Image

    from aisle.encoders.onnx_clip import ClipPreprocess

    cfg = {"size": [224, 224], "mean": [0.48, 0.45, 0.40], "std": [0.26, 0.26, 0.27], "interpolation": "bicubic"}
    ours = ClipPreprocess({**cfg, "resize_mode": "shortest"})
    theirs = open_clip.image_transform(224, is_train=False, mean=cfg["mean"], std=cfg["std"])
    for size in [(224, 224), (300, 200), (7, 300), (500, 20), (225, 224)]:
        image = Image.effect_noise(size, 60).convert("RGB")
        np.testing.assert_allclose(ours(image), theirs(image).numpy(), atol=1e-5)


def test_export_is_made_once_and_forced_on_request(isolated_home: Path, tiny_st_dir: Path) -> None:
    reference = SentenceTransformerEncoder(tiny_st_dir)
    folder, space = reference.folder, reference.info.space
    first = ensure_text_onnx(folder, space)
    stamp = first.stat().st_mtime_ns
    assert first.parent == space_dir(space) and first.parent.is_relative_to(isolated_home)
    assert ensure_text_onnx(folder, space).stat().st_mtime_ns == stamp
    manifest = read_manifest(first.parent)
    assert manifest["space"] == space and manifest["files"]["text.onnx"]["bytes"] == first.stat().st_size
    assert ensure_text_onnx(folder, space, force=True).stat().st_mtime_ns != stamp
    assert not [p for p in first.parent.iterdir() if p.name.endswith(".tmp")]


def test_a_file_the_manifest_does_not_list_is_exported_again(isolated_home: Path, tiny_st_dir: Path) -> None:
    reference = SentenceTransformerEncoder(tiny_st_dir)
    target = space_dir(reference.info.space) / "text.onnx"
    target.parent.mkdir(parents=True)
    target.write_bytes(b"half a model from a crash")
    path = ensure_text_onnx(reference.folder, reference.info.space)
    assert path == target and path.stat().st_size > 100_000
    manifest = json.loads((target.parent / MANIFEST).read_text())
    assert manifest["files"]["text.onnx"]["recipe"] == RECIPES["fp32"]
    manifest["files"]["text.onnx"]["recipe"] = "an older exporter"  # files made by an older recipe are redone
    (target.parent / MANIFEST).write_text(json.dumps(manifest))
    stamp = target.stat().st_mtime_ns
    ensure_text_onnx(reference.folder, reference.info.space)
    assert target.stat().st_mtime_ns != stamp
    assert json.loads((target.parent / MANIFEST).read_text())["files"]["text.onnx"]["recipe"] == RECIPES["fp32"]


def test_unsupported_sentence_transformers_stacks_are_refused(tmp_path: Path) -> None:
    modules = [{"path": "", "type": "sentence_transformers.models.Transformer"}]
    (tmp_path / "modules.json").write_text(json.dumps([*modules, {"path": "2", "type": "x.models.Dense"}]))
    with pytest.raises(EncoderError, match="Dense"):
        text_pooling(tmp_path)
    (tmp_path / "modules.json").write_text(json.dumps(modules))
    (tmp_path / "1_Pooling").mkdir()
    (tmp_path / "1_Pooling" / "config.json").write_text(json.dumps({"pooling_mode_cls_token": True}))
    assert text_pooling(tmp_path) == "cls"
    (tmp_path / "1_Pooling" / "config.json").write_text(json.dumps({"pooling_mode_lasttoken": True}))
    with pytest.raises(EncoderError, match="pooling"):
        text_pooling(tmp_path)


def test_cosine_agreement() -> None:
    a = np.array([[1.0, 0.0], [0.0, 2.0]], dtype=np.float32)
    assert cosine_agreement(a, a) == pytest.approx((1.0, 1.0))
    assert cosine_agreement(a, a[::-1]) == pytest.approx((0.0, 0.0))
    with pytest.raises(ValueError):
        cosine_agreement(a, a[:1])


def test_cli_exports_every_file_and_reports_agreement(tmp_path: Path, tiny_st_dir: Path, tiny_clip_dir: Path) -> None:
    out = tmp_path / "onnx"
    args = ["export-onnx", "--text-model", str(tiny_st_dir), "--clip", str(tiny_clip_dir), "--out", str(out), "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    rows: list[dict[str, Any]] = json.loads(result.stdout)["files"]
    names = sorted(Path(row["file"]).name for row in rows)
    assert names == sorted(
        [
            "text.onnx",
            "text.int8.onnx",
            "clip_image.onnx",
            "clip_image.int8.onnx",
            "clip_text.onnx",
            "clip_text.int8.onnx",
        ]
    )
    assert all(Path(row["file"]).is_relative_to(out) and Path(row["file"]).is_file() for row in rows)
    assert all(row["cosine_min"] >= 0.99 for row in rows), rows
    table = CliRunner().invoke(app, ["export-onnx", "--text-model", str(tiny_st_dir), "--no-int8", "--out", str(out)])
    assert table.exit_code == 0, table.output
    assert "text.onnx" in table.output and "int8" not in table.output and "cosine" in table.output


def test_cli_refuses_a_model_it_cannot_find(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["export-onnx", "--text-model", str(tmp_path / "nope"), "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "never downloads" in result.output


@pytest.mark.dataset
def test_int8_holds_on_real_catalogue_titles(shared_data: Path, tiny_clip_dir: Path) -> None:
    from aisle.catalog.loaders.crowdflower import load_crowdflower

    rows = load_crowdflower(shared_data / "crowdflower" / "train.csv").rows
    titles = list(dict.fromkeys(str(row.fields["title"]) for row in rows))[:300]
    reference = _built("minilm-torch", TEXT_BUILDERS, tiny_clip_dir).encode_documents(titles)
    for name, floor in (("minilm-onnx", 0.9999), ("minilm-onnx-int8", 0.99)):
        cosines = row_cosines(reference, _built(name, TEXT_BUILDERS, tiny_clip_dir).encode_documents(titles))
        assert cosines.min() >= floor, (name, float(cosines.min()), titles[int(cosines.argmin())])


class _RecordingLanes:
    """Wraps the encoder's real ONNX Runtime lanes and keeps the attention mask of every batch, in order."""

    def __init__(self, lanes: Any) -> None:
        self.lanes = lanes
        self.masks: list[np.ndarray] = []

    def run_batches(self, batches: Iterable[dict[str, np.ndarray]]) -> Iterator[np.ndarray]:
        def record(feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
            self.masks.append(feeds["attention_mask"])
            return feeds

        return self.lanes.run_batches(map(record, batches))


def test_text_batches_are_formed_by_token_count(isolated_home: Path, tiny_st_dir: Path) -> None:
    from aisle.encoders.onnx_text import OnnxTextEncoder, load_tokenizer

    texts = [
        "antidisestablishmentarianism pneumonoultramicroscopic",
        "a b c d e f g h i j k l m",  # fewer characters than the next-but-two, more word pieces (15 vs 13)
        "tv",
        "x y z w v u t",
        "supercalifragilisticexpialidocious",
        "red shoe",
    ]
    tokenize, _ = load_tokenizer(tiny_st_dir, 128)
    counts = [len(ids) for ids in tokenize(texts)]
    by_chars = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    assert [counts[i] for i in by_chars] != sorted(counts, reverse=True)  # characters would batch these wrongly
    encoder = OnnxTextEncoder(tiny_st_dir, batch_size=2)
    lanes, tokenize, pad_id = encoder._parts()
    recording = _RecordingLanes(lanes)
    encoder._loaded = (recording, tokenize, pad_id)
    vectors = encoder.encode_documents(texts)
    lengths = [mask.sum(axis=1) for mask in recording.masks]
    assert sorted(np.concatenate(lengths).tolist(), reverse=True) == sorted(counts, reverse=True)
    for batch, following in zip(lengths, lengths[1:], strict=False):
        assert batch.min() >= following.max()  # batches never interleave token counts
    for batch, mask in zip(lengths, recording.masks, strict=True):
        assert mask.shape[1] == batch.max()  # each pads only to its own longest text
    np.testing.assert_allclose(vectors, np.concatenate([encoder.encode_documents([t]) for t in texts]), atol=2e-4)
