"""The REST API over a real server (uvicorn on loopback) and the fixture catalogue with photos."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.conftest import jpeg_bytes
from tests.ui.conftest import bearer_for


@pytest.fixture(scope="module")
def http(server: Any) -> Any:
    with httpx.Client(base_url=server.url, timeout=300) as client:
        yield client


def test_healthz_counts_the_catalogue(http: Any) -> None:
    response = http.get("/healthz")
    assert response.status_code == 200
    assert response.json()["products"] == 24


def test_search_follows_the_cli_contract_with_image_urls(http: Any) -> None:
    response = http.post("/api/search", json={"query": "red shirts for men", "top_k": 5, "explain": True})
    assert response.status_code == 200
    body = response.json()
    assert set(body) >= {"query", "results", "timings_ms", "understood"}
    assert {"colour": "Red", "article_type": "Shirts", "gender": "Men"}.items() <= body["understood"].items()
    top = body["results"][0]
    assert top["title"] == "Acme Men Red Shirts"
    assert {"bm25", "text", "image"} <= set(top["scores"])  # per-retriever scores: "why this result"
    assert top["image_url"] == "/api/products/p00/image"
    assert http.get(top["image_url"]).headers["content-type"] == "image/jpeg"


def test_search_filters(http: Any) -> None:
    body = http.post("/api/search", json={"query": "shirts", "filters": {"gender": "Women", "colour": ["Red", "Blue"]}})
    hits = body.json()["results"]
    assert hits and all(h["gender"] == "Women" and h["colour"] in ("Red", "Blue") for h in hits)


def test_search_by_photo_as_multipart(http: Any) -> None:
    files = {"image": ("blue.jpg", jpeg_bytes((30, 60, 200)), "image/jpeg")}
    response = http.post(
        "/api/search", data={"mode": "image", "top_k": "3", "filters": '{"gender": "Men"}'}, files=files
    )
    assert response.status_code == 200, response.text
    hits = response.json()["results"]
    assert len(hits) == 3 and all(h["gender"] == "Men" for h in hits)


@pytest.mark.parametrize(
    ("kwargs", "status", "words"),
    [
        ({"json": {"query": ""}}, 400, "empty query"),
        ({"json": {"query": "x" * 1001}}, 422, "1000"),
        ({"json": {"query": "shirts", "filters": {"size": "XL"}}}, 400, "unknown filter field"),
        ({"json": {"query": "shirts", "top_k": 0}}, 422, "greater than or equal"),
        ({"json": {"query": "shirts", "colour": "Red"}}, 422, "extra"),
        ({"json": ["shirts"]}, 422, "JSON object"),
        ({"content": b"{not json", "headers": {"content-type": "application/json"}}, 400, "not valid JSON"),
        ({"content": b"query=shirts", "headers": {"content-type": "text/plain"}}, 415, "multipart"),
        ({"files": {"image": ("x.jpg", b"this is not a photo", "image/jpeg")}}, 400, "not a readable image"),
        ({"data": {"query": "shirts", "filters": "{gender"}}, 400, "filters must be a JSON object"),
    ],
)
def test_bad_searches_get_clear_4xx(http: Any, kwargs: dict[str, Any], status: int, words: str) -> None:
    response = http.post("/api/search", **kwargs)
    assert response.status_code == status, response.text
    assert words in json.dumps(response.json())


def test_request_size_limits(http: Any) -> None:
    huge = {"image": ("big.jpg", b"\xff" * (10 * 1024 * 1024 + 100 * 1024), "image/jpeg")}
    assert http.post("/api/search", files=huge).status_code == 413
    big_json = json.dumps({"query": "shirts", "user": "u" * (2 * 1024 * 1024)}).encode()
    assert http.post("/api/events", content=big_json, headers={"content-type": "application/json"}).status_code == 413

    def chunks() -> Any:  # no Content-Length: the limit is enforced while reading
        for _ in range(3):
            yield b" " * (512 * 1024)

    chunked = http.post("/api/chat", content=chunks(), headers={"content-type": "application/json"})
    assert chunked.status_code == 413


def test_products(http: Any) -> None:
    product = http.get("/api/products/p03").json()
    assert product["id"] == "p03" and product["title"] == "Zenith Women Red Jeans"
    assert "content_hash" not in product and product["image_url"] == "/api/products/p03/image"
    assert http.get("/api/products/nope").status_code == 404
    assert http.get("/api/products/nope/image").status_code == 404
    page = http.get("/products/p03")
    assert page.status_code == 200 and "Zenith Women Red Jeans" in page.text


def test_openapi_documents_every_route(http: Any) -> None:
    paths = http.get("/openapi.json").json()["paths"]
    assert {"/api/search", "/api/chat", "/api/events", "/api/products/{product_id}", "/healthz"} <= set(paths)
    content = paths["/api/search"]["post"]["requestBody"]["content"]
    assert {"application/json", "multipart/form-data"} <= set(content)


def test_events_are_recorded(http: Any, ui_service: Any) -> None:
    events = [
        {"user": "ana", "product_id": "p00", "type": "click", "query": "red shirts"},
        {"user": "ana", "product_id": "p00", "type": "purchase", "timestamp": "2026-01-02T03:04:05Z"},
    ]
    auth = bearer_for(ui_service.settings, "ana")
    response = http.post("/api/events", json={"events": events}, headers=auth)
    assert response.status_code == 200, response.text
    assert response.json() == {"recorded": 2, "duplicates": 0}
    bad = http.post(
        "/api/events", json={"events": [{"user": "ana", "product_id": "p00", "type": "stare"}]}, headers=auth
    )
    assert bad.status_code == 422


def test_distinct_events_are_kept_and_retries_are_duplicates(http: Any, ui_service: Any) -> None:
    """Two clicks on one product in one body, without timestamps, are two events (they were merged into one);
    sending an event again with its event_id is a duplicate, not a second event."""
    auth = bearer_for(ui_service.settings, "ben")
    before = ui_service.events.count()
    twice = [{"product_id": "p01", "type": "click"}, {"product_id": "p01", "type": "click"}]
    assert http.post("/api/events", json={"events": twice}, headers=auth).json() == {"recorded": 2, "duplicates": 0}
    with_id = {"events": [{"product_id": "p02", "type": "view", "event_id": "ev-1"}]}
    assert http.post("/api/events", json=with_id, headers=auth).json() == {"recorded": 1, "duplicates": 0}
    assert http.post("/api/events", json=with_id, headers=auth).json() == {"recorded": 0, "duplicates": 1}
    assert ui_service.events.count() == before + 3


def test_chat_streams_ndjson_and_ends_with_a_grounded_reply(http: Any) -> None:
    with http.stream("POST", "/api/chat", json={"message": "Do you have red shirts for men?"}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/x-ndjson")
        lines = [json.loads(line) for line in response.iter_lines() if line.strip()]
    assert [line["type"] for line in lines[:-1]] == ["delta"] * (len(lines) - 1) and len(lines) >= 2
    final = lines[-1]
    assert final["type"] == "final" and {"reply", "products", "tool_calls", "grounded"} <= set(final)
    assert final["grounded"] is True and final["tool_calls"]
    assert final["products"] and all(p["id"].startswith("p") for p in final["products"])


def test_chat_policy_answer_names_its_sources(http: Any) -> None:
    final = http.post("/api/chat", json={"message": "how long do refunds take?", "stream": False}).json()
    assert final["citations"] == ["Returns and refunds / Refunds"] and final["grounded"] is True
    assert "5 to 7 business days" in final["reply"]


def test_chat_rejects_bad_messages(http: Any) -> None:
    assert http.post("/api/chat", json={"message": ""}).status_code == 422
    assert http.post("/api/chat", json={"message": "   "}).status_code == 400
    assert http.post("/api/chat", json={"message": "a\x00b\x01c\x02d\x03"}).status_code == 400


def test_events_sent_now_personalise_the_next_search_and_say_why(http: Any, ui_service: Any) -> None:
    """In-session: two clicks on women's watches (p05, p13) move women's watches up for "watches" at once, the
    hits say why, and `personalize: false` gives the anonymous ranking back."""
    auth = bearer_for(ui_service.settings, "ivy")
    query = {"query": "watches", "top_k": 6}
    anonymous = http.post("/api/search", json=query).json()["results"]
    clicks = [{"product_id": pid, "type": "click", "query": "watches"} for pid in ("p05", "p13")]
    assert http.post("/api/events", json={"events": clicks}, headers=auth).json()["recorded"] == 2
    personal = http.post("/api/search", json=query, headers=auth).json()["results"]
    top = [h for h in personal if h["article_type"] == "Watches"][:3]
    assert [h["gender"] for h in top] == ["Women"] * 3
    assert [h["gender"] for h in anonymous if h["article_type"] == "Watches"][:3] != ["Women"] * 3
    assert top[0]["personal_reason"] == "because you looked at 2 women's watches"
    assert all(isinstance(h["scores"]["personal"], float) for h in personal)
    off = http.post("/api/search", json={**query, "personalize": False}, headers=auth).json()["results"]
    assert [h["id"] for h in off] == [h["id"] for h in anonymous]
    assert not any("personal_reason" in h or "personal" in (h.get("scores") or {}) for h in off)


def test_the_personalise_switch_takes_booleans_only_and_works_in_forms(http: Any, ui_service: Any) -> None:
    auth = bearer_for(ui_service.settings, "zoe")
    clicks = [{"product_id": pid, "type": "click"} for pid in ("p05", "p13")]
    assert http.post("/api/events", json={"events": clicks}, headers=auth).json()["recorded"] == 2
    bad = http.post("/api/search", json={"query": "watches", "personalize": "maybe"}, headers=auth)
    assert bad.status_code == 422
    form = {"query": "watches", "top_k": "6"}
    photo = {"image": ("p.jpg", jpeg_bytes(), "image/jpeg")}
    off = http.post("/api/search", data={**form, "personalize": "false"}, files=photo, headers=auth)
    anonymous = http.post("/api/search", data=form, files=photo)
    assert off.status_code == 200 == anonymous.status_code, off.text
    assert [h["id"] for h in off.json()["results"]] == [h["id"] for h in anonymous.json()["results"]]
    on = http.post("/api/search", data=form, files=photo, headers=auth).json()["results"]
    assert any("personal" in (h.get("scores") or {}) for h in on)


def test_a_ui_click_on_a_product_that_does_not_exist_stores_nothing(ui_service: Any) -> None:
    before = ui_service.events.count()
    for forged in ("../../etc/passwd", "p" * 5000, "", "p05\x00"):
        assert ui_service.record_click("zed", forged, "watches") is False
    assert ui_service.events.count() == before
    assert ui_service.record_click("zed", "p05", "watches") is True
    assert [e.query for e in ui_service.events.history("zed")] == ["watches"]
