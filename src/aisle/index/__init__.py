"""Qdrant collections for products: schema, idempotent upsert, hybrid queries, filters and facets."""
