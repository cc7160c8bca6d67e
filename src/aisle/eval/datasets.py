"""BEIR-style evaluation data sets: a corpus of Products, queries {qid: text} and graded qrels
{qid: {product id: grade}}, from CrowdFlower, WANDS, ESCI or Myntra (generated attribute queries).

Every corpus goes through the catalogue's loaders and data-quality checks (`aisle.catalog.load_catalog`),
so the products evaluated are exactly the products that `aisle ingest` would keep.
"""

from __future__ import annotations

import hashlib
import json
import logging
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from aisle.catalog.judgments import Judgment
from aisle.catalog.split import in_split
from aisle.config import Settings
from aisle.types import Product

log = logging.getLogger(__name__)
DATASETS: tuple[str, ...] = ("crowdflower", "myntra", "wands", "esci")


@dataclass(frozen=True, slots=True)
class EvalDataset:
    """One evaluation data set. `fingerprint` changes whenever the corpus, queries or qrels change."""

    name: str
    corpus: list[Product]
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]
    fingerprint: str
    source: str = ""

    def sizes(self) -> dict[str, int]:
        """Corpus, query and judgment counts (for reports)."""
        return {
            "corpus": len(self.corpus),
            "queries": len(self.queries),
            "judgments": sum(len(j) for j in self.qrels.values()),
            "relevant": sum(1 for j in self.qrels.values() for g in j.values() if g > 0),
        }


def corpus_fingerprint(corpus: Sequence[Product]) -> str:
    """sha1 of the products alone (order-independent): what a collection holds."""
    digest = hashlib.sha1()
    for product in sorted(corpus, key=lambda p: p.id):
        digest.update(json.dumps(product.to_record(), sort_keys=True, default=str).encode())
    return digest.hexdigest()


def dataset_fingerprint(
    name: str, corpus: Sequence[Product], queries: dict[str, str], qrels: dict[str, dict[str, int]]
) -> str:
    """sha1 of everything that defines the data set (order-independent)."""
    digest = hashlib.sha1(name.encode())
    digest.update(corpus_fingerprint(corpus).encode())
    digest.update(json.dumps(queries, sort_keys=True).encode())
    digest.update(json.dumps(qrels, sort_keys=True).encode())
    return digest.hexdigest()


def build_dataset(
    name: str,
    corpus: Sequence[Product],
    queries: dict[str, str],
    qrels: dict[str, dict[str, int]],
    source: str = "",
) -> EvalDataset:
    """A data set whose qrels name only corpus products and whose queries all have judgments."""
    ids = {p.id for p in corpus}
    kept = {q: {d: g for d, g in judged.items() if d in ids} for q, judged in qrels.items() if q in queries}
    kept = {q: judged for q, judged in kept.items() if judged}
    dropped = len(queries) - len(kept)
    if dropped:
        log.info("%s: %d queries have no judged product in the corpus and are left out", name, dropped)
    queries = {q: text for q, text in queries.items() if q in kept}
    corpus = list(corpus)
    return EvalDataset(name, corpus, queries, kept, dataset_fingerprint(name, corpus, queries, kept), source)


def qrels_from_judgments(judgments: Iterable[Judgment]) -> tuple[dict[str, str], dict[str, dict[str, int]]]:
    """Queries and qrels from judged pairs; a pair judged more than once gets the lower median of its grades."""
    queries: dict[str, str] = {}
    grades: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for judgment in judgments:
        queries.setdefault(judgment.query_id, judgment.query)
        grades[judgment.query_id][judgment.product_id].append(judgment.grade)
    qrels = {q: {d: int(statistics.median_low(g)) for d, g in by_doc.items()} for q, by_doc in grades.items()}
    return queries, qrels


def _catalogue(spec: str, settings: Settings | None) -> list[Product]:
    from aisle.catalog import load_catalog

    load = load_catalog(spec, settings=settings)
    if load.quarantine:
        log.warning("%s: %d rows quarantined by the data-quality checks", spec, len(load.quarantine))
    return load.products


