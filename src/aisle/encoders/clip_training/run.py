"""Train a catalogue CLIP end to end and save it as a portable folder with a manifest, under
`AISLE_HOME/models/clip/`; `ensure_catalog_clip` reuses a folder whose manifest matches the data and config."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import platform
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from aisle.config import Settings, get_settings
from aisle.encoders.base import EncoderError, pick_device
from aisle.encoders.clip_training.data import Pair, data_fingerprint, pairs_from_products, pixel_cache, split_pairs
from aisle.encoders.clip_training.train import TrainConfig, Trainer
from aisle.files import save_array
from aisle.types import Product

log = logging.getLogger(__name__)
MANIFEST = "manifest.json"
KIND = "aisle-catalog-clip"


def config_key(config: TrainConfig) -> str:
    return hashlib.sha1(json.dumps(config.to_json(), sort_keys=True).encode()).hexdigest()[:8]


def clip_models_dir(settings: Settings) -> Path:
    return settings.models_dir / "clip"


def folder_for(source_name: str, fingerprint: str, config: TrainConfig, settings: Settings) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in source_name)[:40] or "catalog"
    return clip_models_dir(settings) / f"{safe}-{fingerprint[:10]}-{config_key(config)}"


def read_manifest(folder: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((folder / MANIFEST).read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) and data.get("kind") == KIND else None


def _set_threads() -> None:
    import torch

    if not torch.cuda.is_available() and "OMP_NUM_THREADS" not in os.environ:
        torch.set_num_threads(min(2, torch.get_num_threads()))


def train_on_pairs(
    pairs: Sequence[Pair],
    config: TrainConfig,
    out: Path,
    *,
    settings: Settings | None = None,
    source: str = "",
    device: str | None = None,
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
) -> Path:
    """Train on `pairs` and write the folder `out` (atomically: a crash leaves no half folder)."""
    import torch

    from aisle.encoders.clip_folder import save_portable_folder
    from aisle.encoders.clip_training.model import (
        build_from_init,
        build_locked_text,
        pooled_text_features,
        tokenize_all,
    )

    settings = settings or get_settings()
    if len(pairs) < 2:
        raise EncoderError(f"CLIP training needs at least 2 products with a title and a photo, got {len(pairs)}")
    _set_threads()
    device = pick_device(device)
    started = time.perf_counter()
    fingerprint = data_fingerprint(pairs)
    if config.init:
        built = build_from_init(config.init, config.seed)
        config = replace(config, image_size=built.image_size)
    else:
        built = build_locked_text(
            embed_dim=config.embed_dim,
            image_size=config.image_size,
            width=config.width,
            layers=config.layers,
            context_length=config.context_length,
            seed=config.seed,
            text_proj=config.text_proj,
        )
    built.model.to(device)
    pixels = pixel_cache(pairs, built.image_size, settings.home / "cache" / "clip-pixels", fingerprint)
    prepared = time.perf_counter()
    titles = [p.title for p in pairs]
    if built.locked_text:
        texts = _title_features(built, titles, fingerprint, settings, device, pooled_text_features)
    else:
        texts = tokenize_all(built, titles)
    featured = time.perf_counter()
    train_idx, val_idx = split_pairs(pairs, config.val_fraction)
    log.info("training on %d pairs, validating on %d (%s)", len(train_idx), len(val_idx), device)
    result = Trainer(built, config, pixels, texts, train_idx, val_idx, device).run(on_epoch)
    total = round(time.perf_counter() - started, 1)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    built.model.to("cpu").eval()
    preprocess_cfg = {"mean": list(built.mean), "std": list(built.std), "resize_mode": "shortest"}
    if built.locked_text:
        assert built.text_source is not None
        save_portable_folder(built.model, built.model_cfg, tmp, text_source=built.text_source,
                             preprocess_cfg=preprocess_cfg)  # fmt: skip
    else:
        from aisle.encoders.clip import save_clip_folder

        save_clip_folder(built.model, built.model_cfg, tmp, preprocess_cfg)
    manifest = {
        "kind": KIND,
        "format": 1,
        "source": source,
        "data_fingerprint": fingerprint,
        "config": config.to_json(),
        "config_key": config_key(config),
        "products": {"train": len(train_idx), "validation": len(val_idx)},
        "validation_ids_sha1": hashlib.sha1("\n".join(pairs[i].id for i in val_idx).encode()).hexdigest(),
        "text_tower": "locked MiniLM (all-MiniLM-L6-v2)" if built.locked_text and not config.init else config.init,
        "metrics": {"epochs": result.epochs, "final": result.epochs[-1] if result.epochs else {}},
        "timings_s": {
            "prepare": round(prepared - started, 1),
            "text_features": round(featured - prepared, 1),
            "train": result.seconds,
            "total": total,
        },
        "device": device,
        "precision": result.precision,
        "torch_threads": torch.get_num_threads(),
        "host": platform.machine(),
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    if out.exists():
        shutil.rmtree(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    os.replace(tmp, out)
    log.info("catalogue CLIP saved to %s (%.0fs)", out, total)
    return out


def _title_features(
    built: Any, titles: Sequence[str], fingerprint: str, settings: Settings, device: str, compute: Callable[..., Any]
) -> Any:
    """The locked text transformer's pooled title features, cached under AISLE_HOME keyed by the data and the
    text model (they depend on nothing else), so a second training run skips them."""
    import numpy as np

    from aisle.encoders.text import weights_fingerprint

    key = f"{fingerprint[:16]}-{weights_fingerprint(built.text_source)}-{built.tokenizer.context_length}"
    path = settings.home / "cache" / "clip-text" / f"pooled-{key}.npy"
    if path.is_file():
        cached = np.load(path)
        if cached.shape[0] == len(titles):
            log.info("title feature cache hit: %s", path)
            return cached
    features = compute(built, titles, device)
    save_array(path, features)
    return features


def find_trained(fingerprint: str, config: TrainConfig, settings: Settings) -> Path | None:
    """A saved folder trained on exactly this data with this config, if any."""
    root = clip_models_dir(settings)
    if not root.is_dir():
        return None
    key = config_key(config)
    for folder in sorted(root.iterdir()):
        manifest = read_manifest(folder)
        if manifest and manifest.get("data_fingerprint") == fingerprint and manifest.get("config_key") == key:
            return folder
    return None


def catalog_pairs(source: str, settings: Settings) -> list[Pair]:
    from aisle.catalog import load_catalog

    products: list[Product] = load_catalog(source, settings=settings).products
    pairs = pairs_from_products(products)
    if len(pairs) < 2:
        raise EncoderError(f"{source}: {len(pairs)} products with a title and a photo; CLIP training needs 2 or more")
    return pairs


def train_catalog_clip(
    source: str,
    config: TrainConfig | None = None,
    *,
    settings: Settings | None = None,
    force: bool = False,
    device: str | None = None,
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
) -> Path:
    """Train (or, unless `force`, reuse) the CLIP of catalogue `source` (an `aisle ingest` SOURCE spec)."""
    settings = settings or get_settings()
    config = config or TrainConfig()
    pairs = catalog_pairs(source, settings)
    fingerprint = data_fingerprint(pairs)
    if not force and (found := find_trained(fingerprint, config, settings)) is not None:
        log.info("reusing the catalogue CLIP in %s", found)
        return found
    name = source.partition(":")[0] if ":" in source else Path(source).stem
    out = folder_for(name, fingerprint, config, settings)
    return train_on_pairs(pairs, config, out, settings=settings, source=source, device=device, on_epoch=on_epoch)


def ensure_catalog_clip(source: str, *, settings: Settings | None = None, epochs: int | None = None) -> Path:
    """The folder of a trained catalogue CLIP for `source` (e.g. "myntra:../shared/data/myntra"): an existing one
    under AISLE_HOME/models/clip/ whose manifest matches the data fingerprint and config, else a new one trained
    now. The folder is a valid `clip_model` spec (`Settings(clip_model=str(folder))`)."""
    config = TrainConfig() if epochs is None else TrainConfig(epochs=epochs)
    return train_catalog_clip(source, config, settings=settings)
