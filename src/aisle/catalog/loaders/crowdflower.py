"""CrowdFlower "Search Results Relevance": judged (query, product) pairs; products are its distinct items."""

from __future__ import annotations

import hashlib
from pathlib import Path

from aisle.catalog.judgments import Judgment, query_id_for
from aisle.catalog.raw import RawRow, SourceRows, read_delimited, require_file


def crowdflower_product_id(title: str, description: str) -> str:
    """Stable id for a product: the data set has none, so hash its text."""
    digest = hashlib.sha1(f"{title.strip()}\x00{description.strip()}".encode("utf-8", "surrogateescape"))
    return "cf-" + digest.hexdigest()[:12]


def _train_file(path: Path) -> Path:
    return require_file(path / "train.csv" if path.is_dir() else path, "CrowdFlower data")


def load_crowdflower(path: Path) -> SourceRows:
    """The distinct products of `train.csv` (a folder holding it, or the file itself)."""
    train = _train_file(path)
    rows: list[RawRow] = []
    seen: set[str] = set()
    for n, rec in enumerate(read_delimited(train), start=1):
        title, description = rec.get("product_title") or "", rec.get("product_description") or ""
        product_id = crowdflower_product_id(title, description)
        if product_id in seen:
            continue
        seen.add(product_id)
        rows.append(RawRow(n, {"id": product_id, "title": title, "description": description}))
    return SourceRows(name="crowdflower", kind="crowdflower", location=train, rows=rows)


def load_crowdflower_judgments(path: Path) -> list[Judgment]:
    """Every judged pair, graded median_relevance - 1 (0..3)."""
    judgments = []
    for rec in read_delimited(_train_file(path)):
        title, description = rec.get("product_title") or "", rec.get("product_description") or ""
        query = (rec.get("query") or "").strip()
        judgments.append(
            Judgment(
                query_id=query_id_for(query),
                query=query,
                product_id=crowdflower_product_id(title, description),
                grade=int(rec["median_relevance"]) - 1,
            )
        )
    return judgments
