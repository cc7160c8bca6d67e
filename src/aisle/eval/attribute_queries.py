"""Attribute queries generated from a fashion catalogue (Myntra), graded by attribute match.

Queries name a colour and an article type, and usually a gender, in one of three templates:
"<colour> <article type> for <gender>", "<gender>'s <colour> <article type>" and "<article type> in <colour>".
Only attribute combinations that exist in the catalogue are used, and a seeded sample keeps the set small.
A product's grade: every named attribute matches -> 2; the article type only -> 1; else 0 (not kept).
"""

from __future__ import annotations

import hashlib
import random
from collections import defaultdict
from collections.abc import Mapping, Sequence

from aisle.catalog.judgments import query_id_for
from aisle.types import Product

COLOUR, ARTICLE, GENDER = "colour", "article_type", "gender"
# gender value -> (noun, possessive); genders not listed (e.g. "Unisex") get the gender-free template only
GENDER_WORDS: dict[str, tuple[str, str]] = {
    "Men": ("men", "men's"),
    "Women": ("women", "women's"),
    "Boys": ("boys", "boys'"),
    "Girls": ("girls", "girls'"),
}
_ARTICLE_WORDS = {"Tshirts": "t-shirts", "Lounge Tshirts": "lounge t-shirts"}
_COLOUR_WORDS = {"Multi": "multicoloured"}
_SKIP_VALUES = {"", "NA", "Free Gifts"}


def article_words(article_type: str) -> str:
    """How a shopper writes an article type: lower case ("Casual Shoes" -> "casual shoes")."""
    return _ARTICLE_WORDS.get(article_type, article_type.lower())


def colour_words(colour: str) -> str:
    return _COLOUR_WORDS.get(colour, colour.lower())


def query_text(attributes: Mapping[str, str]) -> str:
    """The query for a combination; the gendered template is chosen by a stable hash of the combination."""
    colour, article = colour_words(attributes[COLOUR]), article_words(attributes[ARTICLE])
    gender = attributes.get(GENDER)
    if gender is None:
        return f"{article} in {colour}"
    noun, possessive = GENDER_WORDS[gender]
    key = f"{attributes[COLOUR]}|{attributes[ARTICLE]}|{gender}".encode()
    if hashlib.sha1(key).digest()[0] % 2 == 0:
        return f"{colour} {article} for {noun}"
    return f"{possessive} {colour} {article}"


def grade(product: Product, attributes: Mapping[str, str]) -> int:
    """2 when every named attribute matches, 1 when only the article type does, else 0."""
    have = product.attributes
    if all(have.get(k) == v for k, v in attributes.items()):
        return 2
    return 1 if have.get(ARTICLE) == attributes[ARTICLE] else 0


def combinations(products: Sequence[Product]) -> list[dict[str, str]]:
    """Every (colour, article type[, gender]) combination that some product has, in a stable order."""
    seen: set[tuple[tuple[str, str], ...]] = set()
    for product in products:
        colour, article = product.attributes.get(COLOUR, ""), product.attributes.get(ARTICLE, "")
        if colour in _SKIP_VALUES or article in _SKIP_VALUES:
            continue
        seen.add(((COLOUR, colour), (ARTICLE, article)))
        gender = product.attributes.get(GENDER, "")
        if gender in GENDER_WORDS:
            seen.add(((COLOUR, colour), (ARTICLE, article), (GENDER, gender)))
    return [dict(combo) for combo in sorted(seen)]


def generate_attribute_queries(
    products: Sequence[Product], n_queries: int = 300, seed: int = 0
) -> tuple[dict[str, str], dict[str, dict[str, int]]]:
    """`n_queries` queries (fewer when the catalogue has fewer combinations) and their qrels (grades > 0)."""
    combos = combinations(products)
    by_article: dict[str, list[Product]] = defaultdict(list)
    for product in products:  # only products of the named article type can be graded above 0
        by_article[product.attributes.get(ARTICLE, "")].append(product)
    chosen = random.Random(seed).sample(combos, min(n_queries, len(combos)))
    queries: dict[str, str] = {}
    qrels: dict[str, dict[str, int]] = {}
    for attributes in sorted(chosen, key=query_text):
        text = query_text(attributes)
        qid = query_id_for(text)
        judged = {p.id: g for p in by_article[attributes[ARTICLE]] if (g := grade(p, attributes)) > 0}
        queries[qid], qrels[qid] = text, judged
    return queries, qrels
