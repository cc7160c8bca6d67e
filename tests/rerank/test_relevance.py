"""The relevance ranker: a tiny cross-encoder (1 MiniLM layer) trained in-test on a handful of judged pairs,
saved with its manifest, loaded, exported to ONNX; re-ranking, caching, `rerank=False`, and the dev-only rule."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from aisle.catalog.split import split_of
from aisle.eval.datasets import build_dataset
from aisle.types import Product

COLOURS = ("red", "blue", "black", "green")
ARTICLES = ("shirt", "jeans", "watch", "shoes", "mug")


def _products() -> list[Product]:
    return [
        Product(id=f"p-{c}-{a}", title=f"{c.title()} {a} by Acme", description=f"A {c} {a} made of good stuff.")
        for c in COLOURS
        for a in ARTICLES
    ]


def _queries() -> tuple[dict[str, str], dict[str, dict[str, int]]]:
    """'red shirt' style queries: grade 3 for the exact product, 1 for the same article in another colour."""
    queries: dict[str, str] = {}
    qrels: dict[str, dict[str, int]] = {}
    for n, template in enumerate(("{c} {a}", "{a} in {c}", "a {c} {a} please")):
        for c in COLOURS:
            for a in ARTICLES:
                qid = f"q{n}-{c}-{a}"
                queries[qid] = template.format(c=c, a=a)
                qrels[qid] = {f"p-{c}-{a}": 3, **{f"p-{o}-{a}": 1 for o in COLOURS if o != c}}
    return queries, qrels


class FakeFirstStage:
    """Stands in for SearchPipeline during mining: word-overlap scores, and it records every query asked."""

    def __init__(self, products: list[Product]) -> None:
        self.products = products
        self.asked: list[str] = []

    def search(self, request: Any) -> Any:
        self.asked.append(request.query)
        words = set(request.query.split())
        hits = []
        for p in self.products:
            overlap = len(words & set(p.title.lower().split()))
            hits.append({"id": p.id, "score": overlap + 0.01, "title": p.title, "description": p.description,
                         "scores": {"bm25": 2.0 * overlap, "text": 0.2 * overlap}})  # fmt: skip
        hits.sort(key=lambda h: (-h["score"], h["id"]))

        class Response:
            results = hits[: request.top_k]

        return Response()


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, FakeFirstStage, Any]:
    from aisle.encoders.text import minilm_path
    from aisle.training.relevance import TrainConfig, train_ranker

    products = _products()
    queries, qrels = _queries()
    dataset = build_dataset("toy", products, queries, qrels)
    fake = FakeFirstStage(products)
    config = TrainConfig(layers=1, max_length=24, epochs=3, batch_size=16, candidates=10, negatives=4,
                         alphas=(1.0,), folds=2, learning_rate=3e-4)  # fmt: skip
    models = tmp_path_factory.mktemp("models")
    result = train_ranker(dataset, fake, models_dir=models, base=minilm_path(), config=config)
    return result.folder, fake, dataset


@pytest.mark.slow  # trains a 1-layer cross-encoder and exports it to ONNX (module-scoped)
def test_training_uses_dev_queries_only_and_writes_a_manifest(trained: Any) -> None:
    from aisle.training.relevance import query_ids_digest

    folder, fake, dataset = trained
    dev = sorted(q for q in dataset.queries if split_of(q) == "dev")
    test_texts = {dataset.queries[q] for q in dataset.queries if split_of(q) == "test"}
    assert dev and test_texts  # the toy set has both
    assert not test_texts & set(fake.asked)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["training"]["split"] == "dev"
    assert manifest["training"]["queries"] == len(dev)
    assert manifest["training"]["query_ids_sha1"] == query_ids_digest(dev)
    assert (folder / "scorer.json").is_file() and (
        folder / "cross_encoder" / "onnx" / "cross_encoder.int8.onnx"
    ).is_file()


def test_training_refuses_test_queries() -> None:
    from aisle.training.relevance import dev_only, pairs_for

    queries, qrels = _queries()
    test_qid = next(q for q in queries if split_of(q) == "test")
    with pytest.raises(ValueError, match="test"):
        dev_only([test_qid])
    with pytest.raises(ValueError, match="test"):
        pairs_for([test_qid], queries, qrels, {}, {}, negatives=2)


@pytest.mark.slow  # trains a 1-layer cross-encoder and exports it to ONNX (module-scoped)
def test_training_lowers_the_loss(trained: Any) -> None:
    folder, _, _ = trained
    losses = json.loads((folder / "manifest.json").read_text())["training"]["cross_encoder_final"]["epoch_losses"]
    assert len(losses) == 3 and losses[-1] < losses[0]


@pytest.mark.slow  # trains a 1-layer cross-encoder and exports it to ONNX (module-scoped)
def test_onnx_agrees_with_torch(trained: Any) -> None:
    from aisle.rerank.cross_encoder import CrossEncoder

    folder, _, _ = trained
    queries = ["red shirt", "blue jeans", "black watch", "green mug for the kitchen"]
    docs = ["Red shirt by Acme. A red shirt.", "Blue jeans by Acme", "Green shoes by Acme", "Green mug by Acme"]
    scores = {
        backend: CrossEncoder.from_folder(folder / "cross_encoder", backend=backend, device="cpu").score(queries, docs)
        for backend in ("torch", "onnx", "onnx-int8")
    }
    np.testing.assert_allclose(scores["onnx"], scores["torch"], atol=1e-4)
    np.testing.assert_allclose(scores["onnx-int8"], scores["torch"], atol=0.05 * (np.ptp(scores["torch"]) + 1))


@pytest.mark.slow  # trains a 1-layer cross-encoder and exports it to ONNX (module-scoped)
def test_int8_is_calibrated_on_unpadded_pairs(trained: Any) -> None:
    import collections

    import onnx

    from aisle.rerank.cross_encoder import calibration_feeds

    folder, _, _ = trained
    feeds = calibration_feeds(folder / "cross_encoder")
    assert len(feeds) > 300
    for feed in feeds:
        assert feed["input_ids"].shape[0] == 1 and feed["input_ids"].shape[1] <= 24  # the fixture's max_length
        assert feed["attention_mask"].all() and feed["token_type_ids"].any()  # no padding; a document part
    graph = onnx.load(str(folder / "cross_encoder" / "onnx" / "cross_encoder.int8.onnx")).graph
    ops = collections.Counter(node.op_type for node in graph.node)
    # one layer: q/k/v, attention output and the first FFN MatMul read calibrated inputs (one constant scale
    # each); the second FFN MatMul (after GELU) and the pooler keep per-row scales (a ReduceMax each)
    assert ops["ReduceMax"] == 2 and ops["MatMulIntegerToFloat"] >= 5


def _hits(n: int) -> list[dict[str, Any]]:
    products = _products()[:n]
    return [{"id": p.id, "score": 1.0 / (i + 1), "title": p.title, "description": p.description,
             "scores": {"bm25": 1.0, "text": 0.5}} for i, p in enumerate(products)]  # fmt: skip


@pytest.mark.slow  # trains a 1-layer cross-encoder and exports it to ONNX (module-scoped)
def test_rerank_keeps_the_hits_and_caches_scores(trained: Any) -> None:
    from aisle.rerank.relevance import load_ranker

    folder, _, _ = trained
    ranker = load_ranker(folder, backend="onnx", top_k=6, device="cpu")
    hits = _hits(10)
    before = [dict(h) for h in hits]
    out = ranker.rerank("green watch", hits)
    assert hits == before  # inputs untouched
    assert sorted(h["id"] for h in out) == sorted(h["id"] for h in hits) and len(out) == len(hits)
    assert [h["id"] for h in out[6:]] == [h["id"] for h in hits[6:]]  # beyond top_k: first-stage order, after
    assert all(out[i]["score"] >= out[i + 1]["score"] for i in range(len(out) - 1))
    assert all("fused" in h["scores"] for h in out) and all("relevance" in h["scores"] for h in out[:6])
    assert (ranker.cache_misses, ranker.cache_hits) == (6, 0)
    again = ranker.rerank("green watch", hits)
    assert [h["id"] for h in again] == [h["id"] for h in out]
    assert (ranker.cache_misses, ranker.cache_hits) == (6, 6)
    assert ranker.rerank("green watch", []) == []


@pytest.mark.slow  # trains a 1-layer cross-encoder and exports it to ONNX (module-scoped)
def test_pipeline_uses_the_trained_ranker_unless_told_not_to(trained: Any, tmp_path: Path) -> None:
    import shutil

    from aisle.config import Settings
    from aisle.pipeline.ingest import ingest_products
    from aisle.pipeline.request import SearchRequest
    from aisle.pipeline.search import SearchPipeline
    from aisle.rerank.relevance import RelevanceRanker
    from tests.engines import fresh_edge

    folder, _, _ = trained
    settings = Settings(home=tmp_path / "home", rerank_backend="onnx")
    engine = fresh_edge()
    ingest_products(_products(), "toy", settings=settings, engine=engine, progress=False)
    assert SearchPipeline.open("toy", settings, engine=engine).ranker is None  # nothing trained: first stage only
    shutil.copytree(folder, settings.models_dir / "relevance-ranker")
    pipeline = SearchPipeline.open("toy", settings, engine=engine)
    assert isinstance(pipeline.ranker, RelevanceRanker) and pipeline.ranker.top_k == 50
    off = SearchPipeline.open("toy", settings.model_copy(update={"ranker_model": "off"}), engine=engine)
    assert off.ranker is None
    ranked = pipeline.search(SearchRequest(query="green watch", top_k=8))
    assert "rerank" in ranked.timings_ms
    assert all({"text", "relevance"} <= set(h["scores"]) for h in ranked.results)
    matching = [h for h in ranked.results if {"green", "watch"} & set(h["title"].lower().split())]
    assert matching and all("bm25" in h["scores"] for h in matching)  # BM25 scored every hit it could
    plain = pipeline.search(SearchRequest(query="green watch", top_k=8, rerank=False))
    baseline = off.search(SearchRequest(query="green watch", top_k=8))
    assert "rerank" not in plain.timings_ms
    assert [h["id"] for h in plain.results] == [h["id"] for h in baseline.results]


def test_a_ranker_folder_that_is_not_one_is_a_clear_error(tmp_path: Path) -> None:
    from aisle.config import Settings
    from aisle.rerank.relevance import default_ranker

    with pytest.raises(FileNotFoundError, match="train-ranker"):
        default_ranker(Settings(home=tmp_path, ranker_model=str(tmp_path)))


def test_eval_registers_hybrid_rerank() -> None:
    from aisle.eval.runner import DEFAULT_PIPELINES, PIPELINES

    assert "hybrid+rerank" in PIPELINES and "hybrid+rerank" in DEFAULT_PIPELINES
    assert PIPELINES["hybrid+rerank"].ranker is not None


def test_train_ranker_cli_refuses_data_sets_without_judgments() -> None:
    from typer.testing import CliRunner

    from aisle.cli.main import app

    result = CliRunner().invoke(app, ["train-ranker", "myntra"])
    assert result.exit_code == 2 and "judgments" in result.output


def test_scorer_round_trips_and_fills_missing_features() -> None:
    from aisle.rerank.features import FEATURES, LinearScorer, fit_scorer

    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, len(FEATURES)))
    x[:, 3] = np.nan  # no image scores at all
    y = (x[:, 0] > 0).astype(float)
    scorer = fit_scorer(x, y)
    again = LinearScorer.from_json(json.loads(json.dumps(scorer.to_json())))
    np.testing.assert_allclose(again.score(x), scorer.score(x))
    assert np.isfinite(scorer.score(x)).all() and scorer.weights[0] > 0
