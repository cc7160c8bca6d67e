"""What loaders hand to validation: source rows already mapped to the canonical product fields."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Canonical field names a loader may fill. Values are raw (strings from CSV, anything from Parquet/JSONL);
# validation parses and checks them.
PRODUCT_FIELDS = (
    "id",
    "title",
    "description",
    "brand",
    "category_path",
    "attributes",
    "price",
    "currency",
    "rating",
    "image",
    "in_stock",
)


@dataclass(frozen=True, slots=True)
class RawRow:
    row: int  # 1-based data row in the source, header excluded
    fields: Mapping[str, Any]


@dataclass(slots=True)
class SourceRows:
    """A loaded source before validation."""

    name: str  # default catalogue / collection name
    kind: str  # myntra, crowdflower, wands, esci, online_retail, csv, jsonl, parquet
    location: Path
    rows: list[RawRow]
    images_root: Path | None = None  # relative image paths resolve against this
    # extra sections for the quality report (e.g. the Online Retail transaction checks)
    extra_report: dict[str, Any] = field(default_factory=dict)


class SourceError(Exception):
    """A source that cannot be read at all (missing file, wrong format): nothing can be ingested."""


def open_text(path: Path) -> Any:
    """Open a text file so that bytes that are not UTF-8 survive as lone surrogates for validation."""
    if not path.is_file():
        raise SourceError(f"no such file: {path}")
    return path.open("r", encoding="utf-8", errors="surrogateescape", newline="")


# The csv module stops a whole file at a field over its limit (128 KiB by default). Read fields up to this
# size so that validation can quarantine the one row (`field_too_large`) and keep every other.
CSV_FIELD_LIMIT = 64 * 1024 * 1024


def read_delimited(path: Path, delimiter: str = ",") -> Iterator[dict[str, str]]:
    """Rows of a CSV/TSV file as dicts (header names stripped), tolerant of bad bytes."""
    if csv.field_size_limit() < CSV_FIELD_LIMIT:
        csv.field_size_limit(CSV_FIELD_LIMIT)
    with open_text(path) as handle:
        reader = csv.DictReader(handle, delimiter=delimiter)
        if reader.fieldnames is None:
            raise SourceError(f"{path} is empty")
        reader.fieldnames = [name.strip().lstrip("\ufeff") for name in reader.fieldnames]
        try:
            yield from reader
        except csv.Error as exc:
            raise SourceError(f"{path}: line {reader.line_num}: {exc}") from None


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """Objects of a JSON-lines file; a line that is not a JSON object becomes {"__error__": ...}."""
    with open_text(path) as handle:
        for line in handle:
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                yield {"__error__": f"invalid JSON: {exc.msg}"}
                continue
            yield obj if isinstance(obj, dict) else {"__error__": "line is not a JSON object"}


def require_dir(path: Path, what: str) -> Path:
    if not path.is_dir():
        raise SourceError(f"{what}: no such folder: {path}")
    return path


def require_file(path: Path, what: str) -> Path:
    if not path.is_file():
        raise SourceError(f"{what}: no such file: {path}")
    return path
