"""`aisle demo`: the Myntra demo catalogue with photos, found or downloaded, validated, embedded (with the
catalogue's own CLIP), and given demo shoppers, events and orders. Every step is idempotent: a re-run
re-embeds nothing that is unchanged and trains nothing that is already trained."""

from __future__ import annotations

import json
import logging
import shutil
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aisle.config import Settings
from aisle.types import Product
from aisle.ui.service import SHOPPERS_FILE

if TYPE_CHECKING:
    from aisle.catalog.validate import CatalogLoad

log = logging.getLogger(__name__)
DEMO_COLLECTION = "demo"
# "Fashion Product Images (Small)" by Param Aggarwal on Kaggle (styles.csv + images/)
DEMO_URL = "https://www.kaggle.com/api/v1/datasets/download/paramaggarwal/fashion-product-images-small"
DEMO_PAGE = "https://www.kaggle.com/datasets/paramaggarwal/fashion-product-images-small"


class DemoError(Exception):
    """The demo cannot be prepared; the message says what to do."""


@dataclass
class DemoReport:
    data: Path
    collection: str
    products: int
    clip_model: str | None
    notes: list[str] = field(default_factory=list)
    pipeline: Any = None  # the opened search pipeline, handed to the server


def is_myntra_dir(folder: Path) -> bool:
    return (folder / "styles.csv").is_file()


def resolve_data(data: Path | None, settings: Settings, *, download: Callable[[Path], Path] | None = None) -> Path:
    """`--data`, else AISLE_DEMO_DATA, else ../shared/data/myntra, else a download into AISLE_HOME/data."""
    if data is not None:
        if not is_myntra_dir(data):
            raise DemoError(f"--data {data}: no styles.csv there (expected the Myntra folder: styles.csv, images/)")
        return data
    if settings.demo_data is not None:
        if not is_myntra_dir(settings.demo_data):
            raise DemoError(f"AISLE_DEMO_DATA={settings.demo_data}: no styles.csv there")
        return settings.demo_data
    shared = settings.shared_data_dir()
    if shared is not None and is_myntra_dir(shared / "myntra"):
        return shared / "myntra"
    target = settings.home / "data" / "myntra"
    if is_myntra_dir(target):
        return target
    return (download or download_myntra)(target)


def download_myntra(target: Path, url: str | None = None, timeout: float = 30.0) -> Path:
    """Download and unpack the public Myntra data set into `target`, with a progress bar."""
    url = url or DEMO_URL
    import urllib.error
    import urllib.request

    from tqdm import tqdm

    target.parent.mkdir(parents=True, exist_ok=True)
    archive = target.parent / "myntra.zip.part"
    log.warning("no local Myntra data: downloading %s", url)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, archive.open("wb") as out:  # noqa: S310
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc="Myntra demo data") as bar:
                while chunk := response.read(1 << 20):
                    out.write(chunk)
                    bar.update(len(chunk))
    except (urllib.error.URLError, OSError, ValueError) as exc:
        archive.unlink(missing_ok=True)
        raise DemoError(
            f"cannot download the Myntra demo catalogue from {url} ({exc}). Download it from {DEMO_PAGE}, unpack it "
            "and pass --data DIR (or set AISLE_DEMO_DATA), or put it in ../shared/data/myntra."
        ) from None
    return _unpack(archive, target)


def _unpack(archive: Path, target: Path) -> Path:
    staging = target.parent / "myntra.unpack"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        with zipfile.ZipFile(archive) as bundle:
            bundle.extractall(staging)
    except zipfile.BadZipFile as exc:
        raise DemoError(f"the downloaded Myntra archive is damaged ({exc}); run `aisle demo` again") from None
    finally:
        archive.unlink(missing_ok=True)
    found = next((p.parent for p in sorted(staging.rglob("styles.csv"))), None)
    if found is None:
        raise DemoError("the downloaded archive has no styles.csv; download it by hand and pass --data DIR")
    shutil.rmtree(target, ignore_errors=True)
    found.rename(target)
    shutil.rmtree(staging, ignore_errors=True)
    return target


def load_demo_products(data: Path) -> tuple[CatalogLoad, list[Product]]:
    """The validated Myntra catalogue, and its products that have a photo (the demo is about search by words
    and by look)."""
    from aisle.catalog import load_catalog

    load = load_catalog(f"myntra:{data}")
    products = [p for p in load.products if p.image]
    if not products:
        raise DemoError(f"no product in {data} has a readable photo (images/<id>.jpg)")
    return load, products


def catalogue_clip(data: Path, settings: Settings, epochs: int | None) -> tuple[str | None, str | None]:
    """The catalogue CLIP's folder (trained once, then loaded), or None and why."""
    try:
        from aisle.encoders.clip_training import ensure_catalog_clip
    except ImportError:
        return None, "CLIP training is not available in this build: photo search is off"
    return str(ensure_catalog_clip(f"myntra:{data}", settings=settings, epochs=epochs)), None


def demo_people(settings: Settings, products: Sequence[Product], pipeline: Any = None) -> tuple[list[str], list[str]]:
    """Demo shoppers (with behaviour events) and demo orders, where those features are built; notes otherwise."""
    notes: list[str] = []
    shoppers: list[str] = []
    try:
        from aisle.personal.demo import create_demo_shoppers, demo_groups
    except ImportError:
        notes.append("demo shoppers are not available in this build (aisle.personal.demo is missing)")
    else:
        groups = demo_groups(products)
        if groups:
            shoppers = sorted(create_demo_shoppers(settings, groups))
        else:
            notes.append("no demo shoppers: the catalogue has none of the demo groups' products")
    try:
        from aisle.assistant.orders import create_demo_orders
    except ImportError:
        notes.append("demo orders are not available in this build (aisle.assistant.orders is missing)")
    else:
        added = create_demo_orders(settings, [p.id for p in products], pipeline=pipeline)
        notes.append(f"demo orders: {added} added" if added else "demo orders: already there")
    path = settings.home / SHOPPERS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(shoppers), encoding="utf-8")
    return shoppers, notes


def prepare_demo(
    settings: Settings,
    *,
    data: Path | None = None,
    collection: str = DEMO_COLLECTION,
    clip: str | None = None,
    train_clip: bool = True,
    epochs: int | None = None,
) -> tuple[DemoReport, Settings]:
    """Everything `aisle demo` does before serving; returns what it did and the settings to serve with."""
    from aisle.catalog.store import save_catalog
    from aisle.pipeline.ingest import ingest_products

    folder = resolve_data(data, settings)
    load, products = load_demo_products(folder)
    notes: list[str] = []
    if clip is None and train_clip:
        clip, why = catalogue_clip(folder, settings, epochs)
        if why:
            notes.append(why)
    if clip:
        settings = settings.model_copy(update={"clip_model": clip})
    summary = ingest_products(products, collection, settings=settings)
    save_catalog(load, settings.catalogs_dir / collection)  # after the index took it: a failure changes nothing
    notes.append(
        f"indexed {summary.products:,} products ({summary.embedded:,} embedded, {summary.unchanged:,} unchanged, "
        f"{summary.images_embedded:,} photos) in {summary.elapsed_s:.1f} s"
    )
    from aisle.pipeline.search import SearchPipeline

    pipeline = SearchPipeline.open(collection, settings)
    shoppers, people_notes = demo_people(settings, products, pipeline)
    notes += people_notes
    if shoppers:
        notes.append(f"demo shoppers: {', '.join(shoppers)}")
    return DemoReport(folder, collection, len(products), clip, notes, pipeline), settings
