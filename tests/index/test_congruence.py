"""Congruence: the same collection and queries on both engines (Qdrant Edge, and the server backend over
qdrant-client's local mode) give the same answers, as qdrant-client's own congruence tests compare its local
mode with a server.

How ties are allowed to differ: two engines may order points of equal score differently, and cut a run of
equal scores at the limit at different points. So top-k lists are compared as {id: score}: every id both
return must have the same score (to 1e-4), and an id only one returns must score the same as the other's
last (k-th) hit, that is, it tied at the cut. Dense results are also checked against exact numpy search.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest

from aisle.index.engine import Boost, CollectionSpec, Engine, IndexHit, Retrieval, StoredPoint
from aisle.index.filters import Filter, Match, build_filter
from aisle.index.fusion import rrf_scores
from aisle.types import SparseVector
from tests.engines import fresh_edge, local_mode

N, DIM, VOCAB = 400, 16, 60
FIELDS = {"colour": "keyword", "category": "keyword", "price": "float", "in_stock": "bool"}
COLOURS = ["red", "blue", "green", "black", "white"]
CATEGORIES = ["shirts", "shoes", "bags", "watches"]


def _sparse(rng: np.random.Generator, terms: int) -> SparseVector:
    indices = sorted(int(i) for i in rng.choice(VOCAB, size=terms, replace=False))
    # real-valued weights: integer term counts tie often, and engines may order ties differently, which
    # changes the ranks that fusion sees (tie handling itself is covered by assert_same_top)
    return SparseVector(tuple(indices), tuple(float(v) for v in rng.uniform(0.5, 3.0, size=terms)))


def _points() -> list[StoredPoint]:
    rng = np.random.default_rng(7)
    points = []
    for i in range(N):
        payload = {
            "product_id": f"p{i}",
            "colour": COLOURS[i % len(COLOURS)],
            "category": [CATEGORIES[i % len(CATEGORIES)], "all"],
            "price": float(rng.integers(5, 500)),
            "in_stock": bool(i % 3),
        }
        vectors = {"text": rng.normal(size=DIM).astype(np.float32), "bm25": _sparse(rng, int(rng.integers(3, 9)))}
        points.append(StoredPoint(id=str(uuid.uuid5(uuid.NAMESPACE_OID, f"p{i}")), vectors=vectors, payload=payload))
    return points


POINTS = _points()
BY_ID = {p.id: p for p in POINTS}
ENGINES: dict[str, Callable[[], Engine]] = {"edge": fresh_edge, "local-mode": local_mode}


@pytest.fixture(scope="module")
def engines() -> dict[str, Engine]:
    """Both engines holding the same collection 'c', written in batches as ingest writes."""
    built = {}
    for name, make in ENGINES.items():
        engine = make()
        engine.create("c", CollectionSpec(dense={"text": DIM}, sparse=("bm25",), metadata={"built": name}))
        engine.index_fields("c", FIELDS)
        for start in range(0, N, 128):
            engine.upsert("c", POINTS[start : start + 128])
        engine.optimize("c")
        built[name] = engine
    return built


def _queries() -> list[tuple[np.ndarray, SparseVector]]:
    rng = np.random.default_rng(11)
    return [(rng.normal(size=DIM).astype(np.float32), _sparse(rng, 3)) for _ in range(8)]


QUERIES = _queries()


def assert_same_top(a: Sequence[IndexHit], b: Sequence[IndexHit], tol: float = 1e-4) -> None:
    """The rule in the module docstring: same scores for shared ids, and only ties at the cut may differ."""
    assert len(a) == len(b)
    if not a:
        return
    left, right = {h.id: h.score for h in a}, {h.id: h.score for h in b}
    for pid in left.keys() & right.keys():
        assert left[pid] == pytest.approx(right[pid], abs=tol)
    for pid in left.keys() - right.keys():
        assert left[pid] == pytest.approx(b[-1].score, abs=tol), "a point missing from the other engine's top k"
    for pid in right.keys() - left.keys():
        assert right[pid] == pytest.approx(a[-1].score, abs=tol), "a point missing from the other engine's top k"
    assert [h.score for h in a] == pytest.approx([h.score for h in b], abs=tol)


def _both(engines: dict[str, Engine], ask: Callable[[Engine], Any]) -> tuple[Any, Any]:
    edge, local = (ask(engines[name]) for name in ENGINES)
    return edge, local


def _where(flt: dict[str, Any]) -> Filter | None:
    return build_filter(flt, FIELDS)


FILTERS: list[dict[str, Any]] = [
    {},
    {"colour": "red"},
    {"category": ["shoes", "bags"]},
    {"price": "100..300"},
    {"in_stock": "false", "colour": ["blue", "black"]},
]


@pytest.mark.parametrize("flt", FILTERS, ids=lambda f: ",".join(f) or "none")
def test_dense_matches_exact_search_on_both_engines(engines: dict[str, Engine], flt: dict[str, Any]) -> None:
    where = _where(flt)
    for dense, _ in QUERIES:
        edge, local = _both(engines, lambda e, d=dense: e.query("c", [Retrieval("text", d)], limit=10, where=where))
        assert_same_top(edge, local)
        allowed = [p for p in POINTS if _passes(p.payload, where)]
        matrix = np.stack([p.vectors["text"] for p in allowed])
        cosine = matrix @ dense / (np.linalg.norm(matrix, axis=1) * np.linalg.norm(dense))
        best = np.argsort(-cosine)[:10]
        assert [h.id for h in edge] == [allowed[i].id for i in best]
        assert [h.score for h in edge] == pytest.approx([float(cosine[i]) for i in best], abs=1e-4)


def _passes(payload: Any, where: Filter | None) -> bool:
    """The filter, evaluated independently of both engines."""
    for condition in where.conditions if where is not None else ():
        value = payload[condition.field]
        if isinstance(condition, Match):
            values = value if isinstance(value, list) else [value]
            if not set(values) & set(condition.values):
                return False
        elif (condition.low is not None and value < condition.low) or (
            condition.high is not None and value > condition.high
        ):
            return False
    return True


@pytest.mark.parametrize("flt", FILTERS, ids=lambda f: ",".join(f) or "none")
def test_sparse_idf_agrees(engines: dict[str, Engine], flt: dict[str, Any]) -> None:
    where = _where(flt)
    for _, sparse in QUERIES:
        edge, local = _both(engines, lambda e, s=sparse: e.query("c", [Retrieval("bm25", s)], limit=10, where=where))
        assert_same_top(edge, local)
        assert all(_passes(h.payload, where) for h in edge)


@pytest.mark.parametrize("fusion", ["rrf", "dbsf"])
@pytest.mark.parametrize("flt", FILTERS[:3], ids=lambda f: ",".join(f) or "none")
def test_hybrid_fusion_agrees(engines: dict[str, Engine], fusion: str, flt: dict[str, Any]) -> None:
    where = _where(flt)
    for dense, sparse in QUERIES:
        retrievals = [Retrieval("bm25", sparse, 1.0), Retrieval("text", dense, 0.7)]

        def hybrid(engine: Engine, r: list[Retrieval] = retrievals) -> list[IndexHit]:
            return engine.query("c", r, limit=10, where=where, fusion=fusion, prefetch_limit=30, rrf_k=20)  # type: ignore[arg-type]

        edge, local = _both(engines, hybrid)
        assert_same_top(edge, local, tol=1e-3 if fusion == "dbsf" else 1e-4)


def test_rrf_is_the_documented_formula_on_edge(engines: dict[str, Engine]) -> None:
    engine = engines["edge"]
    dense, sparse = QUERIES[0]
    retrievals = [Retrieval("bm25", sparse, 1.0), Retrieval("text", dense, 0.5)]
    singles = [engine.query("c", [r], limit=30) for r in retrievals]
    expected = rrf_scores([[h.id for h in hits] for hits in singles], [1.0, 0.5], k=20)
    fused = engine.query("c", retrievals, limit=10, prefetch_limit=30, rrf_k=20)
    for hit in fused:
        assert hit.score == pytest.approx(expected[hit.id], rel=1e-5)


@pytest.mark.parametrize("single", [True, False], ids=["one-retriever", "hybrid"])
def test_boost_agrees_and_equals_rescoring_the_unboosted_candidates(engines: dict[str, Engine], single: bool) -> None:
    """The engine's formula boost is the Python re-scoring of the same candidates: on both engines, the top 10
    of the boosted query are the unboosted top 30 re-scored by `Boost` and re-sorted. The category field is a
    list (a match is "the list holds it"); the colour "re" must not match "red" (no substrings)."""
    boost = Boost({"colour": "re", "category": "shoes"}, 0.5)
    for dense, sparse in QUERIES:
        retrievals = [Retrieval("text", dense)] if single else [Retrieval("bm25", sparse), Retrieval("text", dense)]

        def boosted(engine: Engine, r: list[Retrieval] = retrievals) -> list[IndexHit]:
            return engine.query("c", r, limit=10, prefetch_limit=30, rrf_k=20, boost=boost)

        edge, local = _both(engines, boosted)
        assert_same_top(edge, local)
        plain = engines["edge"].query("c", retrievals, limit=30, prefetch_limit=30, rrf_k=20)
        expected = sorted((h.score * boost.factor(boost.matched(h.payload)) for h in plain), reverse=True)[:10]
        assert [h.score for h in edge] == pytest.approx(expected, abs=1e-5)
        assert any(boost.matched(h.payload) for h in edge)


def test_boost_counts_list_members_and_whole_values_only() -> None:
    boost = Boost({"colour": "Blue", "category": "shoes"}, 1.0)
    assert boost.matched({"colour": "Navy Blue", "category": ["shoes", "all"]}) == 1
    assert boost.matched({"colour": "Blue", "category": "shoes"}) == 2
    assert boost.matched({}) == 0 and boost.factor(1) == 1.5


def test_per_retriever_scores_agree_and_equal_each_retrievers_own(engines: dict[str, Engine]) -> None:
    dense, sparse = QUERIES[1]
    retrievals = [Retrieval("bm25", sparse), Retrieval("text", dense), Retrieval("bm25", SparseVector((), ()))]
    ids = [p.id for p in POINTS[:25]]
    edge, local = _both(engines, lambda e: e.scores("c", retrievals, ids))
    assert len(edge) == len(local) == 3 and edge[2] == local[2] == {}
    for mine, theirs in zip(edge[:2], local[:2], strict=True):
        assert mine.keys() == theirs.keys() and mine.keys() <= set(ids)
        for pid in mine:
            assert mine[pid] == pytest.approx(theirs[pid], abs=1e-4)
    own = {h.id: h.score for h in engines["edge"].query("c", [retrievals[1]], limit=N)}
    assert all(edge[1][pid] == pytest.approx(own[pid], abs=1e-5) for pid in ids)


@pytest.mark.parametrize("flt", FILTERS, ids=lambda f: ",".join(f) or "none")
def test_counts_and_facets_agree_with_the_payloads(engines: dict[str, Engine], flt: dict[str, Any]) -> None:
    where = _where(flt)
    expected = sum(_passes(p.payload, where) for p in POINTS)
    assert _both(engines, lambda e: e.count("c", where)) == (expected, expected)
    for field in ("colour", "category"):
        edge, local = _both(engines, lambda e, f=field: sorted(e.facet("c", f, where, limit=50)))
        counts: dict[str, int] = {}
        for p in POINTS:
            if _passes(p.payload, where):
                value = p.payload[field]
                for v in value if isinstance(value, list) else [value]:
                    counts[v] = counts.get(v, 0) + 1
        assert edge == local == sorted(counts.items())


def test_retrieve_scroll_and_metadata_agree(engines: dict[str, Engine]) -> None:
    ids = [POINTS[3].id, POINTS[200].id, str(uuid.uuid4())]
    edge, local = _both(engines, lambda e: e.retrieve("c", ids, ["text"]))
    assert [r.id for r in edge] == [r.id for r in local] == ids[:2] or sorted(r.id for r in edge) == sorted(ids[:2])
    for mine in edge:
        theirs = next(r for r in local if r.id == mine.id)
        assert dict(mine.payload) == dict(theirs.payload) == POINTS[int(mine.payload["product_id"][1:])].payload
        np.testing.assert_allclose(mine.vectors["text"], theirs.vectors["text"], atol=1e-5)
    scrolled = _both(engines, lambda e: sorted(pid for pid, _ in e.scroll("c", ["product_id"])))
    assert scrolled[0] == scrolled[1] == sorted(BY_ID)
    assert [engines[n].metadata("c")["built"] for n in ENGINES] == list(ENGINES)


def test_prune_and_overwrite_agree() -> None:
    """On fresh collections (the shared one stays whole): delete some points, overwrite others."""
    for make in ENGINES.values():
        engine = make()
        engine.create("p", CollectionSpec(dense={"text": DIM}, sparse=("bm25",)))
        engine.index_fields("p", FIELDS)
        engine.upsert("p", POINTS[:50])
        engine.delete("p", [p.id for p in POINTS[:10]])
        changed = StoredPoint(POINTS[20].id, POINTS[20].vectors, {**POINTS[20].payload, "colour": "violet"})
        engine.upsert("p", [changed, POINTS[20 + 1]])
        engine.optimize("p")
        assert engine.count("p") == 40
        assert engine.retrieve("p", [POINTS[0].id]) == []
        assert engine.retrieve("p", [POINTS[20].id])[0].payload["colour"] == "violet"
        assert engine.count("p", build_filter({"colour": "violet"}, FIELDS)) == 1
        engine.drop("p")
        assert not engine.exists("p")
