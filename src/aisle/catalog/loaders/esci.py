"""Amazon Shopping Queries (ESCI): `shopping_queries_dataset_products.parquet` and `..._examples.parquet`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aisle.catalog.judgments import Judgment
from aisle.catalog.raw import RawRow, SourceError, SourceRows, require_dir, require_file

PRODUCTS_FILE = "shopping_queries_dataset_products.parquet"
EXAMPLES_FILE = "shopping_queries_dataset_examples.parquet"
ESCI_GRADES = {"E": 3, "S": 2, "C": 1, "I": 0}


def _read_parquet(path: Path, columns: list[str]) -> list[dict[str, Any]]:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises several types for a file that is not Parquet
        raise SourceError(f"{path} is not a readable Parquet file: {exc}") from exc
    missing = [c for c in columns if c not in table.column_names]
    if missing:
        raise SourceError(f"{path} lacks columns {missing}")
    return table.select(columns).to_pylist()


def load_esci(folder: Path, locale: str | None = "us") -> SourceRows:
    """The products of one locale (all locales when `locale` is None)."""
    folder = require_dir(folder, "ESCI data")
    columns = [
        "product_id",
        "product_title",
        "product_description",
        "product_bullet_point",
        "product_brand",
        "product_color",
        "product_locale",
    ]
    rows = []
    for n, rec in enumerate(_read_parquet(require_file(folder / PRODUCTS_FILE, "ESCI"), columns), start=1):
        if locale and rec["product_locale"] != locale:
            continue
        description = "\n".join(t for t in (rec["product_description"], rec["product_bullet_point"]) if t)
        rows.append(
            RawRow(
                n,
                {
                    "id": rec["product_id"],
                    "title": rec["product_title"],
                    "description": description,
                    "brand": rec["product_brand"],
                    "attributes": {"colour": rec["product_color"], "locale": rec["product_locale"]},
                },
            )
        )
    return SourceRows(name=f"esci-{locale or 'all'}", kind="esci", location=folder, rows=rows)


def load_esci_judgments(folder: Path, locale: str | None = "us", version: str = "small_version") -> list[Judgment]:
    folder = require_dir(folder, "ESCI data")
    columns = ["query_id", "query", "product_id", "product_locale", "esci_label", version]
    return [
        Judgment(str(rec["query_id"]), rec["query"], rec["product_id"], ESCI_GRADES[rec["esci_label"]])
        for rec in _read_parquet(require_file(folder / EXAMPLES_FILE, "ESCI"), columns)
        if rec[version] and (not locale or rec["product_locale"] == locale) and rec["esci_label"] in ESCI_GRADES
    ]
