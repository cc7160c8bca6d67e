"""Attack replay: Gradio's own API must never read a server file that no user uploaded.

A file-typed input (the photo box, for one) accepts a `FileData` object naming a server path. Gradio copies
that file into its cache and serves the copy from `/gradio_api/file=...` unless its path check runs, and the
check is skipped for Blocks mounted into FastAPI without `launch()`. This test lists every event of the
mounted app and every file-typed input from the app's own `/config` (so a new endpoint is covered without
editing the test), sends each a secret file's path through the queue, follows every file URL and path the
server sends back, and checks that the secret never comes back and that no copy of it is made.
"""

from __future__ import annotations

import json
import re
import secrets
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

# components whose value is (or holds) a FileData, as Gradio's config names them
FILE_COMPONENTS = {"image", "file", "uploadbutton", "audio", "video", "model3d", "gallery", "imageeditor",
                   "multimodaltextbox", "simpleimage", "annotatedimage", "imageslider"}  # fmt: skip


@pytest.fixture(scope="module")
def http(server: Any) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=120) as client:
        yield client


@pytest.fixture(scope="module")
def secret_file(ui_service: Any) -> tuple[Path, str]:
    """A file under AISLE_HOME that stands for the orders database or a key: its content is a fresh token."""
    token = f"SECRET-{secrets.token_hex(16)}"
    path = ui_service.settings.home / "stores" / "secret-for-attack-test.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(token, encoding="utf-8")
    return path, token


def _file_data(path: str) -> dict[str, Any]:
    return {"path": path, "meta": {"_type": "gradio.FileData"}, "orig_name": Path(path).name}


def _file_inputs(config: dict[str, Any]) -> list[tuple[int, dict[str, Any], list[int]]]:
    """(fn_index, dependency, positions of file-typed inputs) for every event that takes a file."""
    kinds = {c["id"]: str(c.get("type", "")).lower() for c in config["components"]}
    found = []
    for index, dependency in enumerate(config["dependencies"]):
        positions = [i for i, cid in enumerate(dependency.get("inputs", [])) if kinds.get(cid) in FILE_COMPONENTS]
        if positions:
            found.append((dependency.get("id", index), dependency, positions))
    return found


def _default_inputs(config: dict[str, Any], dependency: dict[str, Any]) -> list[Any]:
    props = {c["id"]: c.get("props", {}) for c in config["components"]}
    return [props.get(cid, {}).get("value") for cid in dependency.get("inputs", [])]


def _queue_call(http: httpx.Client, fn_index: int, data: list[Any]) -> str:
    """Send one event through Gradio's queue and return everything the server streams back for it."""
    session = uuid.uuid4().hex[:11]
    joined = http.post(
        "/gradio_api/queue/join",
        json={"data": data, "fn_index": fn_index, "session_hash": session, "event_data": None, "trigger_id": None},
    )
    if joined.status_code != 200:
        return joined.text
    lines = []
    with http.stream("GET", "/gradio_api/queue/data", params={"session_hash": session}) as stream:
        for line in stream.iter_lines():
            lines.append(line)
            if '"process_completed"' in line or '"close_stream"' in line:
                break
    return "\n".join(lines)


def _named_call(http: httpx.Client, api_name: str, data: list[Any]) -> str:
    """The same through the named-endpoint route (`/gradio_api/call/NAME`) the issue's exploit used."""
    started = http.post(f"/gradio_api/call/{api_name}", json={"data": data})
    if started.status_code != 200:
        return started.text
    event_id = started.json().get("event_id", "")
    return http.get(f"/gradio_api/call/{api_name}/{event_id}").text


def _mentioned_files(text: str) -> set[str]:
    """Every file URL or server path named in a response (an error message named the cached copy)."""
    found = set(re.findall(r"/gradio_api/file=([^\s\"'<>\\]+)", text))
    found |= set(re.findall(r"(/tmp/[^\s\"'<>\\]+)", text))
    for match in re.findall(r'"path":\s*"([^"]+)"', text):
        found.add(match)
    return found


