"""Myntra "Fashion Product Images (Small)": `styles.csv` plus `images/<id>.jpg` (only some ids have one)."""

from __future__ import annotations

from pathlib import Path

from aisle.catalog.raw import RawRow, SourceRows, read_delimited, require_dir, require_file

ATTRIBUTE_COLUMNS = {
    "gender": "gender",
    "masterCategory": "master_category",
    "subCategory": "sub_category",
    "articleType": "article_type",
    "baseColour": "colour",
    "season": "season",
    "year": "year",
    "usage": "usage",
}
_GENDER_WORDS = ("Men", "Women", "Boys", "Girls", "Unisex", "Kids")


def brand_from_title(title: str, gender: str) -> str | None:
    """Myntra titles read '<Brand> <Gender> <rest>': the words before the gender word are the brand."""
    words = title.split()
    for i, word in enumerate(words):
        if i > 0 and (word == gender or word in _GENDER_WORDS):
            return " ".join(words[:i])
    return None


def load_myntra(folder: Path, images: Path | None = None) -> SourceRows:
    folder = require_dir(folder, "Myntra catalogue")
    styles = require_file(folder / "styles.csv", "Myntra catalogue")
    images_dir = images or folder / "images"
    existing = {p.name for p in images_dir.iterdir()} if images_dir.is_dir() else set()
    rows = []
    for n, rec in enumerate(read_delimited(styles), start=1):
        product_id = (rec.get("id") or "").strip()
        title = rec.get("productDisplayName") or ""
        image_name = f"{product_id}.jpg"
        rows.append(
            RawRow(
                n,
                {
                    "id": product_id,
                    "title": title,
                    "brand": brand_from_title(title, (rec.get("gender") or "").strip()),
                    "category_path": [rec.get(c) or "" for c in ("masterCategory", "subCategory", "articleType")],
                    "attributes": {k: rec.get(c) for c, k in ATTRIBUTE_COLUMNS.items()},
                    "image": image_name if image_name in existing else None,
                },
            )
        )
    return SourceRows(name="myntra", kind="myntra", location=folder, rows=rows, images_root=images_dir)
