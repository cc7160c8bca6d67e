"""Shared fixtures: an isolated AISLE_HOME per test, the shared data folder (or a skip), tiny images."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from aisle.config import Settings


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No test touches the real AISLE_HOME or reads a stray aisle.toml."""
    home = tmp_path_factory.mktemp("aisle-home")
    monkeypatch.setenv("AISLE_HOME", str(home))
    monkeypatch.setenv("AISLE_CONFIG", str(home / "no-such-aisle.toml"))
    from aisle.config import get_settings

    get_settings.cache_clear()
    return home


@pytest.fixture
def settings(isolated_home: Path) -> Settings:
    return Settings(home=isolated_home)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    folder = Settings().shared_data_dir()
    if folder is None:
        pytest.skip("needs ../shared/data (or AISLE_SHARED_DATA)")
    return folder


def jpeg_bytes(colour: tuple[int, int, int] = (200, 30, 30), size: int = 96) -> bytes:
    """A real JPEG with noisy texture, so that most of its bytes are entropy-coded data."""
    noise = Image.effect_noise((size, size), 80).convert("RGB")
    image = Image.blend(Image.new("RGB", (size, size), colour), noise, 0.5)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()
