"""Wiring for personalisation: item content vectors (MiniLM of item text, cached under AISLE_HOME by data
fingerprint), product vectors read back from a Qdrant collection, and the SearchPipeline's personalizer."""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from aisle.config import Settings, get_settings
from aisle.files import save_array
from aisle.index.collection import ProductIndex
from aisle.index.schema import TEXT, point_id
from aisle.personal.blend import DEFAULT_TABLE, BlendTable
from aisle.personal.events import EventStore

if TYPE_CHECKING:
    from aisle.personal.personalizer import Personalizer

log = logging.getLogger(__name__)
PERSONAL_MODELS = "personal"
NOT_TASTE = ("product_id", "currency", "content_hash")


def content_vectors(
    texts: Sequence[str], settings: Settings | None = None, *, model: str = "minilm", progress: bool = False
) -> np.ndarray:
    """[len(texts), dim] L2-normalised embeddings; an empty text gets a zero row. Cached by the texts' hash."""
    from aisle.encoders import create_encoder

    settings = settings or get_settings()
    encoder: Any = create_encoder("sentence-transformers", model=model)
    digest = hashlib.sha1(encoder.info.space.encode())
    digest.update("\x1e".join(texts).encode("utf-8"))
    cache = settings.home / "cache" / "personal" / f"content-{digest.hexdigest()[:16]}.npy"
    if cache.is_file():
        return np.load(cache)
    keep = [i for i, t in enumerate(texts) if t]
    vectors = np.zeros((len(texts), encoder.info.dim), dtype=np.float32)
    if keep:
        log.info("embedding %d item texts for the personal ranker", len(keep))
        vectors[keep] = np.asarray(encoder.encode_documents([texts[i] for i in keep]), dtype=np.float32)
    save_array(cache, vectors)  # atomic: a crash mid-write must not leave a cache that np.load then fails on
    return vectors


class IndexVectors:
    """Product id -> the collection's stored `text` vector (the catalogue's own item representation), and
    its payload (for the history's attributes); both cached, read in one request per batch of new ids."""

    def __init__(self, index: ProductIndex, vector: str = TEXT, cache_size: int = 50_000) -> None:
        self.index = index
        self.vector = vector
        self._cache: dict[str, np.ndarray] = {}
        self._payloads: dict[str, dict[str, Any]] = {}
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def space(self) -> str | None:
        """The encoder space of the stored vectors (a trained model must have been trained in it)."""
        return (self.index.metadata().get("encoders", {}).get(self.vector) or {}).get("space")

    def _fetch(self, product_ids: Sequence[str]) -> None:
        missing = [p for p in dict.fromkeys(product_ids) if p not in self._payloads]
        if not missing:
            return
        records = self.index.engine.retrieve(self.index.name, [point_id(p) for p in missing], [self.vector])
        with self._lock:
            if len(self._payloads) + len(records) > self._cache_size:
                self._cache.clear()
                self._payloads.clear()
            for record in records:
                product = str(record.payload.get("product_id"))
                self._payloads[product] = dict(record.payload)
                if self.vector in record.vectors:
                    self._cache[product] = record.vectors[self.vector]

    def __call__(self, product_ids: Sequence[str]) -> dict[str, np.ndarray]:
        self._fetch(product_ids)
        cache = self._cache
        return {p: cache[p] for p in product_ids if p in cache}

    def payloads(self, product_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The stored payloads of the products that exist in the collection."""
        self._fetch(product_ids)
        stored = self._payloads
        return {p: stored[p] for p in product_ids if p in stored}


def model_folder(settings: Settings, collection: str) -> Path:
    """Where `aisle train-personal` saves the ranker trained on a collection's events."""
    return settings.models_dir / PERSONAL_MODELS / f"events-{collection}"


def blend_path(settings: Settings, collection: str) -> Path:
    """Where `aisle eval personal-search` saves the blend it learnt for a collection."""
    return settings.models_dir / PERSONAL_MODELS / f"blend-{collection}.json"


def blend_table(settings: Settings, collection: str) -> BlendTable:
    """The blend learnt for this collection, else the default table (learnt on Myntra)."""
    path = blend_path(settings, collection)
    if path.is_file():
        try:
            return BlendTable.load(path)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("cannot read the learnt blend %s (%s); using the default", path, exc)
    return DEFAULT_TABLE


def taste_fields(index: ProductIndex) -> list[str]:
    """The collection's keyword attributes (not ids): what a shopper's taste is read in."""
    fields = index.metadata().get("filter_fields", {})
    return [f for f, kind in fields.items() if kind == "keyword" and f not in NOT_TASTE]


def default_personalizer(index: ProductIndex, settings: Settings) -> Any:
    """The pipeline's personalizer (None when disabled)."""
    return make_personalizer(index, settings) if settings.personalize else None


def make_personalizer(
    index: ProductIndex, settings: Settings, *, store: EventStore | None = None, blend: BlendTable | None = None
) -> Personalizer:
    """A personalizer over `index`, reading `store` (default: AISLE_HOME's event store) and weighing by `blend`
    (default: the collection's learnt table). Its scorer is chosen on the first search that has a shopper: most
    searches have none, and opening a pipeline should not load (or warn about) a trained model."""
    from aisle.personal.personalizer import Personalizer

    vectors = IndexVectors(index)
    return Personalizer(
        LazyScorer(lambda: personal_scorer(vectors, index.name, settings)),
        vectors,
        settings=settings,
        store=store,
        payloads=vectors.payloads,
        fields=taste_fields(index),
        blend=blend or blend_table(settings, index.name),
    )


def personal_scorer(vectors: IndexVectors, collection: str, settings: Settings) -> Any:
    """The trained sequential ranker for this collection when there is one whose vectors match the
    collection's, else the content-profile scorer (no training needed)."""
    from aisle.personal.personalizer import ContentProfileScorer, SequentialScorer

    folder = model_folder(settings, collection)
    if (folder / "manifest.json").is_file():
        try:
            from aisle.personal.train import load_model

            personal = load_model(folder)
            if personal.manifest.get("content_space") == vectors.space():
                return SequentialScorer(personal)
            log.warning("personal model %s was trained on other vectors; using the content profile", folder)
        except (OSError, ValueError, KeyError, RuntimeError) as exc:
            log.warning("cannot load the personal model in %s (%s); using the content profile", folder, exc)
    return ContentProfileScorer()


class LazyScorer:
    """A PersonalScorer made by `choose()` on its first use (once, also under concurrent searches)."""

    def __init__(self, choose: Callable[[], Any]) -> None:
        self._choose = choose
        self._scorer: Any = None
        self._lock = threading.Lock()

    @property
    def scorer(self) -> Any:
        """The chosen scorer (chosen now if no search has needed it yet)."""
        if self._scorer is None:
            with self._lock:
                if self._scorer is None:
                    self._scorer = self._choose()
        return self._scorer

    @property
    def chosen(self) -> bool:
        return self._scorer is not None

    @property
    def name(self) -> str:
        return str(self._scorer.name) if self._scorer is not None else "not chosen yet"

    def score(
        self,
        history: Sequence[str],
        history_vectors: np.ndarray,
        history_weights: np.ndarray,
        candidates: Sequence[str],
        candidate_vectors: np.ndarray,
    ) -> np.ndarray:
        return np.asarray(self.scorer.score(history, history_vectors, history_weights, candidates, candidate_vectors))
