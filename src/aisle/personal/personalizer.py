"""The search-time personal step: re-order the top relevance candidates by the shopper's history.

It re-orders the pool it is given, never adds: the top `personal_candidates` hits (by relevance, plus what the
pipeline's personalised retrieval appended to them, see `SearchPipeline.personal_pool`) get
`score = relevance_norm + w_taste * taste + w_vector * vector`, where relevance is min-max normalised within
those hits, `taste` is the history's attribute lift (`aisle.personal.taste`, fields the query named left out)
and `vector` the trained sequential ranker's score (when one matches the catalogue's vectors) or the cosine
to the history's content profile, centred and divided by its range. The weights come from a `BlendTable`
learnt per history length and query specificity. Hits below them keep their order underneath. A shopper with
no history (cold start), or a search that asks for no personalisation, gets the non-personal order unchanged.
The history is read from the event store on every search, so an event sent a moment ago counts at once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from aisle.config import Settings, get_settings
from aisle.personal.blend import DEFAULT_TABLE, BlendTable, BlendWeights
from aisle.personal.events import EventStore
from aisle.personal.reasons import reason
from aisle.personal.taste import TasteProfile, field_values
from aisle.types import BehaviourEvent, EventType

log = logging.getLogger(__name__)
HISTORY_LIMIT = 50
# how much one event says about taste, by type (for the content profile)
EVENT_WEIGHTS = {EventType.VIEW: 1.0, EventType.CLICK: 1.5, EventType.ADD_TO_CART: 2.5, EventType.PURCHASE: 3.0}
HALF_LIFE = 10.0  # in events: the 10th most recent counts half as much as the latest
Vectors = Callable[[Sequence[str]], dict[str, np.ndarray]]
Payloads = Callable[[Sequence[str]], Mapping[str, Mapping[str, Any]]]


class HistorySource(Protocol):
    """Where histories come from: the event store, or (in an evaluation of logged searches) the store as it
    was at one moment."""

    def history(self, user: str, limit: int = 50) -> list[BehaviourEvent]: ...


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

    def __init__(self, half_life: float = HALF_LIFE) -> None:
        self.half_life = half_life

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
    """The trained SASRec-style ranker (`aisle.personal.train.PersonalModel`)."""

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


def _has_all(hit: Mapping[str, Any], named: Mapping[str, str]) -> bool:
    """The hit has each named value (a list-valued field, such as a category path, may hold it)."""
    attributes = hit.get("attributes") if isinstance(hit.get("attributes"), Mapping) else {}
    for name, wanted in named.items():
        value = hit.get(name, attributes.get(name))  # type: ignore[union-attr]
        if not (value == wanted or (isinstance(value, list | tuple) and wanted in value)):
            return False
    return True


def _centred(x: np.ndarray) -> np.ndarray:
    """x minus its mean, divided by its range: a scorer's own scale (cosines, logits) does not matter."""
    spread = float(x.max() - x.min()) if x.size else 0.0
    return (x - x.mean()) / spread if spread > 0 else np.zeros_like(x)


@dataclass(frozen=True, slots=True)
class PersonalSignals:
    """What the personal step knows about one search's top candidates (arrays in the candidates' order)."""

    relevance: np.ndarray  # min-max within the candidates
    taste: np.ndarray  # attribute log-lift, fields weighted by how far the history departs from the pool
    vector: np.ndarray  # sequential or content-profile score, centred, over its range
    events: int  # history events with a known product
    named: int  # attributes the query named
    skip: frozenset[str]  # fields the query fixed
    matches: np.ndarray  # has every attribute the query named: only those may be lifted
    history: list[tuple[EventType, dict[str, str]]]
    values: list[dict[str, str]]  # each candidate's attribute values

    def personal(self, weights: BlendWeights) -> np.ndarray:
        """The history's part of each score. A hit without what the query named gets no more of it than the
        least favoured hit that has it: "watches" for a shopper of women's shirts lifts women's watches, and
        the shirts in the pool never rise past any watch on taste."""
        lift = weights.taste * self.taste + weights.vector * self.vector
        if self.matches.any() and not self.matches.all():
            lift = np.where(self.matches, lift, np.minimum(lift, lift[self.matches].min()))
        return lift

    def blended(self, weights: BlendWeights) -> np.ndarray:
        return self.relevance + self.personal(weights)


