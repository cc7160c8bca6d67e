"""Validation: raw source rows in, clean Products and a quarantine (with reasons) out.

Every row ends up in exactly one of the two. Valid rows are changed only by normalisation (HTML,
entities, Unicode, whitespace); what was repaired is counted in the report.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aisle.catalog import fields as F
from aisle.catalog.images import check_images, is_url
from aisle.catalog.quality import QualityReport, QualityTally, QuarantinedRow, build_report
from aisle.catalog.raw import RawRow, SourceRows
from aisle.catalog.text import clean_label, clean_text, has_invalid_encoding, has_unsafe_html
from aisle.config import Settings, get_settings
from aisle.types import Product

# A field this long is not a product's text but an accident or an attack: its row is quarantined.
MAX_FIELD_CHARS = 256 * 1024


@dataclass(frozen=True, slots=True)
class CatalogLoad:
    """The outcome of loading one source: clean products, the quarantine and the report."""

    name: str
    products: list[Product]
    quarantine: list[QuarantinedRow]
    report: QualityReport


@dataclass(slots=True)
class _Candidate:
    raw: RawRow
    product: Product
    image_path: Path | None
    repairs: frozenset[str]
    image_digest: str | None = None


class _RowRejected(Exception):
    def __init__(self, reasons: list[str], details: list[str]) -> None:
        super().__init__("; ".join(details))
        self.reasons = reasons
        self.details = details


def validate_source(source: SourceRows, settings: Settings | None = None) -> CatalogLoad:
    """Check every row of `source`; see the module docstring for the guarantees."""
    settings = settings or get_settings()
    started = time.perf_counter()
    tally = QualityTally()
    quarantine: list[QuarantinedRow] = []
    candidates: list[_Candidate] = []
    roots = _image_roots(source.images_root, settings)
    for raw in source.rows:
        try:
            candidates.append(_check_row(raw, source.images_root, roots, settings, tally))
        except _RowRejected as rejected:
            quarantine.append(_quarantined(raw, rejected.reasons, rejected.details))

    candidates = _drop_bad_images(candidates, settings, quarantine)
    products = _drop_duplicates(candidates, quarantine, tally)
    quarantine.sort(key=lambda item: item.row)
    report = build_report(
        source=str(source.location),
        kind=source.kind,
        total_rows=len(source.rows),
        valid_rows=len(products),
        with_verified_image=sum(1 for p in products if p.image and not is_url(p.image)),
        quarantine=quarantine,
        tally=tally,
        elapsed_s=time.perf_counter() - started,
        extra=source.extra_report,
    )
    return CatalogLoad(name=source.name, products=products, quarantine=quarantine, report=report)


def _quarantined(raw: RawRow, reasons: list[str], details: list[str]) -> QuarantinedRow:
    return QuarantinedRow(
        row=raw.row,
        id=F.parse_id(raw.fields.get("id")) if "id" in raw.fields else None,
        reasons=tuple(dict.fromkeys(reasons)),
        detail="; ".join(details),
        record=dict(raw.fields),
    )


def _strings_in(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [s for k, v in value.items() for s in (*_strings_in(k), *_strings_in(v))]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _strings_in(v)]
    return []


def _image_roots(images_root: Path | None, settings: Settings) -> tuple[Path, ...]:
    """The folders product photos may lie in, resolved once per catalogue (not once per row)."""
    return tuple(root.resolve() for root in (images_root, *settings.image_roots) if root is not None)


def _inside(path: Path, roots: tuple[Path, ...]) -> bool:
    """Whether `path` (symbolic links and `..` resolved) lies in one of the resolved `roots`."""
    resolved = path.resolve()
    return any(resolved.is_relative_to(root) for root in roots)


def _check_row(
    raw: RawRow, images_root: Path | None, roots: tuple[Path, ...], settings: Settings, tally: QualityTally
) -> _Candidate:
    values = raw.fields
    reasons: list[str] = []
    details: list[str] = []

    def reject(reason: str, detail: str) -> None:
        reasons.append(reason)
        details.append(detail)

    if "__error__" in values:
        raise _RowRejected(["malformed_row"], [str(values["__error__"])])
    huge = [name for name, value in values.items() if sum(map(len, _strings_in(value))) > MAX_FIELD_CHARS]
    if huge:  # before any other check reads it
        raise _RowRejected(["field_too_large"], [f"over {MAX_FIELD_CHARS:,} characters in {', '.join(huge)}"])
    bad_fields = [name for name, value in values.items() if any(map(has_invalid_encoding, _strings_in(value)))]
    if bad_fields:
        reject("invalid_encoding", f"bytes that are not UTF-8 in {', '.join(bad_fields)}")
    unsafe = [name for name in ("title", "description", "brand") if has_unsafe_html(str(values.get(name) or ""))]
    if unsafe:
        reject("unsafe_html", f"executable markup in {', '.join(unsafe)}")

    product_id = F.parse_id(values.get("id"))
    if not product_id:
        reject("missing_id", "no product id")
    repairs: set[str] = set()

    def text(name: str) -> str:
        value = values.get(name)
        if F.is_blank(value):
            return ""
        cleaned = clean_text(str(value), settings.max_text_chars)
        repairs.update(cleaned.repairs)
        return cleaned.text

    title = text("title")
    if not title:
        reject("missing_title", "no title (or only markup)")
    parsed: dict[str, Any] = {}
    for name, parse in (
        ("price", lambda v: F.parse_price(v, settings.max_price)),
        ("rating", F.parse_rating),
        ("in_stock", F.parse_in_stock),
        ("currency", F.parse_currency),
        ("category_path", F.as_path_parts),
        ("attributes", F.as_attributes),
    ):
        try:
            parsed[name] = parse(values.get(name))
        except F.FieldProblem as problem:
            reject(problem.reason, problem.detail)
    if reasons:
        raise _RowRejected(reasons, details)

    image_ref = None if F.is_blank(values.get("image")) else str(values["image"]).strip()
    image_path = None
    if image_ref and not is_url(image_ref):
        image_path = Path(image_ref)
        if not image_path.is_absolute() and images_root is not None:
            image_path = images_root / image_path
        if not _inside(image_path, roots):
            raise _RowRejected(["image_outside_catalog"], [f"{image_ref} is outside the catalogue's image folder"])
        image_ref = str(image_path)
    elif image_ref:
        tally.warn("image_url_not_verified", {"row": raw.row, "id": product_id, "image": image_ref})

    product = Product(
        id=str(product_id),
        title=title,
        description=text("description"),
        brand=text("brand") or None,
        category_path=tuple(c for c in map(clean_label, parsed["category_path"]) if c),
        attributes={k: v for k, v in ((k, clean_label(v)) for k, v in parsed["attributes"].items()) if v},
        price=parsed["price"],
        currency=parsed["currency"],
        rating=parsed["rating"],
        image=image_ref,
        in_stock=parsed["in_stock"],
    )
    return _Candidate(raw, product, image_path, frozenset(repairs))


def _drop_bad_images(
    candidates: list[_Candidate], settings: Settings, quarantine: list[QuarantinedRow]
) -> list[_Candidate]:
    with_files = [c for c in candidates if c.image_path is not None]
    checks = check_images((c.image_path for c in with_files if c.image_path), settings.image_check_workers)
    bad: set[int] = set()
    for candidate, check in zip(with_files, checks, strict=True):
        candidate.image_digest = check.digest
        if check.problem:
            bad.add(id(candidate))
            detail = f"{check.problem}: {candidate.image_path}"
            quarantine.append(_quarantined(candidate.raw, [check.problem], [detail]))
    return [c for c in candidates if id(c) not in bad]


def _content_key(product: Product, image_digest: str | None) -> str:
    """Everything but the id; the image by its bytes, so one photo under two paths still matches."""
    record = product.to_record()
    record.pop("id")
    record["image"] = image_digest or record["image"]
    return hashlib.sha1(json.dumps(record, sort_keys=True).encode()).hexdigest()


def _drop_duplicates(
    candidates: list[_Candidate], quarantine: list[QuarantinedRow], tally: QualityTally
) -> list[Product]:
    """First occurrence of an id wins; a later row with that id is quarantined.

    Different ids with identical content (the same photo included) are kept, but reported as a warning.
    """
    first_by_id: dict[str, tuple[int, str]] = {}
    first_by_content: dict[str, str] = {}
    products: list[Product] = []
    for candidate in candidates:
        product = candidate.product
        content = _content_key(product, candidate.image_digest)
        if product.id in first_by_id:
            first_row, first_key = first_by_id[product.id]
            reason = "duplicate_row" if content == first_key else "duplicate_id"
            detail = f"id {product.id!r} already used by row {first_row}"
            quarantine.append(_quarantined(candidate.raw, [reason], [detail]))
            continue
        first_by_id[product.id] = (candidate.raw.row, content)
        if content in first_by_content:
            tally.warn(
                "duplicate_content", {"row": candidate.raw.row, "id": product.id, "same_as": first_by_content[content]}
            )
        else:
            first_by_content[content] = product.id
        tally.repairs.update(candidate.repairs)
        products.append(product)
    return products
