"""Catalogue CLIP training on a tiny catalogue: manifest, loading through ClipSpec / the registry, seeds,
learning, reuse, portability, and the CLI's clear errors."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from aisle.config import Settings
from aisle.encoders.clip_training import TrainConfig, find_trained, read_manifest, train_on_pairs
from aisle.encoders.clip_training.data import Pair, data_fingerprint, pairs_from_products, split_pairs
from tests.pipeline.conftest import make_products

TINY = TrainConfig(epochs=3, batch_size=8, image_size=32, width=8, embed_dim=16, val_fraction=0.2, seed=3)


@pytest.fixture(scope="session")
def tiny_pairs(tmp_path_factory: pytest.TempPathFactory) -> list[Pair]:
    return pairs_from_products(make_products(tmp_path_factory.mktemp("clip-photos")))


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory, tiny_pairs: list[Pair]) -> tuple[Path, Settings]:
    settings = Settings(home=tmp_path_factory.mktemp("clip-train-home"))
    folder = train_on_pairs(tiny_pairs, TINY, settings.models_dir / "clip" / "tiny", settings=settings, device="cpu")
    return folder, settings


def _weights(folder: Path) -> dict[str, Any]:
    from safetensors.numpy import load_file

    return load_file(str(folder / "open_clip_model.safetensors"))


def test_manifest_records_config_data_and_metrics(trained: tuple[Path, Settings], tiny_pairs: list[Pair]) -> None:
    folder, _ = trained
    manifest = read_manifest(folder)
    assert manifest is not None
    assert manifest["data_fingerprint"] == data_fingerprint(tiny_pairs)
    assert manifest["config"]["epochs"] == 3 and manifest["config"]["image_size"] == 32
    train, val = split_pairs(tiny_pairs, TINY.val_fraction)
    assert manifest["products"] == {"train": len(train), "validation": len(val)} and val
    epochs = manifest["metrics"]["epochs"]
    assert [e["epoch"] for e in epochs] == [1, 2, 3]
    assert {"t2i_r@1", "i2t_r@10"} <= set(epochs[0]["val"])
    assert epochs[-1]["loss"] < epochs[0]["loss"]  # it learns


def test_folder_loads_through_clip_spec_and_encodes(trained: tuple[Path, Settings], tiny_pairs: list[Pair]) -> None:
    from aisle.encoders import create_encoder
    from aisle.encoders.clip import ClipSpec

    folder, _ = trained
    assert ClipSpec.parse(str(folder)).model == f"local-dir:{folder.resolve()}"
    image = create_encoder("clip-image", spec=str(folder))
    text = create_encoder("clip-text", spec=str(folder))
    photos = image.encode_images([tiny_pairs[0].image, tiny_pairs[1].image])  # type: ignore[union-attr]
    words = text.encode_queries(["red shirts for men", "black watch"])  # type: ignore[union-attr]
    assert photos.shape == (2, 384) and words.shape == (2, 384)  # the identity projection: MiniLM's width
    assert np.allclose(np.linalg.norm(photos, axis=1), 1, atol=1e-4)
    assert image.info.space == text.info.space


def test_identity_projection_keeps_minilm_space(trained: tuple[Path, Settings]) -> None:
    """With the default text projection the image tower learns MiniLM's own space: the CLIP text tower's
    vectors are the packaged MiniLM's sentence embeddings (mean pooling, normalised)."""
    from aisle.encoders import create_encoder

    folder, _ = trained
    texts = ["red shirts for men", "Nike Women Black Running Shoes", "watch"]
    clip_text = create_encoder("clip-text", spec=str(folder)).encode_queries(texts)  # type: ignore[union-attr]
    minilm = create_encoder("minilm", backend="torch", device="cpu").encode_queries(texts)  # type: ignore[union-attr]
    assert np.allclose((clip_text * minilm).sum(axis=1), 1.0, atol=1e-4)


def test_mlp_projection_learns_its_own_space(tiny_pairs: list[Pair], tmp_path: Path) -> None:
    from dataclasses import replace

    from aisle.encoders import create_encoder

    config = replace(TINY, text_proj="mlp", embed_dim=16, epochs=2)
    folder = train_on_pairs(tiny_pairs, config, tmp_path / "mlp", settings=Settings(home=tmp_path), device="cpu")
    assert read_manifest(folder)["config"]["text_proj"] == "mlp"  # type: ignore[index]
    assert create_encoder("clip-text", spec=str(folder)).encode_queries(["blue jeans"]).shape == (1, 16)  # type: ignore[union-attr]