class Personalizer:
    """A Ranker (`rerank(query, hits, user)`) for the SearchPipeline, after the relevance ranker."""

    name = "personal"

    def __init__(
        self,
        scorer: PersonalScorer,
        vectors: Vectors,
        *,
        settings: Settings | None = None,
        store: HistorySource | None = None,
        payloads: Payloads | None = None,
        fields: Sequence[str] = (),
        blend: BlendTable | None = None,
    ) -> None:
        self.scorer = scorer
        self.vectors = vectors
        self.settings = settings or get_settings()
        self.payloads = payloads  # product id -> stored payload, for the history's attributes
        self.fields = tuple(fields)  # the attribute fields the taste profile reads
        self.blend = blend or DEFAULT_TABLE
        self._store = store
        self._lock = threading.Lock()

    @property
    def store(self) -> HistorySource:
        with self._lock:
            if self._store is None:
                self._store = EventStore.open(self.settings)
            return self._store

    @store.setter
    def store(self, source: HistorySource) -> None:
        with self._lock:
            self._store = source

    def signals(
        self, hits: Sequence[Mapping[str, Any]], user: str, *, fixed: Mapping[str, str] | None = None, named: int = 0
    ) -> PersonalSignals | None:
        """The personal signals for `hits` (the candidates to re-order); None without a usable history."""
        history = self.store.history(user, HISTORY_LIMIT)
        if not history or len(hits) < 2:
            return None
        ids = [str(h["id"]) for h in hits]
        vectors = self.vectors([e.product_id for e in history] + ids)
        stored = self.payloads([e.product_id for e in history]) if self.payloads and self.fields else {}
        known = [e for e in history if e.product_id in vectors or e.product_id in stored]
        if not known:
            return None
        decay = 0.5 ** (np.arange(len(known))[::-1] / HALF_LIFE)
        weights = decay * np.array([EVENT_WEIGHTS.get(e.type, 1.0) for e in known])
        seen = [field_values(stored.get(e.product_id, {}), self.fields) for e in known]
        values = [field_values(h, self.fields) for h in hits]
        profile = TasteProfile.build(seen, weights.tolist())
        fixed = fixed or {}
        skip = frozenset(fixed)
        return PersonalSignals(
            relevance=_minmax(np.array([float(h["score"]) for h in hits], dtype=np.float64)),
            taste=profile.lifts(values, skip),
            vector=_centred(self._vector_scores(known, ids, vectors, weights)),
            events=len(known),
            named=named,
            skip=skip,
            matches=np.array([_has_all(h, fixed) for h in hits], dtype=bool),
            history=[(e.type, v) for e, v in zip(known, seen, strict=True)],
            values=values,
        )

    def _vector_scores(
        self, known: Sequence[Any], ids: Sequence[str], vectors: Mapping[str, np.ndarray], weights: np.ndarray
    ) -> np.ndarray:
        with_vector = [i for i, e in enumerate(known) if e.product_id in vectors]
        if not with_vector or not vectors:
            return np.zeros(len(ids))
        dim = len(next(iter(vectors.values())))
        scores = self.scorer.score(
            [known[i].product_id for i in with_vector],
            np.stack([vectors[known[i].product_id] for i in with_vector]),
            np.array([EVENT_WEIGHTS.get(known[i].type, 1.0) for i in with_vector], dtype=np.float32),
            ids,
            np.stack([vectors.get(p, np.zeros(dim, dtype=np.float32)) for p in ids]),
        )
        return np.asarray(scores, dtype=np.float64)

    def _weights(self, events: int, named: int) -> BlendWeights:
        """The learnt blend's weights for this search, times the operator's `personal_weight` dial."""
        learnt, dial = self.blend.weights(events, named), self.settings.personal_weight
        return BlendWeights(learnt.taste * dial, learnt.vector * dial)

    def profile_vector(self, user: str, named: int = 0) -> np.ndarray | None:
        """The unit, recency- and event-weighted mean of the history's vectors, for a personalised retrieval
        that brings candidates of the shopper's kind into the pool (an ambiguous "shoes" whose first stage
        holds 7 women's shoes among 100); None when the blend would not move this search at all."""
        history = self.store.history(user, HISTORY_LIMIT)
        vectors = self.vectors([e.product_id for e in history]) if history else {}
        known = [e for e in history if e.product_id in vectors]
        weights = self._weights(len(known), named)
        if not known or weights.taste + weights.vector <= 0:
            return None
        decay = 0.5 ** (np.arange(len(known))[::-1] / HALF_LIFE)
        strength = decay * np.array([EVENT_WEIGHTS.get(e.type, 1.0) for e in known])
        profile = (strength[:, None] * _unit(np.stack([vectors[e.product_id] for e in known]))).sum(axis=0)
        return _unit(profile[None, :])[0]

    def rerank(
        self,
        query: str,
        hits: Sequence[dict[str, Any]],
        user: str | None = None,
        *,
        fixed: Mapping[str, str] | None = None,
        named: int = 0,
        pool: int | None = None,
    ) -> list[dict[str, Any]]:
        """The hits re-ordered by the history; `fixed`: the attributes the query named (field -> value),
        `named`: how many it named (both from query understanding); `pool`: how many of the first hits to re-order
        (default `personal_candidates`)."""
        hits = list(hits)
        if not user:
            return hits
        k = min(len(hits), pool or self.settings.personal_candidates)
        head, tail = hits[:k], hits[k:]
        signals = self.signals(head, user, fixed=fixed, named=named)
        if signals is None:
            return hits  # cold start: the non-personal order
        weights = self._weights(signals.events, named)
        scores = signals.blended(weights)
        personal = signals.personal(weights)
        reordered = []
        for i, hit in enumerate(head):
            # the score it came in with is kept under its own name: "relevance" is the cross-encoder's logit
            explained = {
                **(hit.get("scores") or {}),
                "before_personal": float(hit["score"]),
                "personal": round(float(personal[i]), 6),
            }
            moved = {**hit, "score": float(scores[i]), "scores": explained}
            why = reason(signals.values[i], signals.history, signals.skip) if personal[i] > 0 else None
            if why:
                moved["personal_reason"] = why
            reordered.append(moved)
        reordered.sort(key=lambda h: h["score"], reverse=True)
        # hits below the pool keep their order and relevance spacing, under the pool's lowest blended score
        relevance = np.array([float(h["score"]) for h in head], dtype=np.float64)
        low, high = float(relevance.min()), float(relevance.max())
        floor = float(scores.min())
        below = [{**h, "score": floor + float(_minmax(np.array([float(h["score"])]), low, high)[0])} for h in tail]
        return reordered + below
