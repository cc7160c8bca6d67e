"""The packaged evaluation catalogue (with injected-instruction products) in an in-memory Qdrant, the real
MiniLM, the intent classifier trained once, and fake chat models (named fakes) for the LLM seam."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from aisle.config import Settings


class FakeWriter(BaseChatModel):
    """A fake local LLM: replies with `script(prompt_text)` and records every prompt it was given."""

    script: Callable[[str], str]
    prompts: list[str] = []

    @property
    def _llm_type(self) -> str:
        return "fake-writer"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        prompt = "\n".join(str(m.content) for m in messages)
        self.prompts.append(prompt)
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=self.script(prompt)))])


@pytest.fixture(scope="session")
def shop(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Settings]:
    """(pipeline, settings) over the packaged evaluation catalogue, ingested once per session."""
    from aisle.assistant.evalset import ingest_eval_catalogue
    from aisle.pipeline.search import SearchPipeline
    from tests.engines import fresh_edge

    settings = Settings(home=tmp_path_factory.mktemp("assistant-home"))
    engine = fresh_edge()
    name = ingest_eval_catalogue(settings, "assistant-shop", engine=engine)
    return SearchPipeline.open(name, settings, engine=engine), settings


@pytest.fixture(scope="session")
def classifier() -> Any:
    from aisle.assistant.intents import IntentClassifier
    from aisle.encoders.registry import create_encoder

    return IntentClassifier.train(create_encoder("minilm"))


@pytest.fixture(scope="session")
def policies(shop: tuple[Any, Settings]) -> Any:
    from aisle.assistant.policies import PolicyIndex

    pipeline, settings = shop
    return PolicyIndex(settings, engine=pipeline.index.engine)


@pytest.fixture
def make_assistant(shop: tuple[Any, Settings], classifier: Any, policies: Any, tmp_path: Path) -> Callable[..., Any]:
    """Build an Assistant over the shop with fresh demo orders and sessions; `llm=` picks the backend."""
    from aisle.assistant.memory import SessionStore
    from aisle.assistant.orders import OrderStore, create_demo_orders
    from aisle.assistant.service import Assistant

    pipeline, settings = shop

    def build(llm: Any = None, **extra: Any) -> Any:
        orders = OrderStore(tmp_path / "orders.sqlite")
        create_demo_orders(product_ids=[f"ev{n:03d}" for n in range(1, 9)], store=orders, pipeline=pipeline)
        return Assistant.open(
            settings,
            pipeline=pipeline,
            orders=orders,
            sessions=SessionStore(tmp_path / "sessions.sqlite"),
            policies=policies,
            classifier=classifier,
            llm=llm,
            **extra,
        )

    return build
