"""Simulated shoppers on a fashion catalogue (Myntra's attributes), their histories, their queries and what is
relevant to each of them: the test bed of `aisle eval personal-search`.

A shopper's profile is drawn from the catalogue's own attribute distribution: a gender (by product share), two
or three article types of that gender, two colour leanings and a usage leaning within them. The history holds
views, clicks, add-to-carts and purchases of products that fit the profile (gender, an article type, usually
a favoured colour) with noise: a share of events on any product of the catalogue. Each shopper asks three
queries: ambiguous ("shoes", "t-shirts": the profile decides), partly specified ("black shoes") and fully
specified ("red dresses for women": the profile must not override it; 30% of the time for another gender or
type, as a gift).

Relevance of a product = (it matches every attribute the query names) x (its gender fits the shopper) x
(1 + article type fit + colour fit + usage fit): a men's shoe is no answer to "shoes" for a woman who buys
women's shoes. An attribute the query names counts as fitting: the query decides it, not the profile
("sandals for men" asked by a woman is a gift). Everything is seeded; dev and test shoppers are apart (a
hash of the shopper id).
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from aisle.catalog.split import split_of
from aisle.eval.attribute_queries import ARTICLE, COLOUR, GENDER, GENDER_WORDS, article_words, colour_words, query_text
from aisle.personal.blend import history_bucket
from aisle.types import BehaviourEvent, EventType, Product

SUB_CATEGORY, USAGE = "sub_category", "usage"
# sub-categories a shopper names with one word that covers several article types ("shoes": casual, sports,
# formal, heels...); other article types are asked for by their own name ("t-shirts", "kurtas")
BROAD_WORDS = {
    "Shoes": "shoes",
    "Watches": "watches",
    "Bags": "bags",
    "Sandal": "sandals",
    "Flip Flops": "flip flops",
    "Eyewear": "sunglasses",
    "Belts": "belts",
    "Wallets": "wallets",
    "Jewellery": "jewellery",
}
HISTORY_LENGTHS = ((0, 0), (1, 4), (5, 20), (21, 40))
NOISE = 0.2  # share of events on any product, off the profile
COLOUR_LOYALTY = 0.7  # share of on-profile events in a favoured colour
MIN_PRODUCTS = 15  # an article type with fewer products (for a gender) is not part of a profile
_EVENT_TYPES = (EventType.VIEW, EventType.VIEW, EventType.VIEW, EventType.CLICK, EventType.ADD_TO_CART)
_KIDS = ("Boys", "Girls")


@dataclass(frozen=True, slots=True)
class Shopper:
    id: str
    gender: str
    article_types: tuple[str, ...]
    colours: tuple[str, ...]
    usage: str
    history: tuple[tuple[str, EventType], ...]  # (product id, kind), oldest first

    @property
    def split(self) -> str:
        return split_of(self.id)


@dataclass(frozen=True, slots=True)
class ShopperQuery:
    qid: str
    shopper: str
    text: str
    kind: str  # ambiguous / partly / specified
    named: dict[str, str]  # the attributes the query names (what relevance requires)
    history: str  # the shopper's history bucket ("0", "1-4", "5-20", "21+")


def _pick(rng: random.Random, counts: Mapping[str, int], k: int) -> list[str]:
    """k distinct values drawn in proportion to their counts."""
    pool = dict(counts)
    out: list[str] = []
    while pool and len(out) < k:
        value = rng.choices(list(pool), weights=list(pool.values()))[0]
        out.append(value)
        del pool[value]
    return out


def _fits_gender(product_gender: str | None, gender: str) -> bool:
    return product_gender == gender or (product_gender == "Unisex" and gender not in _KIDS)


class ShopperWorld:
    """The catalogue seen as attribute distributions, and the shoppers and queries drawn from it."""

    def __init__(self, corpus: Sequence[Product], seed: int = 0) -> None:
        self.products = {p.id: dict(p.attributes) for p in corpus}
        self.rng = random.Random(seed)
        self.by_gender_type: dict[tuple[str, str], list[str]] = defaultdict(list)
        for pid, a in self.products.items():
            self.by_gender_type[(a.get(GENDER, ""), a.get(ARTICLE, ""))].append(pid)
        genders = Counter(str(a.get(GENDER)) for a in self.products.values() if a.get(GENDER) in GENDER_WORDS)
        # a gender with fewer than two article types of MIN_PRODUCTS products cannot make a profile
        self.genders = Counter({g: n for g, n in genders.items() if len(self._profile_types(g)) >= 2})

    def _profile_types(self, gender: str) -> Counter[str]:
        return Counter(
            {t: len(ids) for (g, t), ids in self.by_gender_type.items() if g == gender and len(ids) >= MIN_PRODUCTS}
        )

    def shopper(self, n: int) -> Shopper:
        rng = self.rng
        gender = _pick(rng, self.genders, 1)[0]
        types = _pick(rng, self._profile_types(gender), rng.choice((2, 3)))
        fitting = [p for t in types for p in self.by_gender_type[(gender, t)]]
        colours = _pick(rng, Counter(self.products[p].get(COLOUR, "") for p in fitting), 2)
        usage = _pick(rng, Counter(self.products[p].get(USAGE, "") for p in fitting), 1)[0]
        low, high = HISTORY_LENGTHS[n % len(HISTORY_LENGTHS)]
        loyal = [p for p in fitting if self.products[p].get(COLOUR) in colours] or fitting
        everything = list(self.products)
        history = []
        for _ in range(rng.randint(low, high)):
            if rng.random() < NOISE:
                product = rng.choice(everything)
            else:
                product = rng.choice(loyal if rng.random() < COLOUR_LOYALTY else fitting)
            kind = EventType.PURCHASE if rng.random() < 0.1 else rng.choice(_EVENT_TYPES)
            history.append((product, kind))
        return Shopper(f"sim-{n:04d}", gender, tuple(types), tuple(colours), usage, tuple(history))

    def _word(self, article_type: str) -> tuple[str, dict[str, str]]:
        """The ambiguous query for an article type: its sub-category's broad word, else its own name."""
        sample = next(a for a in self.products.values() if a.get(ARTICLE) == article_type)
        sub = sample.get(SUB_CATEGORY, "")
        if sub in BROAD_WORDS:
            return BROAD_WORDS[sub], {SUB_CATEGORY: sub}
        return article_words(article_type), {ARTICLE: article_type}

    def queries(self, shopper: Shopper) -> list[ShopperQuery]:
        rng = self.rng
        bucket = history_bucket(len(shopper.history))
        article = rng.choice(shopper.article_types)
        word, named = self._word(article)
        matching = [a for a in self.products.values() if all(a.get(k) == v for k, v in named.items())]
        colours = Counter(a.get(COLOUR, "") for a in matching if a.get(COLOUR))
        favoured = rng.choice(shopper.colours)
        colour = favoured if rng.random() < 0.5 and favoured in colours else _pick(rng, colours, 1)[0]
        gender = shopper.gender if rng.random() < 0.7 else _pick(rng, self.genders, 1)[0]
        types = self._profile_types(gender)
        full_type = article if rng.random() < 0.5 and article in types else _pick(rng, types, 1)[0]
        full_colours = Counter(self.products[p].get(COLOUR, "") for p in self.by_gender_type[(gender, full_type)])
        full = {GENDER: gender, ARTICLE: full_type, COLOUR: _pick(rng, full_colours, 1)[0]}
        asked: list[tuple[str, str, dict[str, str]]] = [
            ("ambiguous", word, named),
            ("partly", f"{colour_words(colour)} {word}", {**named, COLOUR: colour}),
            ("specified", query_text(full), full),
        ]
        return [ShopperQuery(f"{shopper.id}|{k}", shopper.id, t, k, dict(n), bucket) for k, t, n in asked]

    def grades(self, shopper: Shopper, query: ShopperQuery) -> dict[str, int]:
        """product id -> grade (only products that match the query and fit the shopper's gender)."""
        out = {}
        for pid, a in self.products.items():
            if not all(a.get(k) == v for k, v in query.named.items()):
                continue
            gender = GENDER in query.named or _fits_gender(a.get(GENDER), shopper.gender)
            article = ARTICLE in query.named or a.get(ARTICLE) in shopper.article_types
            colour = COLOUR in query.named or a.get(COLOUR) in shopper.colours
            usage = a.get(USAGE) == shopper.usage
            if gender:
                out[pid] = 1 + int(article) + int(colour) + int(usage)
        return out


def history_events(shopper: Shopper, now: datetime) -> list[BehaviourEvent]:
    """The shopper's history as stored events, an hour apart, the last one an hour before `now`."""
    n = len(shopper.history)
    return [
        BehaviourEvent(shopper.id, pid, kind, now - timedelta(hours=n - i))
        for i, (pid, kind) in enumerate(shopper.history)
    ]


def simulate(
    corpus: Sequence[Product], n_shoppers: int, seed: int = 0
) -> tuple[ShopperWorld, list[Shopper], list[ShopperQuery], dict[str, dict[str, int]]]:
    """`n_shoppers` shoppers (history lengths cycling through 0, 1-4, 5-20, 21-40), three queries each, and
    the graded relevance of each query for its shopper."""
    world = ShopperWorld(corpus, seed)
    if not world.genders:
        raise ValueError("the catalogue has no gender attribute (Men/Women/Boys/Girls): shoppers cannot be drawn")
    shoppers = [world.shopper(n) for n in range(n_shoppers)]
    queries = [q for s in shoppers for q in world.queries(s)]
    by_id = {s.id: s for s in shoppers}
    qrels = {q.qid: world.grades(by_id[q.shopper], q) for q in queries}
    return world, shoppers, queries, qrels


def now_utc() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)
