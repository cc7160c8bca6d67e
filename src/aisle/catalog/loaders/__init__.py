"""One loader per source format; each returns `SourceRows` for validation."""
