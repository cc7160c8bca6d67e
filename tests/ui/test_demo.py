"""`aisle demo`: where the data comes from, the download path (offline: a clear error), and an idempotent
prepare (a re-run embeds nothing) on a tiny Myntra-shaped folder with real photos."""

from __future__ import annotations

import csv
import json
import socket
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aisle.config import Settings
from aisle.pipeline.request import SearchRequest
from aisle.ui import demo
from aisle.ui.demo import DemoError, download_myntra, prepare_demo, resolve_data
from tests.conftest import jpeg_bytes

HEADER = ["id", "gender", "masterCategory", "subCategory", "articleType", "baseColour", "season", "year", "usage",
          "productDisplayName"]  # fmt: skip
ROWS = [
    ["1", "Women", "Footwear", "Shoes", "Heels", "Red", "Summer", "2012", "Casual", "Acme Women Red Heels"],
    ["2", "Men", "Footwear", "Shoes", "Casual Shoes", "Black", "Fall", "2011", "Casual", "Zed Men Black Shoes"],
    ["3", "Women", "Apparel", "Topwear", "Tops", "Blue", "Summer", "2012", "Casual", "Acme Women Blue Top"],
    ["4", "Men", "Accessories", "Watches", "Watches", "Black", "Winter", "2016", "Casual", "Zed Men Black Watch"],
    ["5", "Men", "Apparel", "Topwear", "Shirts", "White", "Summer", "2012", "Formal", "Zed Men White Shirt"],
]


def myntra_folder(root: Path, with_photos: bool = True) -> Path:
    folder = root / "myntra"
    (folder / "images").mkdir(parents=True)
    with (folder / "styles.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(ROWS)
    if with_photos:
        for n, row in enumerate(ROWS[:4]):  # product 5 has no photo: not part of the demo
            (folder / "images" / f"{row[0]}.jpg").write_bytes(jpeg_bytes((40 * n, 80, 200 - 40 * n)))
    return folder


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/myntra.zip"  # nothing listens there once the probe is closed


def test_data_comes_from_the_flag_then_the_setting_then_shared(tmp_path: Path) -> None:
    folder = myntra_folder(tmp_path)
    settings = Settings(home=tmp_path / "home", demo_data=folder, shared_data=tmp_path / "none")
    assert resolve_data(None, settings) == folder
    assert resolve_data(folder, Settings(home=tmp_path / "home")) == folder
    with pytest.raises(DemoError, match="no styles.csv"):
        resolve_data(tmp_path, settings)


def test_offline_download_fails_with_a_clear_message(tmp_path: Path) -> None:
    with pytest.raises(DemoError, match="cannot download the Myntra demo catalogue .* --data DIR"):
        download_myntra(tmp_path / "data" / "myntra", url=closed_port_url(), timeout=5)
    assert not list((tmp_path / "data").glob("*.part"))


def test_download_unpacks_the_archive(tmp_path: Path) -> None:
    source = myntra_folder(tmp_path / "src")
    archive = tmp_path / "bundle.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        for path in source.rglob("*"):
            if path.is_file():
                bundle.write(path, f"myntradataset/{path.relative_to(source)}")
    target = download_myntra(tmp_path / "home" / "data" / "myntra", url=archive.as_uri())
    assert (target / "styles.csv").is_file() and len(list((target / "images").iterdir())) == 4


def test_demo_command_without_data_or_network_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from aisle.cli.main import app

    monkeypatch.setenv("AISLE_SHARED_DATA", str(tmp_path / "empty"))
    (tmp_path / "empty").mkdir()
    monkeypatch.setattr(demo, "DEMO_URL", closed_port_url())
    result = CliRunner().invoke(app, ["demo", "--no-serve", "--no-clip"])
    assert result.exit_code != 0
    assert "cannot download the Myntra demo catalogue" in str(result.exception or result.output)


@pytest.mark.slow
def test_prepare_is_idempotent_and_creates_demo_people(tmp_path: Path, tiny_clip_spec: str) -> None:
    settings = Settings(home=tmp_path / "home", shared_data=tmp_path / "none")
    folder = myntra_folder(tmp_path)
    first, served = prepare_demo(settings, data=folder, clip=tiny_clip_spec)
    assert first.products == 4 and served.clip_model == tiny_clip_spec
    assert any("4 embedded" in note and "4 photos" in note for note in first.notes), first.notes
    shoppers = json.loads((settings.home / "demo" / "shoppers.json").read_text())
    assert "demo-womens-footwear" in shoppers
    second, _ = prepare_demo(settings, data=folder, clip=tiny_clip_spec)
    assert any("0 embedded, 4 unchanged" in note for note in second.notes), second.notes
    hits = second.pipeline.search(SearchRequest(query="heels")).results
    assert hits[0]["title"] == "Acme Women Red Heels"