def load_crowdflower_dataset(path: Path, settings: Settings | None = None) -> EvalDataset:
    """CrowdFlower `train.csv` (or its folder): its distinct products, 261 queries, gain = median_relevance - 1."""
    from aisle.catalog.loaders.crowdflower import load_crowdflower_judgments

    corpus = _catalogue(f"crowdflower:{path}", settings)
    queries, qrels = qrels_from_judgments(load_crowdflower_judgments(path))
    return build_dataset("crowdflower", corpus, queries, qrels, str(path))


def load_wands_dataset(folder: Path, settings: Settings | None = None) -> EvalDataset:
    """WANDS: product.csv, query.csv, label.csv (Exact 2, Partial 1, Irrelevant 0)."""
    from aisle.catalog.loaders.wands import load_wands_judgments

    corpus = _catalogue(f"wands:{folder}", settings)
    queries, qrels = qrels_from_judgments(load_wands_judgments(folder))
    return build_dataset("wands", corpus, queries, qrels, str(folder))


def load_esci_dataset(folder: Path, settings: Settings | None = None, locale: str = "us") -> EvalDataset:
    """ESCI (one locale, the small version's queries): E 3, S 2, C 1, I 0."""
    from aisle.catalog.loaders.esci import load_esci_judgments

    corpus = _catalogue(f"esci:{folder}", settings)
    queries, qrels = qrels_from_judgments(load_esci_judgments(folder, locale))
    return build_dataset("esci", corpus, queries, qrels, str(folder))


def myntra_corpus(folder: Path, settings: Settings | None = None) -> list[Product]:
    """The Myntra products WITH images (the eval collection's corpus)."""
    return [p for p in _catalogue(f"myntra:{folder}", settings) if p.image]


def load_myntra_dataset(
    folder: Path, settings: Settings | None = None, n_queries: int = 300, seed: int = 0
) -> EvalDataset:
    """Myntra products WITH images, and `n_queries` attribute queries generated from them (see
    `aisle.eval.attribute_queries`)."""
    from aisle.eval.attribute_queries import generate_attribute_queries

    corpus = myntra_corpus(folder, settings)
    queries, qrels = generate_attribute_queries(corpus, n_queries=n_queries, seed=seed)
    return build_dataset("myntra", corpus, queries, qrels, str(folder))


def load_dataset(
    name: str, path: Path, settings: Settings | None = None, *, n_queries: int = 300, seed: int = 0
) -> EvalDataset:
    """Load data set `name` (one of DATASETS) from `path`; `n_queries` and `seed` apply to Myntra only."""
    if name == "crowdflower":
        return load_crowdflower_dataset(path, settings)
    if name == "myntra":
        return load_myntra_dataset(path, settings, n_queries=n_queries, seed=seed)
    if name == "wands":
        return load_wands_dataset(path, settings)
    if name == "esci":
        return load_esci_dataset(path, settings)
    raise ValueError(f"unknown data set {name!r}; use one of {', '.join(DATASETS)}")


def subset(dataset: EvalDataset, qids: Iterable[str], *, restrict_corpus: bool = False) -> EvalDataset:
    """The data set for some of its queries; with `restrict_corpus`, only the products judged for them."""
    wanted = [q for q in qids if q in dataset.queries]
    queries = {q: dataset.queries[q] for q in wanted}
    qrels = {q: dataset.qrels[q] for q in wanted}
    corpus = dataset.corpus
    if restrict_corpus:
        judged = {d for judged in qrels.values() for d in judged}
        corpus = [p for p in corpus if p.id in judged]
    return build_dataset(dataset.name, corpus, queries, qrels, dataset.source)


def select(
    dataset: EvalDataset, *, split: str = "all", limit_queries: int | None = None, restrict_corpus: bool = True
) -> EvalDataset:
    """The queries of `split`, then the first `limit_queries` of them by query id. When limited (and
    `restrict_corpus`), the corpus shrinks to the products judged for the queries kept: a fast "nano" run."""
    qids = in_split(sorted(dataset.queries), split)
    if limit_queries is not None:
        qids = qids[:limit_queries]
    if split == "all" and limit_queries is None:
        return dataset
    return subset(dataset, qids, restrict_corpus=restrict_corpus and limit_queries is not None)