def test_every_file_input_refuses_server_paths(
    http: httpx.Client, server: Any, secret_file: tuple[Path, str], tmp_path: Path
) -> None:
    path, token = secret_file
    config = http.get("/config").json()
    targets = _file_inputs(config)
    assert targets, "the app has file inputs (the photo box at least); none were found in its config"
    names = {d.get("api_name") for _, d, _ in targets if d.get("api_name")}
    responses: list[str] = []
    answers: list[str] = []  # through the queue, as the browser sends events
    for fn_index, dependency, positions in targets:
        for secret in (str(path), "/etc/hostname"):
            data = _default_inputs(config, dependency)
            for position in positions:
                data[position] = _file_data(secret)
            answers.append(_queue_call(http, fn_index, data))
            for name in names:
                responses.append(_named_call(http, str(name), data))
    text = "\n".join(answers + responses)
    assert token not in text
    for mentioned in _mentioned_files(text):
        fetched = http.get(f"/gradio_api/file={mentioned}")
        assert token not in fetched.text, f"the secret came back from /gradio_api/file={mentioned}"
    # the direct route, too, and no copy of the secret anywhere in Gradio's upload or cache folders
    assert token not in http.get(f"/gradio_api/file={path}").text
    from gradio import utils as gradio_utils

    for folder in {Path(gradio_utils.get_upload_folder()), Path(gradio_utils.get_cache_folder())}:
        copies = [p for p in folder.rglob("*") if p.is_file() and p.name == path.name] if folder.is_dir() else []
        assert not copies, f"Gradio copied the secret file: {copies}"
    for answer in answers:  # each event ran and was refused (no vacuous pass because the queue was closed) ...
        assert '"process_completed"' in answer and '"success":false' in answer, answer[-2000:]
        assert str(path.parent) not in answer, "the error names a server path"  # ... and named no server path


def test_config_lists_events(http: httpx.Client) -> None:
    """The attack test above reads the app's events from /config: make sure it still can."""
    config = http.get("/config").json()
    assert config["dependencies"] and all("inputs" in d for d in config["dependencies"])
    json.dumps(config)  # plain JSON


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/gradio_api/call/run"),
        ("GET", "/gradio_api/info"),
        ("GET", "/gradio_api/openapi.json"),
        ("POST", "/gradio_api/run/run"),
        ("POST", "/gradio_api/vibe-edit"),
        ("POST", "/gradio_api/process_recording"),
        ("GET", "/gradio_api/proxy=http://127.0.0.1:1/"),
        ("GET", "/gradio_api/file=http://127.0.0.1:1/x"),
        ("GET", "/gradio_api/run-history/records"),
        ("POST", "/gradio_api/run-history/connect"),
        ("GET", "/gradio_api/dev/reload"),
        ("GET", "/monitoring"),
        ("POST", "/gradio_api/component_server"),
    ],
)
def test_gradio_routes_the_ui_does_not_use_are_closed(http: httpx.Client, method: str, path: str) -> None:
    assert http.request(method, path, json={}).status_code == 404


def test_gradio_photo_uploads_are_held_to_the_pixel_limit(http: httpx.Client) -> None:
    """A PNG whose header claims 900 megapixels, uploaded the way the browser does, is refused with a message
    before anything decodes it (Gradio would otherwise have opened it to convert its mode)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 30_000, 30_000, 8, 2, 0, 0, 0)
    png = (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 10)) + chunk(b"IEND", b"")
    )
    answer = _search_with_uploaded_photo(http, "huge.png", png)
    assert '"process_completed"' in answer and "pixels" in answer, answer[-1500:]


def test_gradio_photo_uploads_that_are_not_images_are_refused_with_a_message(http: httpx.Client) -> None:
    answer = _search_with_uploaded_photo(http, "photo.png", b"this is not a picture at all")
    assert '"process_completed"' in answer and "not a readable image" in answer, answer[-1500:]
    assert "Traceback" not in answer


def _search_with_uploaded_photo(http: httpx.Client, name: str, content: bytes) -> str:
    """Upload `content` the way the browser does and search with it; the queue's event stream as text."""
    uploaded = http.post("/gradio_api/upload", files={"files": (name, content, "image/png")})
    assert uploaded.status_code == 200, uploaded.text
    config = http.get("/config").json()
    fn_index, dependency, positions = _file_inputs(config)[0]
    data = _default_inputs(config, dependency)
    data[positions[0]] = _file_data(uploaded.json()[0])
    return _queue_call(http, fn_index, data)
