"""HTML for product cards, the result gallery, "why this result" and the product page.

Catalogue and user text is data: everything shown is HTML-escaped (and `$` too, which Gradio's HTML
component would otherwise read as a template placeholder).
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

from aisle.ui.service import image_url, product_url

_SYMBOLS = {"GBP": "£", "USD": "$", "EUR": "€", "INR": "₹", "JPY": "¥"}
_RETRIEVERS = {
    "bm25": "keyword match (BM25)",
    "text": "meaning of the words (text embedding)",
    "image": "look (CLIP image)",
    "clip_text": "title seen by CLIP",
    "fused": "fused score",
    "matched_attributes": "recognised attributes it matches",
    "relevance": "re-ranker's relevance (cross-encoder)",
    "before_personal": "score before your history",
    "personal": "your history (personal score)",
}
_SHOWN_ATTRIBUTES = ("gender", "colour", "article_type", "usage", "season", "brand")

CSS = """
.aisle-grid {display:grid; grid-template-columns:repeat(auto-fill,minmax(190px,1fr)); gap:12px;}
.aisle-card {border:1px solid #ddd; border-radius:8px; padding:8px; background:#fff; color:#222;}
.aisle-card img {width:100%; height:200px; object-fit:contain; background:#f6f6f6; border-radius:6px;}
.aisle-noimg {height:200px; display:flex; align-items:center; justify-content:center; background:#f6f6f6;}
.aisle-title {font-weight:600; margin:6px 0 2px; font-size:14px;}
.aisle-price {font-weight:700; color:#0a6b2d;}
.aisle-attrs {font-size:12px; color:#555;}
.aisle-why {font-size:12px; margin-top:4px;}
.aisle-why table {width:100%;}
.aisle-empty {padding:16px; color:#555;}
.aisle-reason {font-size:12px; color:#6b3fa0; margin-top:4px;}
.aisle-hidden {display:none !important;}
"""


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True).replace("$", "&#36;")


def price_text(price: Any, currency: Any) -> str:
    if not isinstance(price, int | float) or isinstance(price, bool):
        return ""
    symbol = _SYMBOLS.get(str(currency or "").upper())
    return f"{symbol}{price:,.2f}" if symbol else f"{price:,.2f} {currency or ''}".strip()


def _attributes(product: Mapping[str, Any]) -> list[tuple[str, str]]:
    attributes = dict(product.get("attributes") or {})
    if product.get("brand"):
        attributes.setdefault("brand", product["brand"])
    first = [(k, attributes[k]) for k in _SHOWN_ATTRIBUTES if attributes.get(k)]
    rest = [(k, v) for k, v in attributes.items() if k not in _SHOWN_ATTRIBUTES and v]
    return [(k, str(v)) for k, v in (first + rest)[:6]]


def _has(value: Any, wanted: Any) -> bool:
    return bool(value == wanted or (isinstance(value, list) and wanted in value))


def why_html(hit: Mapping[str, Any], understood: Mapping[str, Any]) -> str:
    """Each retriever's own score for this hit, and which recognised attributes it has."""
    rows = [("final score", f"{float(hit.get('score', 0.0)):.4f}")]
    for name, value in (hit.get("scores") or {}).items():
        label = _RETRIEVERS.get(name, name.replace("_", " "))
        rows.append((label, f"{value:.4f}" if isinstance(value, float) else str(value)))
    matched = [f"{k} = {v}" for k, v in understood.items() if k != "price" and _has(hit.get(k), v)]
    body = "".join(f"<tr><td>{esc(k)}</td><td>{esc(v)}</td></tr>" for k, v in rows)
    extra = f"<div>matches: {esc(', '.join(matched))}</div>" if matched else ""
    return f'<details class="aisle-why"><summary>Why this result</summary><table>{body}</table>{extra}</details>'


def card_html(product: Mapping[str, Any], *, why: str = "") -> str:
    product_id = str(product.get("id", ""))
    title = esc(product.get("title", product_id))
    link = esc(product_url(product_id))
    if product.get("image") or product.get("image_url"):
        picture = f'<img src="{esc(image_url(product_id))}" alt="{title}" loading="lazy">'
    else:
        picture = '<div class="aisle-noimg">no photo</div>'
    price = price_text(product.get("price"), product.get("currency"))
    attrs = " · ".join(f"{esc(k)}: {esc(v)}" for k, v in _attributes(product))
    reason = product.get("personal_reason")
    why = (f'<div class="aisle-reason">{esc(reason)}</div>' if isinstance(reason, str) and reason else "") + why
    return (
        f'<div class="aisle-card" data-product-id="{esc(product_id)}">'
        f'<a href="{link}" target="_blank" rel="noopener">{picture}</a>'
        f'<div class="aisle-title"><a href="{link}" target="_blank" rel="noopener">{title}</a></div>'
        + (f'<div class="aisle-price">{esc(price)}</div>' if price else "")
        + f'<div class="aisle-attrs">{attrs}</div>{why}</div>'
    )


def gallery_html(response: Mapping[str, Any]) -> str:
    results: Sequence[Mapping[str, Any]] = response.get("results") or []
    if not results:
        return '<div class="aisle-empty">No products match. Try fewer words or remove a filter.</div>'
    understood = response.get("understood") or {}
    cards = "".join(card_html(hit, why=why_html(hit, understood)) for hit in results)
    ms = (response.get("timings_ms") or {}).get("total")
    took = f" in {ms:.0f} ms" if isinstance(ms, int | float) else ""
    summary = f'<div class="aisle-summary">{len(results)} products{took}</div>'
    return f'{summary}<div class="aisle-grid" id="aisle-results">{cards}</div>'


def cards_html(products: Sequence[Mapping[str, Any]]) -> str:
    """Product cards for the chat tab (the products the assistant's tools returned)."""
    if not products:
        return ""
    return '<div class="aisle-grid aisle-chat-cards">' + "".join(card_html(p) for p in products) + "</div>"


def error_html(message: str) -> str:
    return f'<div class="aisle-empty aisle-error">{esc(message)}</div>'


def product_page(product: Mapping[str, Any]) -> str:
    """A plain page for one product (the cards' links open it)."""
    product_id = str(product.get("id", ""))
    title = esc(product.get("title", product_id))
    picture = f'<img src="{esc(image_url(product_id))}" alt="{title}">' if product.get("image") else ""
    price = price_text(product.get("price"), product.get("currency"))
    facts = "".join(
        f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>"
        for k, v in [("id", product_id), ("price", price), ("brand", product.get("brand") or "")]
        + list(dict(product.get("attributes") or {}).items())
        if v
    )
    description = f"<p>{esc(product['description'])}</p>" if product.get("description") else ""
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title>"
        "<style>body{font-family:sans-serif;max-width:720px;margin:24px auto}img{max-width:320px}"
        "th{text-align:left;padding-right:12px}</style></head>"
        f"<body><p><a href='/'>&larr; aisle</a></p><h1>{title}</h1>{picture}{description}<table>{facts}</table>"
        "</body></html>"
    )
