"""The assistant's one interface: `Assistant.open(settings).reply(message, session_id=, user=) -> ChatReply`,
and `stream(...)` (text chunks, then the final ChatReply). The CLI and the UI use only this module.

The driver depends on the backend: a tool-calling `Agent` for an OpenAI-compatible endpoint
(`assistant_llm_url`), the intent/slot `Router` for the small local model. Both share the tools, the guard,
the memory and the safety rules."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from aisle.assistant.agent import Agent, tool_call_summary
from aisle.assistant.carried import CatalogueKinds
from aisle.assistant.catalog_port import ProductSearch
from aisle.assistant.extractive import SentencePicker
from aisle.assistant.faithfulness import FaithfulnessChecker
from aisle.assistant.intents import IntentClassifier
from aisle.assistant.llm import OpenAIChatModel, create_chat_model
from aisle.assistant.memory import SessionStore
from aisle.assistant.orders import OrderStore
from aisle.assistant.policies import PolicyIndex
from aisle.assistant.redact import get_logger
from aisle.assistant.router import Router, Turn
from aisle.assistant.tools import ToolBox
from aisle.config import Settings, get_settings

log = get_logger(__name__)
MAX_MESSAGE_CHARS = 2_000


@dataclass(frozen=True, slots=True)
class ChatReply:
    reply: str
    products: list[dict[str, Any]]
    tool_calls: list[dict[str, Any]]
    grounded: bool
    session_id: str
    intent: str | None = None
    guard: dict[str, Any] = field(default_factory=dict)  # llm used, fallback, the guard's problems
    timings_ms: dict[str, float] = field(default_factory=dict)
    calls: list[dict[str, Any]] = field(default_factory=list, repr=False)  # full tool records (eval, debugging)
    citations: list[str] = field(default_factory=list)  # the policy sections a reply quotes (heading paths)

    def to_json(self) -> dict[str, Any]:
        return {
            "reply": self.reply,
            "products": self.products,
            "tool_calls": self.tool_calls,
            "grounded": self.grounded,
            "session_id": self.session_id,
            "intent": self.intent,
            "guard": self.guard,
            "timings_ms": self.timings_ms,
            "citations": self.citations,
        }


def validate_message(message: Any) -> str:
    if not isinstance(message, str):
        raise ValueError("the message must be text")
    if "\x00" in message or sum(not (c.isprintable() or c.isspace()) for c in message) > 2:
        raise ValueError("the message looks like binary data, not text")
    text = " ".join(message.split())
    if not text:
        raise ValueError("empty message: type a question")
    if len(text) > MAX_MESSAGE_CHARS:
        raise ValueError(f"the message is {len(text):,} characters long; the limit is {MAX_MESSAGE_CHARS:,}")
    return text


class Assistant:
    def __init__(self, settings: Settings, *, pipeline: Any, orders: OrderStore, sessions: SessionStore,
                 policies: PolicyIndex, driver: Router | Agent,
                 kinds: CatalogueKinds | None = None) -> None:  # fmt: skip
        self.settings = settings
        self.pipeline = pipeline
        self.orders = orders
        self.sessions = sessions
        self.policies = policies
        self.driver = driver
        self.kinds = kinds
        self.picker = SentencePicker(policies)

    @classmethod
    def open(cls, settings: Settings | None = None, *, pipeline: Any = None, **components: Any) -> Assistant:
        """Open the stores, the policy index, the intent model and the LLM backend (loaded on first reply).

        `components` may replace parts (orders, sessions, policies, llm, classifier): the evaluation and the tests
        use this for throw-away stores and fake backends."""
        from aisle.encoders.registry import create_encoder

        settings = settings or get_settings()
        if pipeline is None:
            pipeline = _open_pipeline(settings)
        encoder = create_encoder("minilm", backend=settings.encoder_backend)
        policies = components.get("policies") or PolicyIndex(settings, encoder=encoder)
        llm = components["llm"] if "llm" in components else create_chat_model(settings)
        checker = FaithfulnessChecker(encoder, _facet(pipeline, "brand"))
        driver: Router | Agent
        if isinstance(llm, OpenAIChatModel) or (llm is not None and components.get("agent")):
            driver = Agent(llm, checker)
        else:
            classifier = components.get("classifier") or IntentClassifier.load_or_train(encoder, settings.models_dir)
            colours = _facet(pipeline, "colour")
            driver = Router(classifier, llm, checker, settings.assistant_guard_retries, colours)
        return cls(
            settings,
            pipeline=pipeline,
            orders=components.get("orders") or OrderStore.open(settings),
            sessions=components.get("sessions") or SessionStore.open(settings),
            policies=policies,
            driver=driver,
            kinds=_kinds(pipeline, encoder),
        )

    def warm_up(self) -> None:
        """Load the models now rather than on the first message."""
        self.policies.ensure()
        llm = getattr(self.driver, "llm", None)
        if llm is not None and hasattr(llm, "warm_up"):
            llm.warm_up()

    def reply(self, message: str, *, session_id: str | None = None, user: str | None = None) -> ChatReply:
        return self._turn(message, session_id, user, None)

    def stream(
        self, message: str, *, session_id: str | None = None, user: str | None = None
    ) -> Iterator[str | ChatReply]:
        """Text chunks as they are written (sentence by sentence, each checked by the guard), then the ChatReply.

        The final ChatReply's `reply` is authoritative: when the guard replaced a draft, it differs from the chunks."""
        text = validate_message(message)
        chunks: queue.Queue[Any] = queue.Queue()
        done = object()

        def work() -> None:
            try:
                chunks.put(self._turn(text, session_id, user, chunks.put))
            except BaseException as exc:  # handed to the consumer
                chunks.put(exc)
            finally:
                chunks.put(done)

        threading.Thread(target=work, daemon=True).start()
        while (item := chunks.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item

    def _turn(self, message: str, session_id: str | None, user: str | None, emit: Any) -> ChatReply:
        started = time.perf_counter()
        text = validate_message(message)
        session_id, state = self.sessions.resume(session_id, user)
        toolbox = ToolBox(self.pipeline, self.orders, self.policies, state, user=user, kinds=self.kinds,
                          picker=self.picker)  # fmt: skip
        if isinstance(self.driver, Agent):
            turn: Turn = self.driver.run(text, toolbox, self.sessions.history(session_id))
            if emit is not None:
                emit(turn.reply)
        else:
            turn = self.driver.run(text, toolbox, emit)
        products = _products(turn.calls)
        calls = tool_call_summary(turn.calls)
        elapsed = round((time.perf_counter() - started) * 1000, 1)
        meta = {"intent": turn.intent, "tool_calls": calls, "grounded": turn.grounded, "guard": turn.guard}
        self.sessions.save_turn(session_id, user, state, text, turn.reply, meta)
        log.info("turn %s intent=%s tools=%s grounded=%s %.0f ms", session_id, turn.intent,
                 [c["name"] for c in calls], turn.grounded, elapsed)  # fmt: skip
        return ChatReply(turn.reply, products, calls, turn.grounded, session_id, turn.intent, turn.guard,
                         {**turn.timings_ms, "total": elapsed}, turn.calls, _citations(turn.calls))  # fmt: skip


def _products(calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for call in calls:
        for product in call["result"].get("products", []) or []:
            seen.setdefault(product["id"], product)
    return list(seen.values())


def _open_pipeline(settings: Settings) -> Any:
    from aisle.index.collection import CollectionError
    from aisle.pipeline.search import SearchPipeline

    try:
        return SearchPipeline.open(settings.collection, settings)
    except CollectionError as exc:
        log.warning("no product search: %s", exc)
        return None


def _citations(calls: list[dict[str, Any]]) -> list[str]:
    quotes = [c["result"].get("quote") for c in calls if c["name"] == "policy_answer"]
    return [part["title"] for q in quotes if q for part in q["parts"]]


def _kinds(pipeline: ProductSearch | None, encoder: Any) -> CatalogueKinds | None:
    try:
        return CatalogueKinds.of(pipeline, encoder)
    except Exception as exc:  # without it the assistant still searches; it cannot say "we don't carry that"
        log.warning("no catalogue kinds: %s", exc)
        return None


def _facet(pipeline: ProductSearch | None, field: str) -> list[str]:
    """The catalogue's values of a field (brands for the guard, colours for the slots)."""
    if pipeline is None or field not in pipeline.filter_fields:
        return []
    try:
        return pipeline.facet_values(field, limit=500)
    except Exception:  # facets are an optional hint for the guard
        return []
