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


def test_the_ui_acts_for_a_token_or_a_demo_identity_only(tmp_path: Any) -> None:
    import json

    from pydantic import SecretStr

    from aisle.ui.auth import AuthError, TokenVerifier, demo_key, issue_token
    from aisle.ui.service import ANONYMOUS, SHOPPERS_FILE, AisleService
    from tests.ui.conftest import TEST_SECRET

    settings = Settings(home=tmp_path, auth_secret=SecretStr(TEST_SECRET))
    (tmp_path / SHOPPERS_FILE).parent.mkdir(parents=True)
    (tmp_path / SHOPPERS_FILE).write_text(json.dumps(["demo-womens-footwear"]))
    shop = AisleService(settings, pipeline=object(), collection="shop")
    assert shop.shoppers() == [] and shop.ui_shopper(ANONYMOUS, None, None) is None
    with pytest.raises(AuthError):  # outside the demo, a pick is not an identity
        shop.ui_shopper("demo-womens-footwear", None, None)
    token = issue_token(settings, "ana")
    assert shop.ui_shopper(ANONYMOUS, f"Bearer {token}", None) == "ana"
    assert shop.ui_shopper("demo-womens-footwear", None, token) == "ana"  # the cookie's token decides
    with pytest.raises(AuthError):
        shop.ui_shopper(ANONYMOUS, "Bearer forged.token.here", None)
    verifier = TokenVerifier.from_settings(settings, demo_key=demo_key(settings))
    demo = AisleService(settings, pipeline=object(), collection="demo", verifier=verifier, demo=True)
    assert demo.shoppers() == ["demo-womens-footwear"]
    assert demo.ui_shopper("demo-womens-footwear", None, None) == "demo-womens-footwear"
    with pytest.raises(AuthError):
        demo.ui_shopper("alice", None, None)  # only the demo's own shoppers
