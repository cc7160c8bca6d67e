"""Myntra attribute queries from a tiny catalogue written here: deterministic texts, correct grades."""

from __future__ import annotations

from pathlib import Path

import pytest

from aisle.config import Settings
from aisle.eval.attribute_queries import article_words, generate_attribute_queries, query_text
from aisle.eval.datasets import load_myntra_dataset
from tests.conftest import jpeg_bytes

HEADER = "id,gender,masterCategory,subCategory,articleType,baseColour,season,year,usage,productDisplayName\n"
ROWS = [
    "1,Men,Apparel,Topwear,Shirts,Red,Fall,2011,Casual,Acme Men Red Shirt",
    "2,Men,Apparel,Topwear,Shirts,Blue,Fall,2011,Casual,Acme Men Blue Shirt",
    "3,Women,Apparel,Topwear,Shirts,Red,Fall,2012,Casual,Zenith Women Red Shirt",
    "4,Men,Apparel,Bottomwear,Jeans,Red,Fall,2012,Casual,Acme Men Red Jeans",
    "5,Unisex,Accessories,Watches,Watches,Black,Winter,2016,Casual,Titan Unisex Black Watch",
    "6,Men,Apparel,Topwear,Shirts,Red,Fall,2011,Casual,Acme Men Red Shirt Without Photo",
    "7,Men,Apparel,Topwear,Tshirts,Navy Blue,Summer,2012,Casual,Puma Men Navy Blue Tshirt",
]


@pytest.fixture
def myntra(tmp_path: Path) -> Path:
    (tmp_path / "images").mkdir()
    (tmp_path / "styles.csv").write_text(HEADER + "\n".join(ROWS) + "\n")
    for product_id in ("1", "2", "3", "4", "5", "7"):
        (tmp_path / "images" / f"{product_id}.jpg").write_bytes(jpeg_bytes())
    return tmp_path


def _by_text(queries: dict[str, str], qrels: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    return {text: qrels[qid] for qid, text in queries.items()}


def test_queries_and_grades(myntra: Path, settings: Settings) -> None:
    dataset = load_myntra_dataset(myntra, settings, n_queries=100)
    assert sorted(p.id for p in dataset.corpus) == ["1", "2", "3", "4", "5", "7"]  # only products with images
    graded = _by_text(dataset.queries, dataset.qrels)
    red_men_shirts = query_text({"colour": "Red", "article_type": "Shirts", "gender": "Men"})
    assert red_men_shirts in ("red shirts for men", "men's red shirts")
    assert graded[red_men_shirts] == {"1": 2, "2": 1, "3": 1}  # all named attributes -> 2, article type only -> 1
    assert graded["shirts in red"] == {"1": 2, "3": 2, "2": 1}
    assert graded["watches in black"] == {"5": 2}
    assert graded["jeans in red"] == {"4": 2}
    navy = query_text({"colour": "Navy Blue", "article_type": "Tshirts", "gender": "Men"})
    assert "navy blue t-shirts" in navy and graded[navy] == {"7": 2}
    # only combinations that exist: 5 (colour, article type) pairs + 5 with a gender word (Unisex gets none)
    assert len(dataset.queries) == 10
    assert not any("unisex" in text for text in dataset.queries.values())


def test_generation_is_deterministic_and_sampled(myntra: Path, settings: Settings) -> None:
    full = load_myntra_dataset(myntra, settings, n_queries=100)
    sample = load_myntra_dataset(myntra, settings, n_queries=4, seed=1)
    assert sample == load_myntra_dataset(myntra, settings, n_queries=4, seed=1)
    assert sample.fingerprint == load_myntra_dataset(myntra, settings, n_queries=4, seed=1).fingerprint
    assert len(sample.queries) == 4 and set(sample.queries.items()) <= set(full.queries.items())
    assert all(g > 0 for judged in full.qrels.values() for g in judged.values())


def test_article_words_read_naturally() -> None:
    assert article_words("Casual Shoes") == "casual shoes"
    assert article_words("Tshirts") == "t-shirts"
    queries, _ = generate_attribute_queries([], n_queries=10)
    assert queries == {}
