"""WANDS (Wayfair ANnotation DataSet): tab-separated `product.csv`, `query.csv`, `label.csv`."""

from __future__ import annotations

from pathlib import Path

from aisle.catalog.judgments import Judgment
from aisle.catalog.raw import RawRow, SourceRows, read_delimited, require_dir, require_file

WANDS_GRADES = {"Exact": 2, "Partial": 1, "Irrelevant": 0}


def _features(text: str | None) -> dict[str, str]:
    """'key:value|key:value' into a dict (values that are empty are dropped)."""
    out: dict[str, str] = {}
    for part in (text or "").split("|"):
        key, sep, value = part.partition(":")
        if sep and key.strip() and value.strip():
            out[key.strip()] = value.strip()
    return out


def load_wands(folder: Path) -> SourceRows:
    folder = require_dir(folder, "WANDS data")
    rows = []
    for n, rec in enumerate(read_delimited(require_file(folder / "product.csv", "WANDS"), "\t"), start=1):
        attributes = _features(rec.get("product_features"))
        if rec.get("product_class"):
            attributes["product_class"] = rec["product_class"]
        rows.append(
            RawRow(
                n,
                {
                    "id": rec.get("product_id"),
                    "title": rec.get("product_name"),
                    "description": rec.get("product_description"),
                    "category_path": rec.get("category hierarchy"),
                    "attributes": attributes,
                    "rating": rec.get("average_rating"),
                },
            )
        )
    return SourceRows(name="wands", kind="wands", location=folder, rows=rows)


def load_wands_judgments(folder: Path) -> list[Judgment]:
    folder = require_dir(folder, "WANDS data")
    queries = {
        rec["query_id"]: rec["query"] for rec in read_delimited(require_file(folder / "query.csv", "WANDS"), "\t")
    }
    judgments = []
    for rec in read_delimited(require_file(folder / "label.csv", "WANDS"), "\t"):
        qid = rec["query_id"]
        if qid in queries and rec.get("label") in WANDS_GRADES:
            judgments.append(Judgment(qid, queries[qid], rec["product_id"], WANDS_GRADES[rec["label"]]))
    return judgments
