"""What kinds of product the catalogue carries, to answer "we don't carry that" plainly instead of showing
weak matches (or, worse, a policy).

A query names a kind the shop lacks when it has product words (what is left after colours, genders, brands,
prices and shopping words are taken out) and none of them is a catalogue kind: not a stem of a category facet
value (article type, category, sub-category, usage), not a word of a result's title, and not close to a kind
by MiniLM cosine ("sneakers" is close to "Casual Shoes"; "laptops" is close to nothing a fashion shop sells)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from aisle.assistant.catalog_port import ProductSearch
from aisle.assistant.slots import COLOURS
from aisle.encoders.sparse import tokenize

KIND_FIELDS = ("article_type", "category", "sub_category", "master_category", "usage")
NAMED_FIELDS = ("brand", "colour", "gender", "season")
KIND_COSINE = 0.6  # a product word this close to a catalogue kind is that kind (eval set: carried >= 0.64,
# lacked <= 0.56)
_SHOPPING = """something anything stuff thing things gift gifts present presents dad mom mum mother father wife
    husband son daughter friend sister brother boyfriend girlfriend kid kids child children baby party wedding
    office work casual formal summer winter spring autumn birthday outfit outfits clothes clothing wear fashion new
    nice cheap cheaper good best latest trendy look looks style stylish size sizes sell sells selling carry carries
    stock stocked have has had buy buying need needs want wants looking shop store collection range available
    price prices under over below above any some option options brand brands colour colours color colors pair pairs
    men women man woman ladies girls boys unisex mens womens gents male female kind kinds type types sort
    something else more show tell find get give me please you do does your what which any got sale offers deal
    deals online today cool comfortable light dark bright quality premium original genuine from after can could
    order orders here there year years old age for with the and this that these those like similar just also"""
SHOPPING_STEMS = frozenset(tokenize(_SHOPPING))


@dataclass(frozen=True, slots=True)
class Coverage:
    """The product words of a query the catalogue lacks (empty: carried) and the closest kinds it has."""

    missing: list[str]
    closest: list[str]


class CatalogueKinds:
    def __init__(self, kinds: Sequence[str], named: Sequence[str], encoder: Any) -> None:
        self.kinds = list(dict.fromkeys(k for k in kinds if k and k.upper() != "NA"))
        self.kind_stems = {stem for kind in self.kinds for stem in tokenize(kind)}
        self.named_stems = {stem for value in [*named, *COLOURS] for stem in tokenize(value)}
        self.encoder = encoder
        self._vectors: np.ndarray | None = None

    @classmethod
    def of(cls, pipeline: ProductSearch | None, encoder: Any) -> CatalogueKinds | None:
        """From the catalogue's own facet values; None without a catalogue or without category fields."""
        if pipeline is None:
            return None
        fields = pipeline.filter_fields
        kinds = [v for f in KIND_FIELDS if f in fields for v in pipeline.facet_values(f, limit=1000)]
        if not kinds:
            return None
        named = [v for f in NAMED_FIELDS if f in fields for v in pipeline.facet_values(f, limit=1000)]
        return cls(kinds, named, encoder)

    def product_words(self, query: str) -> list[str]:
        words = re.findall(r"[^\W\d_]+", query.lower())
        out = []
        for word in words:
            stems = tokenize(word)
            if stems and stems[0] not in SHOPPING_STEMS and stems[0] not in self.named_stems and len(word) > 2:
                out.append(word)
        return list(dict.fromkeys(out))

    def coverage(self, query: str, results: Sequence[dict[str, Any]]) -> Coverage:
        words = self.product_words(query)
        if not words:
            return Coverage([], [])
        known = self.kind_stems | {stem for hit in results for stem in tokenize(str(hit.get("title", "")))}
        if any(tokenize(w)[0] in known for w in words):
            return Coverage([], [])
        similarity = self._similarity(words)
        if float(similarity.max()) >= KIND_COSINE:
            return Coverage([], [])
        order = np.argsort(-similarity.max(axis=0))
        return Coverage(words, [self.kinds[i] for i in order[:3]])

    def _similarity(self, words: list[str]) -> np.ndarray:
        """Cosine of each word (and of the words together) to each kind: shape (len(words) + 1, kinds)."""
        if self._vectors is None:
            self._vectors = np.asarray(self.encoder.encode_documents(self.kinds), dtype=np.float32)
        phrases = [*words, " ".join(words)] if len(words) > 1 else words
        queries = np.asarray(self.encoder.encode_queries(phrases), dtype=np.float32)
        return queries @ self._vectors.T
