"""A catalogue with injected bad rows: each is quarantined with the right reason, every good row kept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aisle.catalog import load_catalog
from aisle.config import Settings
from tests.conftest import jpeg_bytes

HEADER = b"id,title,description,price,image\n"
GOOD_ROWS = [
    (b"p1", b"Blue Denim Jacket", b"Classic fit", b"59.90", b"p1.jpg"),
    (b"p2", b"Red Running Shoes", b"<p>Light <b>mesh</b> upper</p>", b"89.00", b"p2.jpg"),
    (b"p3", b"Leather Belt", b"", b"", b""),
    (b"p4", b"Wool Scarf", b"Warm &amp; soft", b"19.5", b""),
]
# (row fields, the reason it must be quarantined with)
BAD_ROWS = [
    ((b"", b"Nameless Hat", b"", b"10", b""), "missing_id"),
    ((b"p1", b"Another Jacket", b"reuses p1", b"10", b""), "duplicate_id"),
    ((b"p5", b"Green Cap", b"", b"12", b"corrupt.jpg"), "image_corrupt"),
    ((b"p6", b"Socks <script>steal()</script>", b"", b"5", b""), "unsafe_html"),
    ((b"p7", b"Silk Tie", b"", b"-4.99", b""), "negative_price"),
    ((b"p8", b"Caf\xe9 Mug", b"", b"8", b""), "invalid_encoding"),
    ((b"p9", b"", b"no title at all", b"8", b""), "missing_title"),
    ((b"p10", b"Gold Ring", b"", b"99999999999", b""), "implausible_price"),
    ((b"p11", b"Mystery Box", b"", b"lots", b""), "invalid_price"),
    ((b"p12", b"Sun Hat", b"", b"15", b"not-there.jpg"), "image_missing"),
    ((b"p2", b"Red Running Shoes", b"<p>Light <b>mesh</b> upper</p>", b"89.00", b"p2.jpg"), "duplicate_row"),
    # over the csv module's own field limit, which used to abort the whole file
    ((b"p13", b"Huge " * 210_000, b"", b"5", b""), "field_too_large"),
    # a readable file, but outside the catalogue's folder: never opened
    ((b"p14", b"Stolen Key", b"", b"5", b"/etc/hostname"), "image_outside_catalog"),
    ((b"p15", b"Sneaky Path", b"", b"5", b"../outside.jpg"), "image_outside_catalog"),
]


def write_catalogue(folder: Path) -> Path:
    (folder / "p1.jpg").write_bytes(jpeg_bytes((10, 20, 200)))
    (folder / "p2.jpg").write_bytes(jpeg_bytes((200, 20, 10)))
    data = jpeg_bytes()
    (folder / "corrupt.jpg").write_bytes(data[: len(data) // 2])
    rows = [
        GOOD_ROWS[0],
        BAD_ROWS[0][0],
        GOOD_ROWS[1],
        *[r for r, _ in BAD_ROWS[1:6]],
        GOOD_ROWS[2],
        *[r for r, _ in BAD_ROWS[6:]],
        GOOD_ROWS[3],
    ]
    path = folder / "catalogue.csv"
    path.write_bytes(HEADER + b"".join(b",".join(b'"%s"' % f for f in row) + b"\n" for row in rows))
    return path


def test_each_bad_row_is_quarantined_with_its_reason(tmp_path: Path, settings: Settings) -> None:
    load = load_catalog(str(write_catalogue(tmp_path)), settings=settings)
    reasons_by_title = {q.record.get("title"): q.reasons for q in load.quarantine}
    for fields, reason in BAD_ROWS:
        title = fields[1].decode("utf-8", "surrogateescape")
        assert reasons_by_title[title] == (reason,) or reason in reasons_by_title[title], (title, reason)
    assert len(load.quarantine) == len(BAD_ROWS)
    assert load.report.quarantined_rows == len(BAD_ROWS)
    assert sum(load.report.quarantine_reasons.values()) == len(BAD_ROWS)


def test_every_good_row_is_kept_and_only_normalised(tmp_path: Path, settings: Settings) -> None:
    load = load_catalog(str(write_catalogue(tmp_path)), settings=settings)
    by_id = {p.id: p for p in load.products}
    assert sorted(by_id) == ["p1", "p2", "p3", "p4"]
    assert by_id["p1"].title == "Blue Denim Jacket" and by_id["p1"].price == 59.90
    assert by_id["p1"].image == str(tmp_path / "p1.jpg")
    assert by_id["p2"].description == "Light mesh upper"
    assert by_id["p3"].price is None and by_id["p3"].image is None
    assert by_id["p4"].description == "Warm & soft"
    assert load.report.with_verified_image == 2
    assert load.report.repairs["html_stripped"] == 1


def test_the_first_of_two_rows_with_one_id_wins(tmp_path: Path, settings: Settings) -> None:
    load = load_catalog(str(write_catalogue(tmp_path)), settings=settings)
    p1 = next(p for p in load.products if p.id == "p1")
    assert p1.title == "Blue Denim Jacket"
    dup = next(q for q in load.quarantine if q.reasons == ("duplicate_id",))
    assert "row 1" in dup.detail


def test_report_and_quarantine_files_hold_every_reason(tmp_path: Path, settings: Settings) -> None:
    from aisle.catalog.quality import write_report

    load = load_catalog(str(write_catalogue(tmp_path)), settings=settings)
    report_path = write_report(load.report, load.quarantine, tmp_path / "out")
    report = json.loads(report_path.read_text())
    assert set(report["quarantine_reasons"]) == {reason for _, reason in BAD_ROWS}
    lines = [json.loads(line) for line in (tmp_path / "out" / "quarantine.jsonl").read_text().splitlines()]
    assert len(lines) == len(BAD_ROWS)
    encoding_row = next(line for line in lines if "invalid_encoding" in line["reasons"])
    assert encoding_row["record"]["title"] == "Caf\\xe9 Mug"  # the raw byte is kept, visibly


def test_myntra_layout_with_injected_rows(tmp_path: Path, settings: Settings) -> None:
    (tmp_path / "images").mkdir()
    header = "id,gender,masterCategory,subCategory,articleType,baseColour,season,year,usage,productDisplayName\n"
    rows = [
        "1,Men,Apparel,Topwear,Shirts,Navy Blue,Fall,2011,Casual,Turtle Check Men Navy Blue Shirt",
        "2,Women,Accessories,Watches,Watches,Silver,Winter,2016,Casual,Titan Women Silver Watch",
        "3,Men,Apparel,Topwear,Tshirts,Red,Summer,2012,Casual,Puma Men Red Tshirt",
        ",Men,Apparel,Topwear,Tshirts,Red,Summer,2012,Casual,No Id Men Tshirt",
        "2,Men,Apparel,Topwear,Tshirts,Red,Summer,2012,Casual,Other Men Tshirt",
    ]
    (tmp_path / "styles.csv").write_text(header + "\n".join(rows) + "\n")
    (tmp_path / "images" / "1.jpg").write_bytes(jpeg_bytes())
    (tmp_path / "images" / "3.jpg").write_bytes(b"\xff\xd8\xff\xe0 broken")
    load = load_catalog(f"myntra:{tmp_path}", settings=settings)
    assert [p.id for p in load.products] == ["1", "2"]
    shirt = load.products[0]
    assert shirt.brand == "Turtle Check" and shirt.category_path == ("Apparel", "Topwear", "Shirts")
    assert shirt.attributes["colour"] == "Navy Blue" and shirt.image == str(tmp_path / "images" / "1.jpg")
    assert load.products[1].image is None  # Myntra products without a photo are kept, imageless
    assert sorted(r for q in load.quarantine for r in q.reasons) == ["duplicate_id", "image_corrupt", "missing_id"]


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_jsonl_and_parquet_use_the_same_checks(tmp_path: Path, settings: Settings, suffix: str) -> None:
    records = [
        {"sku": "a", "name": "Lamp", "cost": 20.0, "colour": "white"},
        {"sku": "b", "name": "Desk", "cost": -1.0, "colour": "oak"},
        {"sku": None, "name": "Chair", "cost": 5.0, "colour": "grey"},
    ]
    path = tmp_path / f"catalogue{suffix}"
    if suffix == ".jsonl":
        path.write_text("\n".join(json.dumps(r) for r in records) + "\n{not json\n")
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.Table.from_pylist(records), path)
    load = load_catalog(str(path), mapping={"price": "cost"}, settings=settings)
    assert [(p.id, p.title, p.price, dict(p.attributes)) for p in load.products] == [
        ("a", "Lamp", 20.0, {"colour": "white"})
    ]
    expected = {"negative_price", "missing_id"} | ({"malformed_row"} if suffix == ".jsonl" else set())
    assert {r for q in load.quarantine for r in q.reasons} == expected
