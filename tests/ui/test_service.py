"""AisleService's lazily built parts (heavy opens replaced by fakes) and the Gradio app's queue settings."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from aisle.config import Settings


def test_the_assistant_can_be_built_before_the_pipeline(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    """Building the assistant reads `pipeline`, which is built under the same lock: it must not deadlock."""
    from aisle.assistant.service import Assistant
    from aisle.pipeline.search import SearchPipeline
    from aisle.ui.service import AisleService

    fake_pipeline, fake_assistant = object(), object()
    opened: list[Any] = []
    monkeypatch.setattr(SearchPipeline, "open", classmethod(lambda cls, *a, **kw: fake_pipeline))
    monkeypatch.setattr(
        Assistant,
        "open",
        classmethod(lambda cls, settings, pipeline=None, **kw: opened.append(pipeline) or fake_assistant),
    )
    service = AisleService(Settings(home=tmp_path), collection="shop")
    got: list[Any] = []
    worker = threading.Thread(target=lambda: got.append(service.assistant), daemon=True)
    worker.start()
    worker.join(timeout=10)
    assert not worker.is_alive(), "service.assistant deadlocked"
    assert got == [fake_assistant] and opened == [fake_pipeline]
    assert service.assistant is fake_assistant and service.pipeline is fake_pipeline  # built once, then kept
    assert opened == [fake_pipeline]


def test_ui_events_are_not_serialised_across_browsers(ui_service: Any) -> None:
    """Gradio would otherwise run one search (and one chat) at a time for every browser together, and an event
    that never gave its slot back would stall all later ones."""
    from aisle.ui.app import build_blocks

    blocks = build_blocks(ui_service)
    assert blocks._queue.default_concurrency_limit is None  # the public setter, queue(), keeps no getter
