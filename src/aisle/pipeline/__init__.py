"""The one place that wires encode -> retrieve -> fuse -> rerank, for ingestion and for search."""
