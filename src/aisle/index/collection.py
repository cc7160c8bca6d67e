"""A product collection in Qdrant: created from a layout, verified on open, upserted idempotently."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

from aisle.index.schema import BM25, CORE_FIELDS, CollectionLayout, point_id

log = logging.getLogger(__name__)
SCHEMA_VERSION = 1


class CollectionError(Exception):
    """A collection that is missing, or that was built with other encoders than the ones offered."""


class ProductIndex:
    """One Qdrant collection of products. Cheap to construct; talks to Qdrant only when asked."""

    def __init__(self, client: Any, name: str) -> None:
        self.client = client
        self.name = name

    # -- lifecycle -------------------------------------------------------------------------------------------
    def exists(self) -> bool:
        return bool(self.client.collection_exists(self.name))

    def metadata(self) -> dict[str, Any]:
        if not self.exists():
            raise CollectionError(f"no collection {self.name!r}; run `aisle ingest SOURCE --collection {self.name}`")
        return dict(self.client.get_collection(self.name).config.metadata or {})

    def ensure(
        self,
        layout: CollectionLayout,
        *,
        filter_fields: dict[str, str],
        encoder_options: dict[str, dict[str, Any]] | None = None,
        shard_number: int | None = None,
        replication_factor: int | None = None,
    ) -> None:
        """Create the collection for `layout`, or check that the existing one was built with the same encoders."""
        from qdrant_client import models

        fields = {**CORE_FIELDS, **filter_fields}
        if self.exists():
            meta = self.metadata()
            self.verify(layout, meta)
            new_fields = {k: v for k, v in fields.items() if k not in meta.get("filter_fields", {})}
            if new_fields:
                meta["filter_fields"] = {**meta.get("filter_fields", {}), **new_fields}
                self.client.update_collection(self.name, metadata=meta)
                self._index_payload(new_fields)
            return
        vectors = {
            name: models.VectorParams(size=info.dim, distance=models.Distance.COSINE)
            for name, info in layout.encoders().items()
            if name != BM25
        }
        self.client.create_collection(
            self.name,
            vectors_config=vectors,
            sparse_vectors_config={BM25: models.SparseVectorParams(modifier=models.Modifier.IDF)},
            shard_number=shard_number,
            replication_factor=replication_factor,
            metadata={
                "aisle_schema": SCHEMA_VERSION,
                "encoders": {name: info.to_json() for name, info in layout.encoders().items()},
                "encoder_options": encoder_options or {},
                "filter_fields": fields,
                "shard_number": shard_number,
                "replication_factor": replication_factor,
            },
        )
        self._index_payload(fields)
        log.info("created collection %s with vectors %s", self.name, sorted(layout.encoders()))

    def _index_payload(self, fields: dict[str, str]) -> None:
        from qdrant_client import models

        schema = {
            "keyword": models.PayloadSchemaType.KEYWORD,
            "float": models.PayloadSchemaType.FLOAT,
            "bool": models.PayloadSchemaType.BOOL,
            "integer": models.PayloadSchemaType.INTEGER,
        }
        with warnings.catch_warnings():  # embedded Qdrant warns that it ignores them; a server uses them
            warnings.filterwarnings("ignore", message="Payload indexes have no effect")
            for field, kind in fields.items():
                self.client.create_payload_index(self.name, field, field_schema=schema[kind])

    def stored_encoders(self) -> dict[str, dict[str, Any]]:
        return dict(self.metadata().get("encoders", {}))

    def verify(self, layout: CollectionLayout, metadata: dict[str, Any] | None = None) -> None:
        """Refuse encoders whose vectors would not be comparable with the stored ones."""
        stored = dict((metadata if metadata is not None else self.metadata()).get("encoders", {}))
        offered = layout.encoders()
        problems = []
        for name, info in offered.items():
            if name not in stored:
                problems.append(f"{name}: the collection has no such vector")
            elif not info.compatible_with(stored[name]):
                problems.append(
                    f"{name}: stored {stored[name].get('space')} (dim {stored[name].get('dim')}), "
                    f"offered {info.space} (dim {info.dim})"
                )
        if problems:
            raise CollectionError(
                f"collection {self.name!r} was built with other encoders: "
                + "; ".join(problems)
                + ". Re-ingest into a new --collection, or configure the encoders it was built with."
            )

    # -- points ----------------------------------------------------------------------------------------------
    def upsert(self, points: Sequence[Any]) -> None:
        if points:
            self.client.upsert(self.name, points=list(points), wait=True)

    def stored_hashes(self) -> dict[str, str]:
        """product id -> content hash of every point, to skip unchanged products and to prune."""
        hashes: dict[str, str] = {}
        offset = None
        while True:
            points, offset = self.client.scroll(
                self.name, limit=2048, offset=offset, with_payload=["product_id", "content_hash"], with_vectors=False
            )
            for point in points:
                payload = point.payload or {}
                hashes[str(payload.get("product_id"))] = str(payload.get("content_hash"))
            if offset is None:
                return hashes

    def delete_products(self, product_ids: Iterable[str]) -> int:
        from qdrant_client import models

        ids: list[Any] = [point_id(p) for p in product_ids]
        if ids:
            self.client.delete(self.name, points_selector=models.PointIdsList(points=ids), wait=True)
        return len(ids)

    def count(self) -> int:
        return int(self.client.count(self.name, exact=True).count)

    def get(self, product_ids: Sequence[str]) -> list[dict[str, Any]]:
        points = self.client.retrieve(self.name, ids=[point_id(p) for p in product_ids], with_payload=True)
        by_id = {str((p.payload or {}).get("product_id")): dict(p.payload or {}) for p in points}
        return [by_id[p] for p in product_ids if p in by_id]

    def facets(
        self, fields: Sequence[str], query_filter: Any = None, limit: int = 50
    ) -> dict[str, list[tuple[Any, int]]]:
        """Value counts per field, for the UI's filters (under the current filter when one is given)."""
        out = {}
        for field in fields:
            response = self.client.facet(self.name, key=field, facet_filter=query_filter, limit=limit, exact=True)
            out[field] = [(hit.value, hit.count) for hit in response.hits]
        return out
