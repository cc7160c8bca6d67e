"""The loaders and checks on the real shared data sets (skipped when ../shared/data is absent)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from aisle.catalog import load_catalog
from aisle.catalog.loaders.crowdflower import load_crowdflower_judgments
from aisle.catalog.loaders.online_retail import NON_PRODUCT_CODES, load_online_retail_transactions
from aisle.config import Settings

pytestmark = pytest.mark.dataset


@pytest.mark.slow
def test_myntra_rows_and_verified_images(shared_data: Path, settings: Settings) -> None:
    folder = shared_data / "myntra"
    load = load_catalog(f"myntra:{folder}", settings=settings)
    images = {p.stem for p in (folder / "images").glob("*.jpg")}
    assert load.report.total_rows == 44_446
    assert load.report.with_verified_image == len(images) == 9_583
    assert load.report.valid_rows + load.report.quarantined_rows == 44_446
    assert {p.id for p in load.products if p.image} == images
    for item in load.quarantine:
        assert item.reasons and item.detail


def test_crowdflower_products_and_html_repairs(shared_data: Path, settings: Settings) -> None:
    train = shared_data / "crowdflower" / "train.csv"
    with train.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    distinct = {(r["product_title"].strip(), r["product_description"].strip()) for r in rows}
    load = load_catalog(f"crowdflower:{train}", settings=settings)
    assert load.report.total_rows == len(distinct)
    assert load.report.valid_rows == len(distinct)
    assert load.report.repairs["html_stripped"] > 0
    assert not any("<table" in p.description or "<td" in p.description for p in load.products)
    judgments = load_crowdflower_judgments(train)
    assert len(judgments) == len(rows)
    assert len({j.query_id for j in judgments}) == 261
    assert {j.product_id for j in judgments} == {p.id for p in load.products}


def test_online_retail_mess_is_caught(shared_data: Path) -> None:
    path = shared_data / "online_retail" / "online_retail_sample.csv"
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    load = load_online_retail_transactions(path)
    reasons = [set(q.reasons) for q in load.quarantine]
    assert sum("cancellation" in r for r in reasons) == sum(r["InvoiceNo"].startswith("C") for r in rows)
    assert sum("guest_purchase" in r for r in reasons) == sum(not r["CustomerID"].strip() for r in rows)
    assert sum("non_positive_quantity" in r for r in reasons) == sum(float(r["Quantity"]) <= 0 for r in rows)
    assert sum("not_a_product" in r for r in reasons) == sum(r["StockCode"] in NON_PRODUCT_CODES for r in rows)
    assert len(load.purchases) + len(load.quarantine) == len(rows)
    assert all(p.quantity > 0 and p.unit_price > 0 and p.customer_id for p in load.purchases)


def test_online_retail_products(shared_data: Path, settings: Settings) -> None:
    load = load_catalog(
        f"online_retail:{shared_data / 'online_retail' / 'online_retail_sample.csv'}", settings=settings
    )
    assert load.report.valid_rows > 3000
    assert all(p.price is not None and p.price > 0 and p.currency == "GBP" for p in load.products)
    assert not {p.id for p in load.products} & NON_PRODUCT_CODES
    assert load.report.extra["transactions"]["quarantine_reasons"]["cancellation"] > 0
