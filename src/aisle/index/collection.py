"""A product collection: created from a layout, verified on open, upserted idempotently, on either engine."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from aisle.index.engine import CollectionSpec, Engine, EngineError, StoredPoint
from aisle.index.filters import Filter
from aisle.index.schema import BM25, CORE_FIELDS, CollectionLayout, point_id

log = logging.getLogger(__name__)
SCHEMA_VERSION = 1


class CollectionError(Exception):
    """A collection that is missing, or that was built with other encoders than the ones offered."""


class ProductIndex:
    """One collection of products. Cheap to construct; talks to the engine only when asked."""

    def __init__(self, engine: Engine, name: str) -> None:
        self.engine = engine
        self.name = name

    # -- lifecycle -------------------------------------------------------------------------------------------
    def exists(self) -> bool:
        return self.engine.exists(self.name)

    def metadata(self) -> dict[str, Any]:
        if not self.exists():
            raise CollectionError(self.engine.missing(self.name))
        try:
            return self.engine.metadata(self.name)
        except EngineError as exc:
            raise CollectionError(str(exc)) from None

    def drop(self) -> None:
        """Delete the collection and everything in it (`aisle ingest --rebuild`)."""
        if self.exists():
            self.engine.drop(self.name)

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
        fields = {**CORE_FIELDS, **filter_fields}
        if self.exists():
            meta = self.metadata()
            self.verify(layout, meta)
            new_fields = {k: v for k, v in fields.items() if k not in meta.get("filter_fields", {})}
            if new_fields:
                meta["filter_fields"] = {**meta.get("filter_fields", {}), **new_fields}
                self.engine.index_fields(self.name, new_fields)
                self.engine.set_metadata(self.name, meta)
            return
        spec = CollectionSpec(
            dense={name: info.dim for name, info in layout.encoders().items() if name != BM25},
            sparse=(BM25,),
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
        self.engine.create(self.name, spec)
        self.engine.index_fields(self.name, fields)
        log.info("created collection %s with vectors %s", self.name, sorted(layout.encoders()))

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
    def upsert(self, points: Sequence[StoredPoint]) -> None:
        self.engine.upsert(self.name, points)

    def optimize(self) -> None:
        self.engine.optimize(self.name)

    def stored_hashes(self) -> dict[str, str]:
        """product id -> content hash of every point, to skip unchanged products and to prune."""
        return {
            str(payload.get("product_id")): str(payload.get("content_hash"))
            for _, payload in self.engine.scroll(self.name, ["product_id", "content_hash"])
        }

    def product_ids(self) -> list[str]:
        return [str(payload.get("product_id")) for _, payload in self.engine.scroll(self.name, ["product_id"])]

    def delete_products(self, product_ids: Iterable[str]) -> int:
        ids = [point_id(p) for p in product_ids]
        self.engine.delete(self.name, ids)
        return len(ids)

    def count(self, where: Filter | None = None) -> int:
        return self.engine.count(self.name, where)

    def get(self, product_ids: Sequence[str]) -> list[dict[str, Any]]:
        records = self.engine.retrieve(self.name, [point_id(p) for p in product_ids])
        by_id = {str(r.payload.get("product_id")): dict(r.payload) for r in records}
        return [by_id[p] for p in product_ids if p in by_id]

    def facets(
        self, fields: Sequence[str], where: Filter | None = None, limit: int = 50
    ) -> dict[str, list[tuple[Any, int]]]:
        """Value counts per field, for the UI's filters (under the current filter when one is given)."""
        return {field: self.engine.facet(self.name, field, where, limit) for field in fields}
