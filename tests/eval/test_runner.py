"""Runs through the product's SearchPipeline: a Myntra fixture with photos and a tiny CLIP, every pipeline."""

from __future__ import annotations

from pathlib import Path

import pytest

from aisle.config import Settings
from aisle.eval.datasets import load_myntra_dataset
from aisle.eval.runner import PIPELINES, collection_name, register_pipeline, run_pipelines
from tests.conftest import jpeg_bytes
from tests.eval.test_attribute_queries import HEADER, ROWS

pytestmark = pytest.mark.slow


@pytest.fixture
def myntra(tmp_path: Path) -> Path:
    (tmp_path / "images").mkdir()
    (tmp_path / "styles.csv").write_text(HEADER + "\n".join(ROWS) + "\n")
    colours = {"1": (200, 30, 30), "2": (30, 60, 200), "3": (200, 30, 30), "4": (200, 30, 30), "5": (15, 15, 15)}
    for product_id, colour in {**colours, "7": (20, 20, 90)}.items():
        (tmp_path / "images" / f"{product_id}.jpg").write_bytes(jpeg_bytes(colour))
    return tmp_path


def test_every_pipeline_answers_every_query(
    myntra: Path, tmp_path: Path, tiny_clip_spec: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.engines import fresh_edge

    settings = Settings(home=tmp_path / "home", clip_model=tiny_clip_spec)
    dataset = load_myntra_dataset(myntra, settings)
    monkeypatch.setitem(PIPELINES, "bm25-again", PIPELINES["bm25"])
    register_pipeline("bm25-again", lambda: {"mode": "bm25", "rerank": False})  # the registry is open
    engine = fresh_edge()
    names = ["bm25", "dense", "image", "hybrid-rrf", "hybrid-dbsf", "bm25-again"]
    runs = run_pipelines(dataset, names, settings=settings, engine=engine, top_k=5, progress=False)
    assert runs.collection == collection_name(dataset, settings) and not runs.skipped
    assert list(runs.runs) == names and runs.ingest["images_embedded"] == 6
    for run in runs.runs.values():
        assert set(run.run) == set(run.latency_ms) == set(dataset.queries) and not run.errors
        for ranked in run.run.values():
            assert 0 < len(ranked) <= 5 and sorted(ranked.values(), reverse=True) == list(ranked.values())
    assert runs.runs["bm25-again"].run == runs.runs["bm25"].run
    shirts = next(q for q, text in dataset.queries.items() if text == "shirts in red")
    assert set(runs.runs["bm25"].run[shirts]) >= {"1", "3"}
    # the collection is reused: nothing is embedded twice
    again = run_pipelines(dataset, ["bm25"], settings=settings, engine=engine, top_k=5, progress=False)
    assert again.ingest["embedded"] == 0 and again.collection == runs.collection
