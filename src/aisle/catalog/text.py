"""Text normalisation for catalogue fields: encoding checks, HTML stripping, whitespace, length."""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

# Lone surrogates are what `errors="surrogateescape"` leaves where a source had bytes that are not UTF-8.
_SURROGATE = re.compile("[\udc80-\udcff]")
_TAG = re.compile(r"</?[a-zA-Z][^<>]*>|<!--.*?-->", re.DOTALL)
_DROPPED_ELEMENTS = re.compile(r"<(style|script|head|title)\b[^>]*>.*?</\1\s*>", re.DOTALL | re.IGNORECASE)
_BREAKS = re.compile(r"<(br|/p|/div|/li|/tr|/h[1-6])\b[^>]*>", re.IGNORECASE)
_ENTITY = re.compile(r"&(#\d+|#x[0-9a-fA-F]+|[a-zA-Z]{2,8});")
_UNSAFE_HTML = re.compile(r"<\s*(script|iframe|object|embed)\b|javascript\s*:|<[^>]+\son[a-z]+\s*=", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class CleanText:
    text: str
    repairs: frozenset[str]


_NO_REPAIRS: frozenset[str] = frozenset()


def _is_plain(text: str) -> bool:
    """Printable ASCII, no markup, single inner spaces: nothing to clean (the common case, checked fast)."""
    return (
        text.isascii()
        and text.isprintable()
        and "<" not in text
        and "&" not in text
        and "  " not in text
        and text[:1] != " "
        and text[-1:] != " "
    )


def has_invalid_encoding(text: str) -> bool:
    """True when the text carries bytes that were not valid UTF-8 in the source."""
    return _SURROGATE.search(text) is not None


def has_unsafe_html(text: str) -> bool:
    """Markup that executes (scripts, frames, event handlers) marks a row as tampered, not just formatted."""
    return _UNSAFE_HTML.search(text) is not None


def show_raw(text: str) -> str:
    """Printable form of a raw value, with undecodable bytes shown as \\xNN."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def clean_text(text: str, max_chars: int) -> CleanText:
    """Strip formatting HTML and entities, normalise Unicode (NFC) and whitespace, cap the length."""
    if _is_plain(text) and len(text) <= max_chars:
        return CleanText(text, _NO_REPAIRS)
    repairs: set[str] = set()
    out = text
    if "<" in out and _TAG.search(out):
        out = _DROPPED_ELEMENTS.sub(" ", out)
        out = _BREAKS.sub(" ", out)
        out = _TAG.sub(" ", out)
        repairs.add("html_stripped")
    if "&" in out and _ENTITY.search(out):
        out = html.unescape(out)
        repairs.add("html_entities_decoded")
    normalised = unicodedata.normalize("NFC", out)
    if normalised != out:
        repairs.add("unicode_normalised")
    out = _CONTROL.sub(" ", normalised)
    collapsed = _SPACES.sub(" ", out).strip()
    if collapsed != out:
        repairs.add("whitespace_normalised")
    out = collapsed
    if len(out) > max_chars:
        out = out[:max_chars].rsplit(" ", 1)[0]
        repairs.add("text_truncated")
    return CleanText(out, frozenset(repairs))


@lru_cache(maxsize=65_536)
def clean_label(text: str) -> str:
    """`clean_text` for short, highly repeated values (attribute values, category names), cached."""
    return clean_text(text, 200).text
