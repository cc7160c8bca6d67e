"""The search-time personal step: re-order the top relevance candidates by the shopper's history.

It only re-orders, never adds: the top `personal_candidates` hits (by relevance) get
`score = relevance_norm + w * personal_norm` (both min-max normalised within those hits, w =
`personal_weight` in [0, 1]); hits below them keep their order underneath. A shopper with no history
(cold start) gets the non-personal order unchanged. Personal scores come from the trained sequential
ranker when one matches the catalogue's vectors, else from a content profile of the history.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np

from aisle.config import Settings, get_settings
from aisle.ranking.events import EventStore
from aisle.types import EventType

log = logging.getLogger(__name__)
HISTORY_LIMIT = 50
# how much one event says about taste, by type (for the content profile)
EVENT_WEIGHTS = {EventType.VIEW: 1.0, EventType.CLICK: 1.5, EventType.ADD_TO_CART: 2.5, EventType.PURCHASE: 3.0}
Vectors = Callable[[Sequence[str]], dict[str, np.ndarray]]


class PersonalScorer(Protocol):
    @property
    def name(self) -> str: ...

    def score(
        self,
        history: Sequence[str],
        history_vectors: np.ndarray,
        history_weights: np.ndarray,
        candidates: Sequence[str],
        candidate_vectors: np.ndarray,
    ) -> np.ndarray: ...


class ContentProfileScorer:
    """Cosine between each candidate and the history's weighted, recency-decayed mean vector (no training)."""

    name = "content-profile"

    def __init__(self, half_life: float = 10.0) -> None:
        self.half_life = half_life  # in events: the 10th most recent counts half as much as the latest

    def score(
        self,
        history: Sequence[str],
        history_vectors: np.ndarray,
        history_weights: np.ndarray,
        candidates: Sequence[str],
        candidate_vectors: np.ndarray,
    ) -> np.ndarray:
        n = len(history_vectors)
        decay = 0.5 ** (np.arange(n)[::-1] / self.half_life)
        profile = ((decay * history_weights)[:, None] * _unit(history_vectors)).sum(axis=0)
        return _unit(candidate_vectors) @ _unit(profile[None, :])[0]


class SequentialScorer:
    """The trained SASRec-style ranker (`aisle.ranking.personal_train.PersonalModel`)."""

    name = "sasrec"

    def __init__(self, personal: Any) -> None:
        self.personal = personal

    def score(
        self,
        history: Sequence[str],
        history_vectors: np.ndarray,
        history_weights: np.ndarray,
        candidates: Sequence[str],
        candidate_vectors: np.ndarray,
    ) -> np.ndarray:
        return self.personal.score(history, history_vectors, candidates, candidate_vectors)


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def _minmax(x: np.ndarray, low: float | None = None, high: float | None = None) -> np.ndarray:
    low = float(x.min()) if low is None else low
    high = float(x.max()) if high is None else high
    return (x - low) / (high - low) if high > low else np.zeros_like(x)


def blend(relevance: np.ndarray, personal: np.ndarray, weight: float) -> np.ndarray:
    """relevance_norm + weight * personal_norm (min-max within the re-ordered candidates)."""
    return _minmax(relevance) + weight * _minmax(personal)


class Personalizer:
    """A Ranker (`rerank(query, hits, user)`) for the SearchPipeline, after the relevance ranker."""

    name = "personal"

    def __init__(
        self,
        scorer: PersonalScorer,
        vectors: Vectors,
        *,
        settings: Settings | None = None,
        store: EventStore | None = None,
    ) -> None:
        self.scorer = scorer
        self.vectors = vectors
        self.settings = settings or get_settings()
        self._store = store
        self._lock = threading.Lock()

    @property
    def store(self) -> EventStore:
        with self._lock:
            if self._store is None:
                self._store = EventStore.open(self.settings)
            return self._store

    def rerank(self, query: str, hits: Sequence[dict[str, Any]], user: str | None = None) -> list[dict[str, Any]]:
        hits = list(hits)
        if not user or len(hits) < 2:
            return hits
        history = self.store.history(user, HISTORY_LIMIT)
        if not history:
            return hits  # cold start: the non-personal order
        k = min(len(hits), self.settings.personal_candidates)
        head, tail = hits[:k], hits[k:]
        vectors = self.vectors([e.product_id for e in history] + [h["id"] for h in head])
        known = [e for e in history if e.product_id in vectors]
        if not known:
            return hits
        dim = len(next(iter(vectors.values())))
        personal = self.scorer.score(
            [e.product_id for e in known],
            np.stack([vectors[e.product_id] for e in known]),
            np.array([EVENT_WEIGHTS.get(e.type, 1.0) for e in known], dtype=np.float32),
            [h["id"] for h in head],
            np.stack([vectors.get(h["id"], np.zeros(dim, dtype=np.float32)) for h in head]),
        )
        relevance = np.array([float(h["score"]) for h in head], dtype=np.float64)
        scores = blend(relevance, np.asarray(personal, dtype=np.float64), self.settings.personal_weight)
        reordered = []
        for hit, score, p in zip(head, scores, personal, strict=True):
            # the score it came in with is kept under its own name: "relevance" is the cross-encoder's logit
            explained = {
                **(hit.get("scores") or {}),
                "before_personal": float(hit["score"]),
                "personal": round(float(p), 6),
            }
            reordered.append({**hit, "score": float(score), "scores": explained})
        reordered.sort(key=lambda h: h["score"], reverse=True)
        low, high = float(relevance.min()), float(relevance.max())
        below = [{**h, "score": float(_minmax(np.array([float(h["score"])]), low, high)[0])} for h in tail]
        return reordered + below
