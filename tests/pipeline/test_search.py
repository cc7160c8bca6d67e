"""Search through the pipeline: modes, filters, facets, fusion checked against ranx, bad queries."""

from __future__ import annotations

import io
from collections import Counter
from typing import Any

import pytest

from aisle.index.engine import Retrieval
from aisle.index.fusion import rrf_scores
from aisle.index.schema import BM25, TEXT
from aisle.pipeline.request import QueryError, SearchRequest
from aisle.types import Product


def ids(response: Any) -> list[str]:
    return [hit["id"] for hit in response.results]


@pytest.mark.parametrize("mode", ["bm25", "dense", "image", "hybrid"])
def test_every_mode_answers_with_the_contract(pipeline: Any, mode: str) -> None:
    response = pipeline.search(SearchRequest(query="red shirts for men", mode=mode, top_k=5)).to_json()
    assert set(response) >= {"query", "results", "timings_ms"}
    assert 0 < len(response["results"]) <= 5
    for hit in response["results"]:
        assert isinstance(hit["id"], str) and isinstance(hit["score"], float) and hit["title"]
        assert "content_hash" not in hit
    assert response["timings_ms"]["total"] > 0 and "retrieve" in response["timings_ms"]


def test_text_retrievers_find_the_named_product(pipeline: Any, catalogue: list[Product]) -> None:
    from aisle.pipeline.search import SearchPipeline

    target = next(p for p in catalogue if p.title == "Zenith Women Blue Watches")
    for mode in ("bm25", "dense"):
        assert ids(pipeline.search(SearchRequest(query="Zenith Women Blue Watches", mode=mode)))[0] == target.id
    # the tiny test CLIP has random weights: its image retriever is noise, so weigh it out of the fusion here
    weights = {**pipeline.settings.hybrid_weights, "image": 0.0}
    text_only = SearchPipeline(
        pipeline.index, pipeline.encoders, settings=pipeline.settings.model_copy(update={"hybrid_weights": weights})
    )
    assert ids(text_only.search(SearchRequest(query="Zenith Women Blue Watches")))[0] == target.id


def test_recognised_attributes_are_reported_and_boosted(pipeline: Any) -> None:
    response = pipeline.search(SearchRequest(query="black jeans for women", top_k=3))
    assert response.understood == {"colour": "Black", "article_type": "Jeans", "category": "Jeans", "gender": "Women"}
    assert all(h["colour"] == "Black" and h["article_type"] == "Jeans" for h in response.results[:1])
    top = response.results[0]
    assert top["gender"] == "Women" and top["scores"]["matched_attributes"] == 4


def test_filters_apply_inside_every_retriever(pipeline: Any, catalogue: list[Product]) -> None:
    for mode in ("bm25", "dense", "image", "hybrid"):
        response = pipeline.search(SearchRequest(query="shirts", mode=mode, filters={"colour": "Blue"}, top_k=50))
        assert response.results and all(h["colour"] == "Blue" for h in response.results)
    priced = pipeline.search(SearchRequest(query="watches", filters={"price": "20..60"}, top_k=50))
    assert priced.results and all(20 <= h["price"] <= 60 for h in priced.results)
    either = pipeline.search(SearchRequest(query="jeans", filters={"colour": ["Red", "Black"]}, top_k=50))
    assert {h["colour"] for h in either.results} == {"Red", "Black"}


def test_price_phrases_become_a_price_filter(pipeline: Any) -> None:
    response = pipeline.search(SearchRequest(query="watches under 40", top_k=50))
    assert response.understood["price"] == {"min": None, "max": 40.0}
    assert response.results and all(h["price"] <= 40 for h in response.results)


def test_facets_count_the_catalogue(pipeline: Any, catalogue: list[Product]) -> None:
    facets = pipeline.index.facets(["colour", "gender"])
    assert dict(facets["colour"]) == Counter(p.attributes["colour"] for p in catalogue)
    assert dict(facets["gender"]) == Counter(p.attributes["gender"] for p in catalogue)


def test_search_by_photo_finds_that_colour(pipeline: Any, catalogue: list[Product]) -> None:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (80, 80), (200, 30, 30)).save(buffer, format="PNG")
    response = pipeline.search(SearchRequest(image=buffer.getvalue(), mode="image", top_k=8))
    assert {h["colour"] for h in response.results} == {"Red"}  # the same pixels as the red products' photos


def test_explain_gives_each_retrievers_score(pipeline: Any) -> None:
    response = pipeline.search(SearchRequest(query="blue jeans", explain=True, top_k=3))
    for hit in response.results:
        assert {"bm25", "text", "image"} <= set(hit["scores"])


class FakeScoreReadingRanker:
    """A fake relevance ranker that, like the real one, asks for each retriever's score of its top K and
    reverses their order."""

    wants_retriever_scores = True
    top_k = 6

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []

    def rerank(self, query: str, hits: list[dict[str, Any]], user: str | None = None) -> list[dict[str, Any]]:
        self.seen = [dict(h["scores"]) for h in hits[: self.top_k]]
        return hits[: self.top_k][::-1] + hits[self.top_k :]