def test_saved_config_is_portable(trained: tuple[Path, Settings], tmp_path: Path) -> None:
    """No path of the training machine in the config; a moved copy loads and gives the same vectors."""
    from aisle.encoders.clip import ClipModel, ClipSpec
    from aisle.encoders.text import minilm_path

    folder, _ = trained
    assert str(minilm_path()) not in (folder / "open_clip_config.json").read_text()
    moved = shutil.copytree(folder, tmp_path / "elsewhere")
    a = ClipModel(ClipSpec.parse(str(folder)), device="cpu").encode_texts(["blue jeans"])
    b = ClipModel(ClipSpec.parse(str(moved)), device="cpu").encode_texts(["blue jeans"])
    assert np.allclose(a, b, atol=1e-5)


def test_same_seed_same_weights(trained: tuple[Path, Settings], tiny_pairs: list[Pair], tmp_path: Path) -> None:
    folder, settings = trained
    again = train_on_pairs(tiny_pairs, TINY, tmp_path / "again", settings=settings, device="cpu")
    first, second = _weights(folder), _weights(again)
    assert first.keys() == second.keys()
    assert all(np.allclose(first[k], second[k], atol=1e-5) for k in first)
    losses = [[e["loss"] for e in read_manifest(f)["metrics"]["epochs"]] for f in (folder, again)]  # type: ignore[index]
    assert np.allclose(losses[0], losses[1], atol=1e-3)


def test_find_trained_matches_data_and_config(trained: tuple[Path, Settings], tiny_pairs: list[Pair]) -> None:
    folder, settings = trained
    fingerprint = data_fingerprint(tiny_pairs)
    assert find_trained(fingerprint, TINY, settings) == folder
    assert find_trained(fingerprint, TrainConfig(epochs=4), settings) is None
    assert find_trained("0" * 40, TINY, settings) is None


