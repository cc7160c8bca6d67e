"""A small fashion catalogue (with photos) ingested once per session with the real MiniLM and a tiny CLIP."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest

from aisle.config import Settings
from aisle.types import Product

COLOURS = {"Red": (200, 30, 30), "Blue": (30, 60, 200), "Black": (15, 15, 15)}
ARTICLES = ["Shirts", "Jeans", "Watches", "Casual Shoes"]
GENDERS = ["Men", "Women"]
BRANDS = ["Acme", "Zenith"]


def make_products(image_dir: Path) -> list[Product]:
    from PIL import Image

    products = []
    for n, (colour, article, gender) in enumerate(itertools.product(COLOURS, ARTICLES, GENDERS)):
        image = image_dir / f"{colour}.jpg"
        if not image.exists():
            Image.new("RGB", (64, 64), COLOURS[colour]).save(image)
        brand = BRANDS[n % 2]
        products.append(
            Product(
                id=f"p{n:02d}",
                title=f"{brand} {gender} {colour} {article}",
                description=f"A {colour.lower()} {article.lower()[:-1]} for {gender.lower()}.",
                brand=brand,
                category_path=("Apparel" if article in ("Shirts", "Jeans") else "Accessories", article),
                attributes={"colour": colour, "article_type": article, "gender": gender},
                price=float(10 + 5 * n),
                currency="GBP",
                image=str(image),
            )
        )
    return products


@pytest.fixture(scope="session")
def tiny_clip_spec(tmp_path_factory: pytest.TempPathFactory) -> str:
    import torch
    from open_clip.model import CLIP

    from aisle.encoders.clip import save_clip_folder
    from tests.encoders.conftest import TINY_CLIP_CFG

    torch.manual_seed(0)
    folder = save_clip_folder(CLIP(**TINY_CLIP_CFG), TINY_CLIP_CFG, tmp_path_factory.mktemp("clip") / "tiny-clip")
    return str(folder)


@pytest.fixture(scope="session")
def catalogue(tmp_path_factory: pytest.TempPathFactory) -> list[Product]:
    return make_products(tmp_path_factory.mktemp("photos"))


@pytest.fixture(scope="session")
def search_settings(tmp_path_factory: pytest.TempPathFactory, tiny_clip_spec: str) -> Settings:
    return Settings(home=tmp_path_factory.mktemp("search-home"), clip_model=tiny_clip_spec)


@pytest.fixture(scope="session")
def shared_engine() -> Any:
    from tests.engines import fresh_edge

    return fresh_edge()


@pytest.fixture(scope="session")
def ingested(shared_engine: Any, catalogue: list[Product], search_settings: Settings) -> str:
    """The catalogue in collection 'shop' (session-wide; tests must not change it)."""
    from aisle.pipeline.ingest import ingest_products

    ingest_products(catalogue, "shop", settings=search_settings, engine=shared_engine, progress=False)
    return "shop"


@pytest.fixture(scope="session")
def pipeline(shared_engine: Any, ingested: str, search_settings: Settings) -> Any:
    from aisle.pipeline.search import SearchPipeline

    return SearchPipeline.open(ingested, search_settings, engine=shared_engine)
