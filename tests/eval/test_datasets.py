"""Evaluation data sets from small fixture files: WANDS, ESCI, CrowdFlower; selection by split and limit."""

from __future__ import annotations

from pathlib import Path

import pytest

from aisle.catalog.loaders.crowdflower import crowdflower_product_id
from aisle.catalog.loaders.esci import EXAMPLES_FILE, PRODUCTS_FILE
from aisle.catalog.split import split_of
from aisle.config import Settings
from aisle.eval.datasets import (
    build_dataset,
    load_crowdflower_dataset,
    load_dataset,
    load_esci_dataset,
    load_wands_dataset,
    select,
)
from aisle.types import Product
from tests.test_loaders import write_wands


def write_esci(folder: Path) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    def product(pid: str, title: str, locale: str = "us") -> dict[str, str | None]:
        return {
            "product_id": pid,
            "product_title": title,
            "product_description": None,
            "product_bullet_point": "Braided",
            "product_brand": "Anker",
            "product_color": "black",
            "product_locale": locale,
        }

    def example(qid: int, query: str, pid: str, label: str, small: int = 1, locale: str = "us") -> dict[str, object]:
        return {
            "example_id": 0, "query": query, "query_id": qid, "product_id": pid, "product_locale": locale,
            "esci_label": label, "small_version": small, "large_version": 1, "split": "test",
        }  # fmt: skip

    folder.mkdir()
    products = [product("B01", "USB-C cable 2m"), product("B02", "Lightning cable"), product("B03", "Cable", "es")]
    examples = [
        example(7, "usb c cable", "B01", "E"),
        example(7, "usb c cable", "B02", "S"),
        example(8, "iphone cable", "B02", "C"),
        example(8, "iphone cable", "B01", "I"),
        example(9, "large only", "B01", "E", small=0),
        example(10, "cable", "B03", "E", locale="es"),
    ]
    pq.write_table(pa.Table.from_pylist(products), folder / PRODUCTS_FILE)
    pq.write_table(pa.Table.from_pylist(examples), folder / EXAMPLES_FILE)
    return folder


def test_wands_dataset(tmp_path: Path, settings: Settings) -> None:
    dataset = load_wands_dataset(write_wands(tmp_path / "wands"), settings)
    assert dataset.name == "wands" and sorted(p.id for p in dataset.corpus) == ["0", "1"]  # one row quarantined
    assert dataset.queries == {"0": "wood bed", "1": "gold light"}
    assert dataset.qrels == {"0": {"0": 2, "1": 0}, "1": {"1": 1}}
    assert dataset.sizes() == {"corpus": 2, "queries": 2, "judgments": 3, "relevant": 2}
    assert len(dataset.fingerprint) == 40


def test_esci_dataset(tmp_path: Path, settings: Settings) -> None:
    dataset = load_dataset("esci", write_esci(tmp_path / "esci"), settings)
    assert sorted(p.id for p in dataset.corpus) == ["B01", "B02"]  # the us locale
    assert dataset.queries == {"7": "usb c cable", "8": "iphone cable"}  # the small version only
    assert dataset.qrels == {"7": {"B01": 3, "B02": 2}, "8": {"B02": 1, "B01": 0}}
    assert load_esci_dataset(tmp_path / "esci", settings).fingerprint == dataset.fingerprint


def test_crowdflower_dataset_grades_and_repeated_pairs(tmp_path: Path, settings: Settings) -> None:
    train = tmp_path / "train.csv"
    train.write_text(
        "id,query,product_title,product_description,median_relevance,relevance_variance\n"
        '1,led lights,String Lights,"Warm white\nLED",4,0\n'
        '2,fairy lights,String Lights,"Warm white\nLED",3,0.4\n'
        "3,led lights,Lamp,,1,0\n"
        "4,led lights,Lamp,,3,0\n"
        "5,led lights,Lamp,,2,0\n"
    )
    dataset = load_crowdflower_dataset(train, settings)
    lights, lamp = crowdflower_product_id("String Lights", "Warm white\nLED"), crowdflower_product_id("Lamp", "")
    by_text = {text: dataset.qrels[qid] for qid, text in dataset.queries.items()}
    # gain = median_relevance - 1; a pair judged three times (0, 2, 1) gets the lower median, 1
    assert by_text == {"led lights": {lights: 3, lamp: 1}, "fairy lights": {lights: 2}}
    assert {p.id for p in dataset.corpus} == {lights, lamp}


def test_build_dataset_drops_unknown_products_and_empty_queries() -> None:
    corpus = [Product(id="a", title="A")]
    dataset = build_dataset("t", corpus, {"q1": "one", "q2": "two"}, {"q1": {"a": 1, "zz": 2}, "q2": {"zz": 1}})
    assert dataset.queries == {"q1": "one"} and dataset.qrels == {"q1": {"a": 1}}


def test_select_by_split_and_limit_restricts_the_corpus() -> None:
    qids = [f"q{n:03d}" for n in range(40)]
    corpus = [Product(id=f"p{n}", title=f"P{n}") for n in range(100)]
    qrels = {q: {f"p{n}": 1, f"p{n + 50}": 0} for n, q in enumerate(qids)}
    dataset = build_dataset("t", corpus, {q: q for q in qids}, qrels)
    assert select(dataset) is dataset
    dev = select(dataset, split="dev")
    assert set(dev.queries) == {q for q in qids if split_of(q) == "dev"} and len(dev.corpus) == 100
    nano = select(dataset, limit_queries=5)
    assert list(nano.queries) == qids[:5]
    assert sorted(p.id for p in nano.corpus) == sorted([f"p{n}" for n in range(5)] + [f"p{n + 50}" for n in range(5)])
    assert nano.fingerprint != dataset.fingerprint
    assert len(select(dataset, limit_queries=5, restrict_corpus=False).corpus) == 100


def test_unknown_dataset() -> None:
    with pytest.raises(ValueError, match="unknown data set"):
        load_dataset("msmarco", Path("."))
