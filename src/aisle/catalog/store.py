"""The clean catalogue on disk under AISLE_HOME/catalogs/<name>/: products, quarantine, quality report."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

from aisle.catalog.quality import write_report
from aisle.catalog.validate import CatalogLoad
from aisle.files import atomic_write
from aisle.types import Product

PRODUCTS_FILE = "products.jsonl"
MANIFEST_FILE = "manifest.json"


def save_catalog(load: CatalogLoad, folder: Path) -> Path:
    """Write the catalogue atomically (a crash mid-write leaves the previous version intact)."""

    def write(tmp: Path) -> None:
        with tmp.open("w", encoding="utf-8") as handle:
            for product in load.products:
                handle.write(json.dumps(product.to_record(), ensure_ascii=False) + "\n")

    atomic_write(folder / PRODUCTS_FILE, write)
    write_report(load.report, load.quarantine, folder)
    manifest = {
        "name": load.name,
        "source": load.report.source,
        "kind": load.report.kind,
        "products": len(load.products),
        "quarantined": len(load.quarantine),
        "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return folder


def iter_catalog(folder: Path) -> Iterator[Product]:
    path = folder / PRODUCTS_FILE
    if not path.is_file():
        raise FileNotFoundError(f"no stored catalogue in {folder}; run `aisle ingest SOURCE` first")
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            yield Product.from_record(json.loads(line))
