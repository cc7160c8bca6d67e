"""How literally a candidate's text matches the query: the learned scorer's lexical features.

A small cross-encoder trained on a hundred queries misses what shoppers notice first: does the title name
every word I typed, does it say my phrase? These features say it directly, with the same stemmed,
stop-word-free terms as the BM25 retriever (`aisle.encoders.sparse.tokenize`), so "Dresses" matches
"dress".
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from aisle.encoders.sparse import tokenize

LEXICAL_FEATURES: tuple[str, ...] = (
    "title_coverage",  # share of the query's terms found in the title
    "description_coverage",  # ... in the description
    "title_has_all",  # 1 when the title holds every query term
    "title_has_phrase",  # 1 when the title holds the query's words in order, adjacent
    "title_terms",  # how many terms the title has (long titles list accessories and bundles)
)
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


@lru_cache(maxsize=32_768)  # titles and descriptions of recent candidates
def _terms(text: str) -> frozenset[str]:
    return frozenset(tokenize(text))


@lru_cache(maxsize=65_536)
def _words(text: str) -> str:
    """Lower-cased words joined by single spaces, padded, so a phrase test is a substring test."""
    return " " + " ".join(_WORD.findall(text.lower())) + " "


def lexical_features(query: str, hits: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """(n, len(LEXICAL_FEATURES)) for the query against each hit's title and description."""
    terms = _terms(query)
    phrase = _words(query)
    out = np.zeros((len(hits), len(LEXICAL_FEATURES)), dtype=np.float64)
    for i, hit in enumerate(hits):
        title = str(hit.get("title") or "")
        title_terms = _terms(title)
        if terms:
            found = len(terms & title_terms)
            out[i, 0] = found / len(terms)
            out[i, 1] = len(terms & _terms(str(hit.get("description") or ""))) / len(terms)
            out[i, 2] = float(found == len(terms))
        out[i, 3] = float(phrase.strip() != "" and phrase in _words(title))
        out[i, 4] = len(title_terms)
    return out
