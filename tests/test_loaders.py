"""WANDS, ESCI, CrowdFlower and Online Retail loaders on small fixture files written here."""

from __future__ import annotations

from pathlib import Path

import pytest

from aisle.catalog import SourceError, load_catalog
from aisle.catalog.loaders.crowdflower import crowdflower_product_id, load_crowdflower_judgments
from aisle.catalog.loaders.esci import EXAMPLES_FILE, PRODUCTS_FILE, load_esci_judgments
from aisle.catalog.loaders.online_retail import load_online_retail_transactions
from aisle.catalog.loaders.wands import load_wands_judgments
from aisle.catalog.sources import parse_source
from aisle.config import Settings


def write_wands(folder: Path) -> Path:
    folder.mkdir()
    (folder / "product.csv").write_text(
        "product_id\tproduct_name\tproduct_class\tcategory hierarchy\tproduct_description\tproduct_features\t"
        "rating_count\taverage_rating\treview_count\n"
        "0\tsolid wood platform bed\tBeds\tFurniture / Bedroom Furniture / Beds\ta <b>sturdy</b> bed\t"
        "color:brown|material:pine\t15\t4.5\t15\n"
        "1\tgold sconce\tWall Lights\tLighting / Wall Lights\t\tcolor:gold\t0\t\t0\n"
        "2\t\tRugs\tDecor / Rugs\tno name\t\t0\t\t0\n"
    )
    (folder / "query.csv").write_text("query_id\tquery\tquery_class\n0\twood bed\tBeds\n1\tgold light\tLights\n")
    (folder / "label.csv").write_text(
        "id\tquery_id\tproduct_id\tlabel\n0\t0\t0\tExact\n1\t0\t1\tIrrelevant\n2\t1\t1\tPartial\n3\t9\t1\tExact\n"
    )
    return folder


def test_wands_products_and_judgments(tmp_path: Path, settings: Settings) -> None:
    folder = write_wands(tmp_path / "wands")
    load = load_catalog(f"wands:{folder}", settings=settings)
    bed = load.products[0]
    assert (bed.id, bed.title, bed.description, bed.rating) == ("0", "solid wood platform bed", "a sturdy bed", 4.5)
    assert bed.category_path == ("Furniture", "Bedroom Furniture", "Beds")
    assert bed.attributes == {"color": "brown", "material": "pine", "product_class": "Beds"}
    assert [q.reasons for q in load.quarantine] == [("missing_title",)]
    grades = {(j.query, j.product_id): j.grade for j in load_wands_judgments(folder)}
    assert grades == {("wood bed", "0"): 2, ("wood bed", "1"): 0, ("gold light", "1"): 1}


def test_esci_products_and_judgments(tmp_path: Path, settings: Settings) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    products = [
        {
            "product_id": "B01",
            "product_title": "USB-C cable 2m",
            "product_description": "<p>Fast</p>",
            "product_bullet_point": "Braided",
            "product_brand": "Anker",
            "product_color": "black",
            "product_locale": "us",
        },
        {
            "product_id": "B02",
            "product_title": "Câble USB",
            "product_description": None,
            "product_bullet_point": None,
            "product_brand": None,
            "product_color": None,
            "product_locale": "es",
        },
    ]
    examples = [
        {
            "example_id": 1,
            "query": "usb c cable",
            "query_id": 7,
            "product_id": "B01",
            "product_locale": "us",
            "esci_label": "E",
            "small_version": 1,
            "large_version": 1,
            "split": "train",
        },
        {
            "example_id": 2,
            "query": "cable usb",
            "query_id": 8,
            "product_id": "B02",
            "product_locale": "es",
            "esci_label": "S",
            "small_version": 1,
            "large_version": 1,
            "split": "train",
        },
    ]
    folder = tmp_path / "esci"
    folder.mkdir()
    pq.write_table(pa.Table.from_pylist(products), folder / PRODUCTS_FILE)
    pq.write_table(pa.Table.from_pylist(examples), folder / EXAMPLES_FILE)
    load = load_catalog(f"esci:{folder}", settings=settings)
    assert [(p.id, p.brand, p.description) for p in load.products] == [("B01", "Anker", "Fast Braided")]
    assert [(j.query_id, j.product_id, j.grade) for j in load_esci_judgments(folder)] == [("7", "B01", 3)]


def test_crowdflower_products_are_distinct_and_judgments_graded(tmp_path: Path, settings: Settings) -> None:
    train = tmp_path / "train.csv"
    train.write_text(
        "id,query,product_title,product_description,median_relevance,relevance_variance\n"
        '1,led lights,String Lights,"Warm white\nLED",4,0\n'
        '2,fairy lights,String Lights,"Warm white\nLED",3,0.4\n'
        "3,led lights,Lamp,,1,0\n"
    )
    load = load_catalog(f"crowdflower:{train}", settings=settings)
    assert [p.title for p in load.products] == ["String Lights", "Lamp"]
    judgments = load_crowdflower_judgments(tmp_path)
    lights = crowdflower_product_id("String Lights", "Warm white\nLED")
    assert [(j.query, j.product_id, j.grade) for j in judgments][:2] == [
        ("led lights", lights, 3),
        ("fairy lights", lights, 2),
    ]
    assert judgments[0].query_id == judgments[2].query_id != judgments[1].query_id


def test_online_retail_lines_are_checked(tmp_path: Path) -> None:
    path = tmp_path / "retail.csv"
    path.write_text(
        "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
        "1,A1,RED MUG,2,2011-01-01 10:00:00,2.5,17850.0,United Kingdom\n"
        "C2,A1,RED MUG,-2,2011-01-02 10:00:00,2.5,17850.0,United Kingdom\n"
        "3,A1,RED MUG,1,2011-01-03 10:00:00,2.5,,France\n"
        "4,POST,POSTAGE,1,2011-01-03 10:00:00,18,12345.0,France\n"
        "5,B2,,-5,2011-01-03 10:00:00,0,,United Kingdom\n"
    )
    load = load_online_retail_transactions(path)
    assert [(p.invoice, p.customer_id, p.quantity) for p in load.purchases] == [("1", "17850", 2)]
    reasons = {q.row: set(q.reasons) for q in load.quarantine}
    assert reasons == {
        2: {"cancellation", "non_positive_quantity"},
        3: {"guest_purchase"},
        4: {"not_a_product"},
        5: {"missing_description", "guest_purchase", "non_positive_quantity", "non_positive_price"},
    }


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("catalogue.xlsx", "unknown source"),
        ("myntra:", "needs a path"),
        ("wands:/no/such/dir", "no such folder"),
        ("/no/such/file.csv", "no such file"),
    ],
)
def test_bad_sources_raise_clear_errors(spec: str, message: str) -> None:
    with pytest.raises(SourceError, match=message):
        load_catalog(spec)


def test_unknown_mapping_field_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("sku,name\n1,Lamp\n")
    with pytest.raises(SourceError, match="unknown product field"):
        load_catalog(str(path), mapping={"colour": "name"})
    with pytest.raises(SourceError, match="not in the file"):
        load_catalog(str(path), mapping={"title": "label"})


def test_parse_source_kinds() -> None:
    assert parse_source("myntra:../data/myntra") == ("myntra", Path("../data/myntra"))
    assert parse_source("shop.parquet") == ("file", Path("shop.parquet"))
