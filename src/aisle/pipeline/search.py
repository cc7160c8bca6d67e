"""SearchPipeline: encode -> retrieve (Qdrant prefetch per retriever) -> fuse (in Qdrant) -> boost -> rerank.

Everything a search does happens here, for the CLI, the REST API, the assistant and the evaluation alike.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from aisle.config import Settings, get_settings
from aisle.encoders import EncoderError
from aisle.index.client import open_engine
from aisle.index.collection import ProductIndex
from aisle.index.engine import Boost, IndexHit, Retrieval
from aisle.index.filters import Filter, build_filter
from aisle.index.schema import BM25, CLIP_TEXT, IMAGE, TEXT
from aisle.personal.base import PersonalRanker
from aisle.pipeline.cache import LruCache
from aisle.pipeline.encoders import EncoderSet
from aisle.pipeline.request import QueryError, SearchRequest, SearchResponse, validate
from aisle.pipeline.understanding import MAX_VALUES_PER_FIELD, QueryUnderstanding, Understood
from aisle.rerank.base import Ranker

T = TypeVar("T")
_HIDDEN_PAYLOAD = ("content_hash", "product_id")
_NOT_VOCABULARY = ("product_id", "currency")
PERSONAL_EXTRA = 50  # candidates a personalised retrieval may add to the personal step's pool
PROFILE_PULL = 0.5  # how far that retrieval's query vector moves towards the shopper's profile


class SearchPipeline:
    def __init__(
        self,
        index: ProductIndex,
        encoders: EncoderSet,
        *,
        settings: Settings | None = None,
        understanding: QueryUnderstanding | None = None,
        ranker: Ranker | None = None,
        personalizer: PersonalRanker | None = None,
    ) -> None:
        self.index = index
        self.encoders = encoders
        self.settings = settings or get_settings()
        self.ranker = ranker
        self.personalizer = personalizer  # after the ranker, only with a user (see personal_pool)
        meta = index.metadata()
        index.verify(encoders.layout, meta)
        self.filter_fields: dict[str, str] = dict(meta.get("filter_fields", {}))
        self._cache: LruCache[Any] = LruCache(self.settings.query_cache_size)
        self._understanding = understanding
        self._price_filterable: bool | None = None

    @classmethod
    def open(cls, collection: str | None = None, settings: Settings | None = None, **kwargs: Any) -> SearchPipeline:
        """The pipeline for a stored collection, with the encoders it was built with."""
        settings = settings or get_settings()
        index = ProductIndex(kwargs.pop("engine", None) or open_engine(settings), collection or settings.collection)
        encoders = EncoderSet.build(index.metadata()["encoder_options"], settings.encoder_backend)
        if "ranker" not in kwargs:  # the trained relevance ranker, when there is one (Settings.ranker_model)
            from aisle.rerank.relevance import default_ranker

            kwargs["ranker"] = default_ranker(settings)
        if "personalizer" not in kwargs:  # the shopper's history re-orders the top results (Settings.personalize)
            from aisle.pipeline.personal import default_personalizer

            kwargs["personalizer"] = default_personalizer(index, settings)
        return cls(index, encoders, settings=settings, **kwargs)

    # -- set-up ----------------------------------------------------------------------------------------------
    @property
    def understanding(self) -> QueryUnderstanding:
        """Built on first use from the collection's own facet values."""
        if self._understanding is None:
            fields = [f for f, kind in self.filter_fields.items() if kind == "keyword" and f not in _NOT_VOCABULARY]
            facets = self.index.facets(fields, limit=MAX_VALUES_PER_FIELD + 1)
            self._understanding = QueryUnderstanding({f: [v for v, _ in counts] for f, counts in facets.items()})
        return self._understanding

    @property
    def price_filterable(self) -> bool:
        if self._price_filterable is None:
            probe = build_filter({"price": (0.0, None)}, self.filter_fields)
            self._price_filterable = bool(self.index.count(probe))
        return self._price_filterable

    def warm_up(self) -> None:
        self.encoders.warm_up()
        _ = self.understanding, self.price_filterable
        self.search(SearchRequest(query="warm up", top_k=1))

    # -- search ----------------------------------------------------------------------------------------------
    def _cached(self, kind: str, text: str, compute: Callable[[], T]) -> T:
        return self._cache.get_or_compute((kind, text), compute)

    def _retrievals(self, text: str, request: SearchRequest, timings: dict[str, float]) -> list[Retrieval]:
        weights = self.settings.hybrid_weights
        encoders = self.encoders
        mode = request.mode
        out: list[Retrieval] = []

        def timed(stage: str, fn: Callable[[], T]) -> T:
            started = time.perf_counter()
            value = fn()
            timings[stage] = timings.get(stage, 0.0) + (time.perf_counter() - started) * 1000
            return value

        if text and mode in ("bm25", "hybrid"):
            vector = timed(
                "encode_sparse", lambda: self._cached(BM25, text, lambda: encoders.sparse.encode_queries([text])[0])
            )
            out.append(Retrieval(BM25, vector, weights.get(BM25, 1.0)))
        if text and mode in ("dense", "hybrid"):
            dense = timed(
                "encode_text", lambda: self._cached(TEXT, text, lambda: encoders.text.encode_queries([text])[0])
            )
            out.append(Retrieval(TEXT, dense, weights.get(TEXT, 1.0)))
        if mode in ("image", "hybrid") or request.image is not None:
            if encoders.clip_text is None or encoders.clip_image is None:
                if mode == "image" or request.image is not None:
                    raise QueryError(
                        f"collection {self.index.name!r} has no image vectors (ingest it with a CLIP model)"
                    )
            else:
                clip_text = encoders.clip_text
                if text and mode in ("image", "hybrid"):
                    vector = timed(
                        "encode_clip_text",
                        lambda: self._cached(CLIP_TEXT, text, lambda: clip_text.encode_queries([text])[0]),
                    )
                    out.append(Retrieval(IMAGE, vector, weights.get(IMAGE, 1.0) if mode == "hybrid" else 1.0))
                if request.image is not None:
                    photo = timed("encode_image", lambda: self._photo_vector(request.image))
                    out.append(Retrieval(IMAGE, photo, 1.0))
                    if mode == "hybrid":
                        out.append(Retrieval(CLIP_TEXT, photo, weights.get(CLIP_TEXT, 0.5)))
        return out

    def _photo_vector(self, image: Path | bytes | None) -> np.ndarray:
        from PIL import Image, UnidentifiedImageError

        assert self.encoders.clip_image is not None and image is not None
        try:
            if isinstance(image, bytes):
                with Image.open(io.BytesIO(image)) as opened:
                    picture = opened.convert("RGB")
                return self.encoders.clip_image.encode_images([picture])[0]
            return self.encoders.clip_image.encode_images([image])[0]
        except (UnidentifiedImageError, OSError, EncoderError) as exc:
            raise QueryError(f"the uploaded file is not a readable image: {exc}") from None

    def _filter(self, request: SearchRequest, understood: Understood) -> Filter | None:
        filters = dict(request.filters)
        if understood.price and "price" not in filters and self.price_filterable:
            filters["price"] = understood.price
        try:
            return build_filter(filters, self.filter_fields)
        except ValueError as exc:
            raise QueryError(str(exc)) from None

    def _boost(self, understood: Understood) -> Boost | None:
        """The attributes the query names, as the engine's boost: matching hits score higher."""
        return Boost(dict(understood.attributes), self.settings.attribute_boost) if understood.attributes else None

    def _hits(self, points: list[IndexHit], boost: Boost | None) -> list[dict[str, Any]]:
        """Hits best first (the engine applied `boost`; its parts are reported under `scores`)."""
        hits = []
        for point in points:
            payload = point.payload
            hit: dict[str, Any] = {"id": str(payload.get("product_id")), "score": point.score}
            hit.update({k: v for k, v in payload.items() if k not in _HIDDEN_PAYLOAD})
            if boost is not None:
                matched = boost.matched(payload)
                hit["scores"] = {"fused": point.score / boost.factor(matched), "matched_attributes": matched}
            hits.append(hit)
        # equal scores in id order: an engine's formula query may order ties differently from call to call
        hits.sort(key=lambda h: (-h["score"], h["id"]))
        return hits

    def _explain(self, hits: list[dict[str, Any]], retrievals: list[Retrieval], query_filter: Filter | None) -> None:
        """Each retriever's own score for each hit, for "why this result" and the ranker's features: one
        batched request restricted to these hits' points, not a second full retrieval."""
        from aisle.index.schema import point_id

        ids = [point_id(h["id"]) for h in hits]
        if not ids:
            return
        by_point = dict(zip(ids, hits, strict=True))
        answers = self.index.engine.scores(self.index.name, retrievals, ids, query_filter)
        for retrieval, answer in zip(retrievals, answers, strict=True):
            for pid, score in answer.items():
                hit = by_point.get(pid)
                if hit is not None:
                    hit.setdefault("scores", {})[retrieval.using] = round(score, 6)

    def personal_pool(
        self, text: str, hits: list[dict[str, Any]], request: SearchRequest, understood: Understood
    ) -> tuple[list[dict[str, Any]], int]:
        """The candidates the personal step re-orders, and how many: the first `personal_candidates` hits
        plus up to PERSONAL_EXTRA products found by the query's text vector moved towards the shopper's profile
        that have every attribute the query names (and pass its filters): "shoes" for a shopper of women's
        shoes, whose first stage holds 7 women's shoes among 100. They come in at the pool's lowest relevance:
        only the history can lift them."""
        k = min(len(hits), self.settings.personal_candidates)
        user = request.user
        if self.personalizer is None or not user or not text or self.encoders.text is None:
            return hits, k
        profile = self.personalizer.profile_vector(user, understood.named)
        if profile is None:
            return hits, k
        encoders = self.encoders
        query_vector = self._cached(TEXT, text, lambda: encoders.text.encode_queries([text])[0])
        towards = _unit(np.asarray(query_vector, dtype=np.float32)) + PROFILE_PULL * np.asarray(profile, np.float32)
        named = replace(request, filters={**understood.attributes, **request.filters})
        points = self.index.engine.query(
            self.index.name,
            [Retrieval(TEXT, _unit(towards), 1.0)],
            limit=PERSONAL_EXTRA,
            where=self._filter(named, understood),
            fusion="rrf",
            prefetch_limit=PERSONAL_EXTRA,
            rrf_k=self.settings.rrf_k,
        )
        head, tail = hits[:k], hits[k:]
        floor = min(float(h["score"]) for h in head)
        known = {h["id"] for h in hits}
        extra = [{**h, "score": floor} for h in self._hits(points, None) if h["id"] not in known]
        return head + extra + tail, k + len(extra)

    # -- what the assistant asks (aisle.assistant.catalog_port.ProductSearch) ---------------------------------
    def get(self, product_ids: Sequence[str]) -> list[dict[str, Any]]:
        """Stored products by id, in the order asked (unknown ids are left out)."""
        return self.index.get(product_ids)

    def facet_values(self, field: str, limit: int = 500) -> list[str]:
        """The catalogue's values of a keyword field, most common first."""
        return [str(v) for v, _ in self.index.facets([field], limit=limit).get(field, [])]

    def search(self, request: SearchRequest) -> SearchResponse:
        started = time.perf_counter()
        timings: dict[str, float] = {}
        text = validate(request)
        understood = self.understanding.parse(text) if text else Understood()
        query_filter = self._filter(request, understood)
        retrievals = self._retrievals(understood.text if understood.price else text, request, timings)
        retrieve_started = time.perf_counter()
        personal = self.personalizer is not None and bool(request.user) and request.personalize
        wide = self.ranker or personal  # they re-order the first stage's candidates: fetch them all
        candidates = max(request.top_k, self.settings.prefetch_limit if wide else 0)
        boost = self._boost(understood)
        points = self.index.engine.query(
            self.index.name,
            retrievals,
            limit=candidates,
            where=query_filter,
            fusion=request.fusion,
            prefetch_limit=max(self.settings.prefetch_limit, request.top_k),
            rrf_k=self.settings.rrf_k,
            boost=boost,
        )
        timings["retrieve"] = (time.perf_counter() - retrieve_started) * 1000
        hits = self._hits(points, boost)
        explained: set[str] = set()  # hits that already carry each retriever's own score
        if self.ranker is not None and request.rerank and hits:
            rerank_started = time.perf_counter()
            if getattr(self.ranker, "wants_retriever_scores", False):  # its features: each retriever's own score
                top = hits[: getattr(self.ranker, "top_k", len(hits))]
                self._explain(top, retrievals, query_filter)
                explained = {h["id"] for h in top}
            hits = self.ranker.rerank(text, hits, request.user)
            if understood.attributes:
                hits = restore_attribute_boost(hits, len(understood.attributes), self.settings.attribute_boost)
            timings["rerank"] = (time.perf_counter() - rerank_started) * 1000
        if personal and hits and self.personalizer is not None and request.user:
            personal_started = time.perf_counter()
            hits, pool = self.personal_pool(text, hits, request, understood)
            fixed = understood.attributes
            hits = self.personalizer.rerank(text, hits, request.user, fixed=fixed, named=understood.named, pool=pool)
            timings["personalize"] = (time.perf_counter() - personal_started) * 1000
        hits = hits[: request.top_k]
        if request.explain:
            self._explain([h for h in hits if h["id"] not in explained], retrievals, query_filter)
        timings["total"] = (time.perf_counter() - started) * 1000
        return SearchResponse(
            query=request.query,
            results=hits,
            timings_ms={k: round(v, 3) for k, v in timings.items()},
            understood=understood.to_json(),
        )


def _unit(x: np.ndarray) -> np.ndarray:
    return x / max(float(np.linalg.norm(x)), 1e-12)


def restore_attribute_boost(hits: list[dict[str, Any]], wanted: int, boost: float) -> list[dict[str, Any]]:
    """A ranker re-scores from text alone, dropping the boost for the attributes the query names. Add it back
    on the ranker's scale: + boost * matched share * the hits' score range, so a full match moves a hit by
    `boost` of the range as the first stage's (1 + boost * share) moves it by `boost` of its own score."""
    scores = [float(h["score"]) for h in hits]
    spread = max(scores) - min(scores) if scores else 0.0
    if wanted < 1 or spread <= 0.0:
        return hits
    for hit in hits:
        share = float((hit.get("scores") or {}).get("matched_attributes", 0)) / wanted
        hit["score"] = float(hit["score"]) + boost * share * spread
    return sorted(hits, key=lambda h: h["score"], reverse=True)
