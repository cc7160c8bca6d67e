"""`aisle train-personal events`: the ranker trained on the shop's own events with the collection's own
vectors, then picked up by the pipeline's personal step."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from aisle.config import Settings
from aisle.types import BehaviourEvent, EventType, Product


@pytest.fixture
def shoppers(catalogue: list[Product], settings: Settings) -> list[str]:
    """30 shoppers, each buying within one gender, in catalogue order."""
    from aisle.personal.events import EventStore

    rng = np.random.default_rng(0)
    now = datetime.now(UTC)
    events, users = [], []
    for n in range(30):
        gender = "Women" if n % 2 else "Men"
        pool = [p.id for p in catalogue if p.attributes["gender"] == gender]
        picks = rng.choice(pool, size=6, replace=False)
        users.append(f"shopper-{n}")
        events += [BehaviourEvent(f"shopper-{n}", str(p), EventType.PURCHASE, now - timedelta(hours=10 - i))
                   for i, p in enumerate(picks)]  # fmt: skip
    with EventStore.open(settings) as store:
        store.record(events)
    return users


def test_trains_on_events_and_the_pipeline_uses_it(
    shoppers: list[str], settings: Settings, shared_engine: Any, ingested: str
) -> None:
    import json

    from aisle.index.collection import ProductIndex
    from aisle.personal.personalizer import SequentialScorer
    from aisle.personal.train import TrainConfig
    from aisle.pipeline.personal import default_personalizer
    from aisle.pipeline.request import SearchRequest
    from aisle.pipeline.search import SearchPipeline
    from aisle.training.personal import fit_on_events

    folder = fit_on_events(ingested, settings, TrainConfig(epochs=5, eval_every=5), engine=shared_engine)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["collection"] == ingested and manifest["content_space"].startswith("st:")
    assert manifest["data"]["users"] == 30
    index = ProductIndex(shared_engine, ingested)
    personalizer = default_personalizer(index, settings)
    assert not personalizer.scorer.chosen  # nothing loads until a search has a shopper
    assert isinstance(personalizer.scorer.scorer, SequentialScorer)
    pipeline = SearchPipeline.open(ingested, settings, engine=shared_engine)
    plain = pipeline.search(SearchRequest(query="shoes", top_k=8))
    assert not pipeline.personalizer.scorer.chosen
    personal = pipeline.search(SearchRequest(query="shoes", top_k=8, user="shopper-1"))
    assert pipeline.personalizer.scorer.chosen and isinstance(pipeline.personalizer.scorer.scorer, SequentialScorer)
    assert {h["id"] for h in personal.results} <= {
        h["id"] for h in pipeline.search(SearchRequest(query="shoes", top_k=50)).results
    }
    assert all("personal" in h["scores"] for h in personal.results) and plain.results
