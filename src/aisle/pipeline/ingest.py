"""Ingestion into Qdrant: embed in batches, upsert idempotently, skip what is unchanged, prune what is gone.

Each batch is upserted as it is embedded, and a point records a hash of its product and encoders, so an
ingest that was killed resumes where it stopped: a re-run re-embeds only what is missing or changed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from aisle.config import Settings, get_settings
from aisle.encoders import EncoderError
from aisle.encoders.sparse import Bm25SparseEncoder
from aisle.index.client import open_engine
from aisle.index.collection import ProductIndex
from aisle.index.engine import Engine, StoredPoint, VectorValue
from aisle.index.schema import (
    BM25,
    CLIP_TEXT,
    IMAGE,
    TEXT,
    content_hash,
    dense_text,
    payload_for,
    point_id,
    sparse_text,
)
from aisle.pipeline.encoders import EncoderSet
from aisle.types import Product

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class IngestSummary:
    collection: str
    products: int
    embedded: int
    unchanged: int
    deleted: int
    images_embedded: int
    image_failures: int
    points: int
    elapsed_s: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def encoders_for(index: ProductIndex, products: Sequence[Product], settings: Settings) -> EncoderSet:
    """The stored encoders of an existing collection, else new ones from the settings."""
    if index.exists():
        return EncoderSet.build(index.metadata()["encoder_options"], settings.encoder_backend)
    avg_len = Bm25SparseEncoder.average_length([sparse_text(p) for p in products[:20_000]])
    return EncoderSet.from_settings(settings, avg_doc_len=avg_len)


def _attribute_fields(products: Sequence[Product]) -> dict[str, str]:
    return {key: "keyword" for p in products for key in p.attributes}


def _image_vectors(encoders: EncoderSet, products: Sequence[Product]) -> tuple[dict[str, np.ndarray], int]:
    """Image vectors by product id; a photo that fails is skipped (the product stays, imageless)."""
    if encoders.clip_image is None:
        return {}, 0
    with_images = [p for p in products if p.image]
    if not with_images:
        return {}, 0
    try:
        vectors = encoders.clip_image.encode_images([p.image for p in with_images if p.image])
        return {p.id: np.asarray(v) for p, v in zip(with_images, vectors, strict=True)}, 0
    except EncoderError:
        out: dict[str, np.ndarray] = {}
        failures = 0
        for product in with_images:
            try:
                out[product.id] = np.asarray(encoders.clip_image.encode_images([product.image])[0])
            except EncoderError as exc:
                failures += 1
                log.warning("product %s: image skipped: %s", product.id, exc)
        return out, failures


def _points(
    encoders: EncoderSet, products: Sequence[Product], hashes: dict[str, str]
) -> tuple[list[StoredPoint], int, int]:
    dense = encoders.text.encode_documents([dense_text(p) for p in products])
    sparse = encoders.sparse.encode_documents([sparse_text(p) for p in products])
    titles = encoders.clip_text.encode_documents([p.title for p in products]) if encoders.clip_text else None
    images, failures = _image_vectors(encoders, products)
    points = []
    for i, product in enumerate(products):
        vector: dict[str, VectorValue] = {TEXT: dense[i], BM25: sparse[i]}
        if titles is not None:
            vector[CLIP_TEXT] = titles[i]
        if product.id in images:
            vector[IMAGE] = images[product.id]
        points.append(
            StoredPoint(id=point_id(product.id), vectors=vector, payload=payload_for(product, hashes[product.id]))
        )
    return points, len(images), failures


def ingest_products(
    products: Sequence[Product],
    collection: str,
    *,
    settings: Settings | None = None,
    engine: Engine | None = None,
    prune: bool = False,
    rebuild: bool = False,
    batch_size: int = 256,
    progress: bool = True,
) -> IngestSummary:
    """Embed and upsert `products` into `collection` (created on first use; dropped first with `rebuild`)."""
    from tqdm import tqdm

    settings = settings or get_settings()
    started = time.perf_counter()
    index = ProductIndex(engine or open_engine(settings), collection)
    if rebuild:
        index.drop()
    encoders = encoders_for(index, products, settings)
    index.ensure(
        encoders.layout,
        filter_fields=_attribute_fields(products),
        encoder_options=encoders.options,
        shard_number=settings.qdrant_shards,
        replication_factor=settings.qdrant_replication,
    )
    stored = index.stored_hashes()
    hashes = {p.id: content_hash(p, encoders.layout) for p in products}
    todo = [p for p in products if stored.get(p.id) != hashes[p.id]]
    images = failures = 0
    with tqdm(total=len(todo), disable=not progress or not todo, desc=f"ingest {collection}", unit="product") as bar:
        for start in range(0, len(todo), batch_size):
            batch = todo[start : start + batch_size]
            points, batch_images, batch_failures = _points(encoders, batch, hashes)
            index.upsert(points)
            images += batch_images
            failures += batch_failures
            bar.update(len(batch))
    deleted = index.delete_products(sorted(set(stored) - set(hashes))) if prune else 0
    if todo or deleted:
        index.optimize()  # Edge builds its search indexes for what was written; a server does it alone
    return IngestSummary(
        collection=collection,
        products=len(products),
        embedded=len(todo),
        unchanged=len(products) - len(todo),
        deleted=deleted,
        images_embedded=images,
        image_failures=failures,
        points=index.count(),
        elapsed_s=round(time.perf_counter() - started, 2),
    )
