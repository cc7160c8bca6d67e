"""A real server (uvicorn on a free loopback port, in a thread) over the small fixture catalogue with photos."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

# the fixture catalogue, tiny CLIP and its ingest, shared with the pipeline tests
from tests.pipeline.conftest import (  # noqa: F401
    catalogue,
    ingested,
    pipeline,
    search_settings,
    shared_engine,
    tiny_clip_spec,
)


class LiveServer:
    """uvicorn serving `app` on 127.0.0.1 (the socket is bound first, so the port cannot be taken meanwhile)."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.socket.close()


# the shop's shared token secret in these tests (HS256 needs at least 32 bytes)
TEST_SECRET = "aisle-tests-shared-secret-0123456789abcdef"


def token_for(settings: Any, user: str, **kwargs: Any) -> str:
    """A real signed token for `user`, as the shop's login would issue it."""
    from pydantic import SecretStr

    from aisle.ui.auth import issue_token

    return issue_token(settings.model_copy(update={"auth_secret": SecretStr(TEST_SECRET)}), user, **kwargs)


def bearer_for(settings: Any, user: str, **kwargs: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(settings, user, **kwargs)}"}


@pytest.fixture(scope="session")
def ui_service(pipeline: Any, search_settings: Any) -> Any:  # noqa: F811
    from pydantic import SecretStr

    from aisle.ui.service import AisleService

    settings = search_settings.model_copy(update={"auth_secret": SecretStr(TEST_SECRET)})
    service = AisleService(settings, pipeline=pipeline)
    service.warm_up()  # the assistant's intent model and local LLM too, before any test waits on them
    return service


@pytest.fixture(scope="session")
def server(ui_service: Any) -> Iterator[LiveServer]:
    from aisle.ui.app import create_app

    with LiveServer(create_app(service=ui_service)) as live:
        yield live
