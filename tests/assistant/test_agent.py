"""The tool-calling agent path against a fake OpenAI-compatible server (a real HTTP server in the test that
speaks /v1/chat/completions with tool calls), through the same tools, ownership checks and guard."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from aisle.assistant.llm import OpenAIChatModel


class FakeOpenAIServer:
    """Plays a tool-calling model: the first request gets the scripted tool call, the request that carries the
    tool result gets `final(tool_result)` as text. Records every request body."""

    def __init__(self, tool_call: Callable[[str], tuple[str, dict[str, Any]]], final: Callable[[dict[str, Any]], str]):
        self.requests: list[dict[str, Any]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                owner.requests.append({"path": self.path, **body})
                messages = body["messages"]
                if messages[-1]["role"] == "tool":
                    data = messages[-1]["content"].split("<<<DATA\n")[1].split("\nDATA>>>")[0]
                    message = {"role": "assistant", "content": final(json.loads(data))}
                else:
                    name, args = tool_call(messages[-1]["content"])
                    message = {
                        "role": "assistant",
                        "content": None,
                        "tool_calls": [
                            {"id": "call_1", "type": "function",
                             "function": {"name": name, "arguments": json.dumps(args)}}
                        ],
                    }  # fmt: skip
                choice = {"index": 0, "message": message, "finish_reason": "stop"}
                payload = json.dumps(
                    {"id": "x", "object": "chat.completion", "model": body["model"], "choices": [choice]}
                )
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(payload.encode())

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/v1"


@pytest.fixture
def fake_server() -> Iterator[Callable[..., FakeOpenAIServer]]:
    servers: list[FakeOpenAIServer] = []

    def start(**kwargs: Any) -> FakeOpenAIServer:
        servers.append(FakeOpenAIServer(**kwargs))
        return servers[-1]

    yield start
    for server in servers:
        server.server.shutdown()


def _search(message: str) -> tuple[str, dict[str, Any]]:
    return "search_products", {"query": "jeans", "colour": "Black"}


def test_agent_runs_the_tools_through_the_endpoint(
    make_assistant: Callable[..., Any], fake_server: Callable[..., FakeOpenAIServer]
) -> None:
    def final(result: dict[str, Any]) -> str:
        top = result["products"][0]
        return f"The {top['title']} costs {top['price']:.2f} {top['currency']}."

    server = fake_server(tool_call=_search, final=final)
    assistant = make_assistant(llm=OpenAIChatModel(base_url=server.url, model="fake-model"))
    reply = assistant.reply("black jeans please")
    assert reply.tool_calls == [{"name": "search_products", "args": {"query": "jeans", "colour": "Black"}}]
    top = reply.products[0]
    assert top["colour"] == "Black" and reply.reply == f"The {top['title']} costs {top['price']:.2f} INR."
    assert reply.grounded and "fallback" not in reply.guard
    first, second = server.requests
    assert first["path"] == "/v1/chat/completions"
    assert {t["function"]["name"] for t in first["tools"]} >= {"search_products", "order_status", "policy_answer"}
    assert first["tools"][0]["function"]["parameters"]["properties"]["query"]["type"] == "string"
    assert second["messages"][-1]["role"] == "tool" and second["messages"][-1]["tool_call_id"] == "call_1"


def test_agent_cannot_read_another_customers_order(
    make_assistant: Callable[..., Any], fake_server: Callable[..., FakeOpenAIServer]
) -> None:
    def ask_for_bobs_order(message: str) -> tuple[str, dict[str, Any]]:
        return "order_status", {"order_id": "ORD-1003"}  # the model "decides" to look at bob's order

    def final(result: dict[str, Any]) -> str:
        return "Order ORD-1003 is processing." if result.get("found") else "I could not find that order."

    server = fake_server(tool_call=ask_for_bobs_order, final=final)
    assistant = make_assistant(llm=OpenAIChatModel(base_url=server.url))
    reply = assistant.reply("where is ORD-1003?", user="alice")
    assert reply.reply == "I could not find that order."
    assert "processing" not in json.dumps(server.requests[-1]["messages"][-1])


def test_agent_reply_with_invented_price_is_replaced(
    make_assistant: Callable[..., Any], fake_server: Callable[..., FakeOpenAIServer]
) -> None:
    server = fake_server(tool_call=_search, final=lambda result: "They are all 42.50 INR today, 3 left!")
    reply = make_assistant(llm=OpenAIChatModel(base_url=server.url)).reply("black jeans")
    assert reply.guard["fallback"] == "template" and reply.grounded
    assert "42.50" not in reply.reply and reply.products[0]["title"] in reply.reply
    assert re.search(r"\d[\d,]*\.\d\d INR", reply.reply)


def test_endpoint_errors_are_clear(make_assistant: Callable[..., Any]) -> None:
    from aisle.assistant.llm import LLMError

    assistant = make_assistant(llm=OpenAIChatModel(base_url="http://127.0.0.1:9/v1", timeout=2))
    with pytest.raises(LLMError, match="chat endpoint"):
        assistant.reply("black jeans")
