"""Fixtures shared with the pipeline tests (the tiny random-weight CLIP)."""

from tests.pipeline.conftest import tiny_clip_spec  # noqa: F401
