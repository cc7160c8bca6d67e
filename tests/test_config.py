from pathlib import Path

import pytest

from aisle.config import Settings


def test_environment_overrides_toml_which_overrides_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    toml = tmp_path / "aisle.toml"
    toml.write_text(f'home = "{tmp_path / "from-toml"}"\nmax_price = 500.0\ncollection = "shop"\n')
    monkeypatch.setenv("AISLE_CONFIG", str(toml))
    monkeypatch.setenv("AISLE_COLLECTION", "from-env")
    monkeypatch.delenv("AISLE_HOME")
    settings = Settings()
    assert settings.home == tmp_path / "from-toml"
    assert settings.max_price == 500.0
    assert settings.collection == "from-env"
    assert settings.catalogs_dir == tmp_path / "from-toml" / "catalogs"


def test_invalid_values_are_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AISLE_MAX_PRICE", "-1")
    with pytest.raises(ValueError, match="max_price"):
        Settings()


def test_shared_data_dir_honours_the_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AISLE_SHARED_DATA", str(tmp_path))
    assert Settings().shared_data_dir() == tmp_path
    monkeypatch.setenv("AISLE_SHARED_DATA", str(tmp_path / "missing"))
    assert Settings().shared_data_dir() is None
