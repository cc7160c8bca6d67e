"""Generic catalogues: CSV/TSV, JSON lines or Parquet, with a column mapping onto the product fields.

Columns that map to no product field are kept as attributes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from aisle.catalog.raw import PRODUCT_FIELDS, RawRow, SourceError, SourceRows, read_delimited, read_jsonl

# The first column present in a file wins for each field, unless the user maps it explicitly.
DEFAULT_COLUMNS: dict[str, tuple[str, ...]] = {
    "id": ("id", "product_id", "sku", "item_id", "asin", "uniq_id"),
    "title": ("title", "name", "product_title", "product_name", "productdisplayname"),
    "description": ("description", "product_description", "desc", "body", "details"),
    "brand": ("brand", "product_brand", "manufacturer", "vendor"),
    "category_path": ("category_path", "category", "categories", "product_category", "product_type"),
    "price": ("price", "unit_price", "sale_price", "list_price"),
    "currency": ("currency", "currency_code"),
    "rating": ("rating", "average_rating", "stars"),
    "image": ("image", "image_path", "image_url", "image_link", "img", "picture"),
    "in_stock": ("in_stock", "stock", "available", "availability", "is_in_stock"),
}
SUFFIXES = (".csv", ".tsv", ".jsonl", ".ndjson", ".parquet")


def resolve_columns(columns: Iterable[str], mapping: Mapping[str, str] | None = None) -> dict[str, str]:
    """field -> column, from the explicit mapping first, then the defaults (case-insensitive)."""
    mapping = dict(mapping or {})
    unknown = sorted(set(mapping) - set(PRODUCT_FIELDS))
    if unknown:
        raise SourceError(f"unknown product field(s) in the column mapping: {unknown}; known: {PRODUCT_FIELDS}")
    by_lower = {c.lower(): c for c in columns}
    resolved: dict[str, str] = {}
    for name in PRODUCT_FIELDS:
        if name in mapping:
            if mapping[name].lower() not in by_lower:
                raise SourceError(f"mapped column {mapping[name]!r} for {name!r} is not in the file")
            resolved[name] = by_lower[mapping[name].lower()]
            continue
        for candidate in DEFAULT_COLUMNS.get(name, ()):
            if candidate in by_lower and by_lower[candidate] not in resolved.values():
                resolved[name] = by_lower[candidate]
                break
    return resolved


def _records(path: Path) -> list[dict[str, Any]]:
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        return list(read_delimited(path, "\t" if suffix == ".tsv" else ","))
    if suffix in (".jsonl", ".ndjson"):
        return list(read_jsonl(path))
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        try:
            return pq.read_table(path).to_pylist()
        except Exception as exc:  # pyarrow raises several types for a file that is not Parquet
            raise SourceError(f"{path} is not a readable Parquet file: {exc}") from exc
    raise SourceError(f"unsupported catalogue file {path.name!r}: use one of {', '.join(SUFFIXES)}")


def load_generic(path: Path, mapping: Mapping[str, str] | None = None, images: Path | None = None) -> SourceRows:
    if not path.is_file():
        raise SourceError(f"no such file: {path}")
    records = _records(path)
    columns: dict[str, None] = {}
    for rec in records:
        columns.update(dict.fromkeys(k for k in rec if k != "__error__"))
    resolved = resolve_columns(columns, mapping)
    if "title" not in resolved:
        raise SourceError(f"{path.name}: no title column found (columns: {list(columns)}); map one with --map")
    mapped = set(resolved.values())
    rows = []
    for n, rec in enumerate(records, start=1):
        if "__error__" in rec:
            rows.append(RawRow(n, rec))
            continue
        values: dict[str, Any] = {name: rec.get(column) for name, column in resolved.items()}
        extra = {k: v for k, v in rec.items() if k not in mapped and not isinstance(v, dict | list)}
        attributes = values.get("attributes")
        if extra and (attributes is None or isinstance(attributes, Mapping)):
            values["attributes"] = {**extra, **(attributes or {})}
        rows.append(RawRow(n, values))
    return SourceRows(
        name=path.stem,
        kind=path.suffix.lstrip(".").lower(),
        location=path,
        rows=rows,
        images_root=images or path.parent,
    )