def test_tiny_catalogue_csv_through_ensure(
    tmp_path: Path, tiny_pairs: list[Pair], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`ensure_catalog_clip` trains once for a SOURCE, then reuses the folder."""
    from aisle.encoders.clip_training import run

    path = Path(tiny_pairs[0].image).parent / "shop.csv"  # beside its photos: a catalogue's images are its own
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "title", "image"])
        writer.writerows([[p.id, p.title, p.image] for p in tiny_pairs])
    settings = Settings(home=tmp_path / "home")
    small = TrainConfig(epochs=1, batch_size=8, image_size=32, width=8, embed_dim=16)
    monkeypatch.setattr(run, "TrainConfig", lambda **kw: TrainConfig(**{**small.to_json(), **kw}))
    first = run.ensure_catalog_clip(str(path), settings=settings, epochs=1)
    stamp = (first / "manifest.json").stat().st_mtime_ns
    assert run.ensure_catalog_clip(str(path), settings=settings, epochs=1) == first
    assert (first / "manifest.json").stat().st_mtime_ns == stamp
    assert first.parent == settings.models_dir / "clip"
    assert json.loads((first / "manifest.json").read_text())["source"] == str(path)


def test_too_few_pairs_is_a_clear_error(tmp_path: Path, tiny_pairs: list[Pair]) -> None:
    from aisle.encoders.base import EncoderError

    with pytest.raises(EncoderError, match="at least 2"):
        train_on_pairs(tiny_pairs[:1], TINY, tmp_path / "x", settings=Settings(home=tmp_path))


def test_cli_rejects_bad_input(tmp_path: Path) -> None:
    from aisle.cli.main import app

    runner = CliRunner()
    result = runner.invoke(app, ["train-clip", "--catalog", "no-such-thing"])
    assert result.exit_code == 2 and "unknown source" in result.output
    result = runner.invoke(app, ["train-clip", "--catalog", str(tmp_path / "missing.tsv")])
    assert "no such file" in str(result.exception)  # a .tsv is a SOURCE: it got as far as reading the file
    result = runner.invoke(app, ["train-clip", "--catalog", "myntra:/no/such/folder"])
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    result = runner.invoke(app, ["train-clip", "--catalog", f"myntra:{tmp_path}", "--epochs", "0"])
    assert result.exit_code == 2
    result = runner.invoke(app, ["train-clip", "--catalog", f"myntra:{tmp_path}", "--text-proj", "cubic"])
    assert result.exit_code == 2 and "identity" in result.output
    result = runner.invoke(app, ["train-clip", "--catalog", f"myntra:{tmp_path}", "--crop-min", "0"])
    assert result.exit_code == 2


def test_onnx_export_matches_torch(trained: tuple[Path, Settings], tiny_pairs: list[Pair]) -> None:
    from aisle.encoders import create_encoder

    folder, _ = trained
    texts = ["red shirts for men", "a black leather watch for women"]
    torch_text = create_encoder("clip-text", spec=str(folder)).encode_queries(texts)  # type: ignore[union-attr]
    onnx_text = create_encoder("clip-text", spec=str(folder), backend="onnx")
    got = onnx_text.encode_queries(texts)  # type: ignore[union-attr]
    assert np.allclose((got * torch_text).sum(axis=1), 1.0, atol=1e-3)
    photos = [p.image for p in tiny_pairs[:3]]
    torch_image = create_encoder("clip-image", spec=str(folder)).encode_images(photos)  # type: ignore[union-attr]
    onnx_image = create_encoder("clip-image", spec=str(folder), backend="onnx").encode_images(photos)  # type: ignore[union-attr]
    assert np.allclose((onnx_image * torch_image).sum(axis=1), 1.0, atol=1e-3)


def test_ingest_and_search_by_photo(trained: tuple[Path, Settings], tmp_path: Path) -> None:
    """Ingest with the trained folder fills `image` and `clip_text`; a photo finds its own product first."""
    from aisle.pipeline.ingest import ingest_products
    from aisle.pipeline.request import SearchRequest
    from aisle.pipeline.search import SearchPipeline
    from tests.engines import fresh_edge

    folder, _ = trained
    products = make_products(tmp_path)
    settings = Settings(home=tmp_path / "home", clip_model=str(folder))
    engine = fresh_edge()
    summary = ingest_products(products, "shop", settings=settings, engine=engine, progress=False)
    assert summary.images_embedded == len(products)
    pipeline = SearchPipeline.open("shop", settings, engine=engine)
    by_photo = pipeline.search(SearchRequest(image=Path(products[0].image or ""), mode="image", top_k=3))
    same_photo = {p.id for p in products if p.image == products[0].image}
    assert by_photo.results[0]["id"] in same_photo  # an identical photo scores 1.0
    by_text = pipeline.search(SearchRequest(query="red shirts", mode="image", top_k=3))
    assert len(by_text.results) == 3


def test_clip_eval_reports_trained_random_and_image_to_image(trained: tuple[Path, Settings], tmp_path: Path) -> None:
    """The catalogue-CLIP evaluation on the tiny catalogue: every report pipeline runs, the random baseline
    has the trained folder's architecture, and the report gains the image-to-image section."""
    from aisle.eval.attribute_queries import generate_attribute_queries
    from aisle.eval.clip_eval import REPORT_PIPELINES, random_baseline_folder, run_clip_eval, write_clip_report
    from aisle.eval.datasets import build_dataset
    from aisle.eval.metrics import evaluate_splits
    from aisle.eval.report import build_report, write_report
    from tests.engines import fresh_edge

    folder, _ = trained
    settings = Settings(home=tmp_path / "home")
    products = make_products(tmp_path)
    queries, qrels = generate_attribute_queries(products, n_queries=6)
    dataset = build_dataset("myntra", products, queries, qrels)
    runs, i2i = run_clip_eval(dataset, folder, settings=settings, engine=fresh_edge(), progress=False, i2i_queries=5)
    assert list(runs.runs) == list(REPORT_PIPELINES) and not runs.skipped
    random_dir = random_baseline_folder(folder, settings)
    assert (
        json.loads((random_dir / "open_clip_config.json").read_text())["model_cfg"]
        == json.loads((folder / "open_clip_config.json").read_text())["model_cfg"]
    )
    assert _weights(random_dir).keys() == _weights(folder).keys()
    assert i2i["trained"]["queries"] == i2i["held_out_products"] >= 1
    results = evaluate_splits(dataset.qrels, {n: r.run for n, r in runs.runs.items()}, ("all",))
    report = build_report(dataset, runs, results, settings=settings, config={})
    out = tmp_path / "report"
    write_report(report, out, {n: list(r.latency_ms.values()) for n, r in runs.runs.items()})
    write_clip_report(report, i2i, out)
    assert json.loads((out / "report.json").read_text())["image_to_image"]["random"]["queries"] >= 1
    assert "## Image to image" in (out / "report.md").read_text()
