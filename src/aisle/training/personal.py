"""`aisle train-personal`: fit the sequential ranker on the event store (with the collection's own vectors)
or on a behaviour data set (with MiniLM vectors of its item text), and save it with a manifest."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import numpy as np

from aisle.config import Settings
from aisle.index.client import open_engine
from aisle.index.collection import ProductIndex
from aisle.index.engine import Engine
from aisle.personal.events import EventStore
from aisle.personal.interactions import Interactions, from_sequences, leave_last_out, load_named
from aisle.personal.sasrec import SASRecConfig
from aisle.personal.train import RECIPES, TrainConfig, save_model, train_sasrec
from aisle.pipeline.personal import PERSONAL_MODELS, IndexVectors, content_vectors, model_folder

log = logging.getLogger(__name__)
MIN_USERS = 20


def _check_users(data: Interactions) -> None:
    if len(data.users) < MIN_USERS:
        raise ValueError(
            f"only {len(data.users)} shoppers have 3 or more distinct products; the personal ranker needs at "
            f"least {MIN_USERS} (import events with `aisle events import`); until then search uses the content profile"
        )


def _fit(data: Interactions, content: np.ndarray, folder: Path, tc: TrainConfig, extra: dict) -> Path:
    """Pick the epoch count on a leave-last-out validation split, then retrain on every event for that long."""
    _check_users(data)
    model_kw, train_kw = RECIPES.get(data.name, RECIPES["online_retail"])
    tc = replace(tc, **{k: v for k, v in train_kw.items() if k not in ("epochs", "refit")})  # the CLI's budget stays
    split = leave_last_out(data)
    config = SASRecConfig(n_items=data.n_items, content_dim=int(content.shape[1]), **model_kw)
    valid = ([split.valid_history(u) for u in range(len(data.users))], split.valid_target)
    chosen = train_sasrec(split.train, content, config, tc, valid=valid)
    final = train_sasrec(data.sequences, content, config, replace(tc, epochs=chosen.best_epoch, max_minutes=None))
    final.best_valid_ndcg, final.best_epoch, final.curve = chosen.best_valid_ndcg, chosen.best_epoch, chosen.curve
    final.seconds += chosen.seconds
    extra = {**extra, "data": {"name": data.name, "fingerprint": data.fingerprint(), **data.stats()}}
    return save_model(final, data.item_ids, folder, extra)


def fit_on_dataset(name: str, path: Path, settings: Settings, tc: TrainConfig) -> Path:
    from aisle.encoders import create_encoder

    data = load_named(name, path)
    content = content_vectors(data.item_texts, settings)
    space = create_encoder("sentence-transformers", model="minilm").info.space
    return _fit(data, content, settings.models_dir / PERSONAL_MODELS / data.name, tc, {"content_space": space})


def fit_on_events(collection: str, settings: Settings, tc: TrainConfig, engine: Engine | None = None) -> Path:
    """The shop's own events; items are represented by the collection's stored `text` vectors."""
    with EventStore.open(settings) as store:
        data = from_sequences(f"events-{collection}", store.sequences())
    _check_users(data)
    index = ProductIndex(engine or open_engine(settings), collection)
    index.metadata()  # a clear CollectionError when it does not exist
    vectors = IndexVectors(index)
    found = vectors(data.item_ids[1:])
    if not found:
        raise ValueError(f"none of the event products are in collection {collection!r}")
    dim = len(next(iter(found.values())))
    content = np.zeros((len(data.item_ids), dim), dtype=np.float32)
    for i, product in enumerate(data.item_ids[1:], start=1):
        if product in found:
            content[i] = found[product]
    log.info("%d of %d event products have vectors in %s", len(found), data.n_items, collection)
    extra = {"content_space": vectors.space(), "collection": collection}
    return _fit(data, content, model_folder(settings, collection), tc, extra)