def test_a_ranker_and_explain_share_one_score_lookup(
    shared_engine: Any, ingested: str, search_settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aisle.pipeline.search import SearchPipeline

    ranker = FakeScoreReadingRanker()
    pipeline = SearchPipeline.open(ingested, search_settings, engine=shared_engine, ranker=ranker, personalizer=None)
    lookups = []
    original = shared_engine.scores
    monkeypatch.setattr(shared_engine, "scores", lambda *a, **kw: lookups.append(1) or original(*a, **kw))
    response = pipeline.search(SearchRequest(query="blue jeans", explain=True, top_k=4))
    assert all({"bm25", "text", "image"} <= set(scores) for scores in ranker.seen)
    assert len(response.results) == 4
    for hit in response.results:
        assert {"bm25", "text", "image"} <= set(hit["scores"])
    assert len(lookups) == 1  # the ranker's top K already hold every returned hit: no second lookup

    lookups.clear()
    wide = pipeline.search(SearchRequest(query="blue jeans", explain=True, top_k=10))
    for hit in wide.results:  # hits beyond the ranker's K are looked up too, once
        assert {"bm25", "text", "image"} <= set(hit["scores"])
    assert len(lookups) == 2


def test_server_side_rrf_matches_ranx(pipeline: Any) -> None:
    from ranx import Run, fuse

    engine, name, k = pipeline.index.engine, pipeline.index.name, 60
    encoders = pipeline.encoders
    query = "acme casual shoes"
    retrievals = [
        Retrieval(BM25, encoders.sparse.encode_queries([query])[0]),
        Retrieval(TEXT, encoders.text.encode_queries([query])[0]),
    ]
    single = [engine.query(name, [r], limit=20) for r in retrievals]
    fused = engine.query(name, retrievals, limit=20, prefetch_limit=20, rrf_k=k)
    runs = [Run({"q": {str(p.id): float(p.score) for p in points}}) for points in single]
    expected = fuse(runs, method="rrf", params={"k": k - 1}).to_dict()["q"]  # Qdrant's k is ranx's k + 1
    got = {str(p.id): p.score for p in fused}
    assert got.keys() == expected.keys()
    for point_id, score in got.items():
        assert score == pytest.approx(expected[point_id], rel=1e-6)
    ours = rrf_scores([[str(p.id) for p in points] for points in single], k=k)
    assert ours == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (SearchRequest(query=""), "empty query"),
        (SearchRequest(query="   "), "empty query"),
        (SearchRequest(query="x" * 100_000), "limit is"),
        (SearchRequest(query="\x00\x01\x02binary\x03\x04"), "binary"),
        (SearchRequest(query="shirts", filters={"fabric": "silk"}), "unknown filter field 'fabric'"),
        (SearchRequest(query="shirts", filters={"price": "cheap"}), "bad value for filter 'price'"),
        (SearchRequest(image=b"this is not a picture", mode="image"), "not a readable image"),
        (SearchRequest(query="shirts", mode="semantic"), "unknown mode"),  # type: ignore[arg-type]
        (SearchRequest(query="shirts", top_k=0), "top_k"),
    ],
)
def test_bad_queries_get_clear_errors(pipeline: Any, request_: SearchRequest, message: str) -> None:
    with pytest.raises(QueryError, match=message):
        pipeline.search(request_)
    assert pipeline.search(SearchRequest(query="shirts")).results  # and the pipeline keeps serving


def test_repeated_queries_hit_the_embedding_cache(pipeline: Any) -> None:
    pipeline.search(SearchRequest(query="zenith red watches"))
    hits = pipeline._cache.hits
    pipeline.search(SearchRequest(query="zenith red watches"))
    assert pipeline._cache.hits >= hits + 3  # sparse, text and CLIP text vectors all reused


def test_attribute_boost_comes_back_on_the_rankers_scale() -> None:
    from aisle.pipeline.search import restore_attribute_boost

    def hit(pid: str, score: float, matched: int) -> dict[str, Any]:
        return {"id": pid, "score": score, "scores": {"matched_attributes": matched}}

    ranked = [hit("a", 3.0, 0), hit("b", 2.5, 2), hit("c", 1.0, 1), {"id": "d", "score": -1.0}]
    out = restore_attribute_boost([dict(h) for h in ranked], wanted=2, boost=0.5)
    assert [h["id"] for h in out] == ["b", "a", "c", "d"]  # b: 2.5 + 0.5 * 1.0 * 4.0 = 4.5 passes a
    assert [h["score"] for h in out] == [4.5, 3.0, 2.0, -1.0]  # c: + 0.5 * 0.5 * 4.0; d has no match
    same = [hit("a", 1.0, 0), hit("b", 1.0, 2)]  # no spread to scale by: the ranker's order stands
    assert [h["id"] for h in restore_attribute_boost(same, wanted=2, boost=0.5)] == ["a", "b"]
