"""Ingestion into Qdrant: idempotent, resumable after a crash, pruning, encoder mismatch refused."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from aisle.config import Settings
from aisle.index.collection import CollectionError, ProductIndex
from aisle.index.edge import EdgeEngine
from aisle.pipeline.ingest import ingest_products
from aisle.types import Product
from tests.engines import fresh_edge


@pytest.fixture
def engine(tmp_path: Path) -> EdgeEngine:
    return fresh_edge(tmp_path / "edge")


@pytest.fixture
def text_only(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path)


def test_reingest_creates_no_duplicates_and_skips_unchanged(
    engine: EdgeEngine, catalogue: list[Product], text_only: Settings
) -> None:
    first = ingest_products(catalogue, "c", settings=text_only, engine=engine, progress=False)
    again = ingest_products(catalogue, "c", settings=text_only, engine=engine, progress=False)
    assert (first.embedded, first.points) == (len(catalogue), len(catalogue))
    assert (again.embedded, again.unchanged, again.points) == (0, len(catalogue), len(catalogue))
    changed = [dataclasses.replace(catalogue[0], title="Acme Men Red Shirts, new season"), *catalogue[1:]]
    third = ingest_products(changed, "c", settings=text_only, engine=engine, progress=False)
    assert (third.embedded, third.points) == (1, len(catalogue))
    assert ProductIndex(engine, "c").get([catalogue[0].id])[0]["title"] == "Acme Men Red Shirts, new season"


def test_prune_deletes_products_gone_from_the_source(
    engine: EdgeEngine, catalogue: list[Product], text_only: Settings
) -> None:
    ingest_products(catalogue, "c", settings=text_only, engine=engine, progress=False)
    kept = catalogue[:10]
    without = ingest_products(kept, "c", settings=text_only, engine=engine, progress=False)
    assert without.points == len(catalogue)
    pruned = ingest_products(kept, "c", settings=text_only, engine=engine, prune=True, progress=False)
    assert (pruned.deleted, pruned.points) == (len(catalogue) - 10, 10)
    assert sorted(ProductIndex(engine, "c").stored_hashes()) == sorted(p.id for p in kept)


class FakeCrashingUpsert:
    """A fake engine wrapper that dies after `batches` upserts, as a killed ingest would."""

    def __init__(self, engine: EdgeEngine, batches: int) -> None:
        self._client, self._left = engine, batches

    def upsert(self, *args: Any, **kwargs: Any) -> Any:
        if self._left == 0:
            raise KeyboardInterrupt("killed")
        self._left -= 1
        return self._client.upsert(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def test_a_killed_ingest_resumes_to_exactly_the_right_points(
    engine: EdgeEngine, catalogue: list[Product], text_only: Settings
) -> None:
    with pytest.raises(KeyboardInterrupt):
        ingest_products(
            catalogue, "c", settings=text_only, engine=FakeCrashingUpsert(engine, 2), batch_size=5, progress=False
        )
    assert ProductIndex(engine, "c").count() == 10
    resumed = ingest_products(catalogue, "c", settings=text_only, engine=engine, batch_size=5, progress=False)
    assert (resumed.embedded, resumed.unchanged, resumed.points) == (len(catalogue) - 10, 10, len(catalogue))


def test_a_collection_refuses_other_encoders(
    engine: EdgeEngine, catalogue: list[Product], text_only: Settings, tiny_clip_spec: str
) -> None:
    from aisle.pipeline.encoders import EncoderSet
    from aisle.pipeline.search import SearchPipeline

    ingest_products(catalogue[:4], "c", settings=text_only, engine=engine, progress=False)
    other = EncoderSet.build({"text": {"model": "minilm", "max_seq_length": 32}, "bm25": {"avg_doc_len": 3.0}})
    with pytest.raises(CollectionError, match="other encoders"):
        SearchPipeline(ProductIndex(engine, "c"), other, settings=text_only)
    with_clip = EncoderSet.build(
        {"text": {"model": "minilm"}, "bm25": {"avg_doc_len": 3.0}, "clip": {"spec": tiny_clip_spec}}
    )
    with pytest.raises(CollectionError, match="no such vector"):
        ProductIndex(engine, "c").verify(with_clip.layout)


def test_stored_encoders_are_rebuilt_from_the_collection(
    engine: EdgeEngine, catalogue: list[Product], search_settings: Settings
) -> None:
    from aisle.pipeline.search import SearchPipeline

    ingest_products(catalogue[:6], "c", settings=search_settings, engine=engine, progress=False)
    # a pipeline opened with default settings (no CLIP configured) still gets the collection's encoders
    pipeline = SearchPipeline.open("c", Settings(home=search_settings.home), engine=engine)
    assert pipeline.encoders.clip_image is not None
    stored = ProductIndex(engine, "c").stored_encoders()
    assert {name: info.space for name, info in pipeline.encoders.layout.encoders().items()} == {
        name: info["space"] for name, info in stored.items()
    }
