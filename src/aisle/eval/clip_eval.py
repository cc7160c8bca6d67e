"""Catalogue-CLIP evaluation in one report: the `image` pipeline (text query -> CLIP text tower -> image vectors
only; no title text and no attribute boost) with the trained CLIP and with a random-weight CLIP of the same
architecture, text search with and without the image vectors in hybrid fusion, and an image-to-image task
(held-out product photos, perturbed, should retrieve products of the same article type and colour)."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from aisle.config import Settings
from aisle.eval.datasets import EvalDataset
from aisle.eval.runner import EvalRuns, PipelineRun, run_pipelines
from aisle.index.engine import Engine, Retrieval

log = logging.getLogger(__name__)
# report name -> (registered pipeline, which CLIP: None | "trained" | "random", attribute boost on)
REPORT_PIPELINES: dict[str, tuple[str, str | None, bool]] = {
    "image (random CLIP)": ("image", "random", False),
    "image": ("image", "trained", False),
    "bm25": ("bm25", None, True),
    "dense": ("dense", None, True),
    "hybrid-rrf (text only)": ("hybrid-rrf", None, True),
    "hybrid-rrf (+image)": ("hybrid-rrf", "trained", True),
}


def random_baseline_folder(trained: Path, settings: Settings, seed: int = 0) -> Path:
    """A CLIP folder with the trained folder's architecture and random image tower and projections (the locked
    MiniLM text transformer is the same pretrained one): what training starts from."""
    from aisle.encoders.clip_folder import WEIGHTS, read_config, save_portable_folder
    from aisle.encoders.clip_training import read_manifest
    from aisle.encoders.clip_training.model import build_locked_text
    from aisle.encoders.text import minilm_path

    manifest = read_manifest(trained)
    if manifest is None or manifest["config"].get("init"):
        raise ValueError(f"{trained} is not a locked-text catalogue CLIP folder (no aisle manifest)")
    config = manifest["config"]
    out = settings.models_dir / "clip" / f"random-{trained.name}-seed{seed}"
    if (out / WEIGHTS).is_file():
        return out
    built = build_locked_text(
        embed_dim=config["embed_dim"],
        image_size=config["image_size"],
        width=config["width"],
        layers=config["layers"],
        context_length=config["context_length"],
        seed=seed,
        text_proj=config.get("text_proj", "mlp"),  # manifests before the option had an MLP
    )
    pre = read_config(trained).get("preprocess_cfg", {})
    return save_portable_folder(built.model.eval(), built.model_cfg, out, text_source=minilm_path(), preprocess_cfg=pre)


def perturb(image: Any, rng: np.random.Generator) -> Any:
    """A shopper's photo of a product: a random crop (70-95% of each side), maybe a mirror image, and light
    brightness / contrast / saturation jitter."""
    from PIL import ImageEnhance, ImageOps

    w, h = image.size
    cw, ch = int(w * rng.uniform(0.7, 0.95)), int(h * rng.uniform(0.7, 0.95))
    left, top = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
    image = image.crop((left, top, left + cw, top + ch))
    if rng.random() < 0.5:
        image = ImageOps.mirror(image)
    for enhancer in (ImageEnhance.Brightness, ImageEnhance.Contrast, ImageEnhance.Color):
        image = enhancer(image).enhance(float(rng.uniform(0.85, 1.15)))
    return image


def image_to_image(
    dataset: EvalDataset, collection: str, clip_spec: str, engine: Engine, query_ids: Sequence[str], seed: int = 0
) -> dict[str, Any]:
    """Each query product's perturbed photo searches the image vectors (the product itself excluded).
    Reports the share of the top 10 with the same article type and colour (and same type only), and how often
    the product's own photo comes first."""
    from aisle.encoders import create_encoder
    from aisle.encoders.images import load_rgb
    from aisle.index.schema import IMAGE

    encoder: Any = create_encoder("clip-image", spec=clip_spec)
    by_id = {p.id: p for p in dataset.corpus}
    rng = np.random.default_rng(seed)
    queries = [by_id[q] for q in query_ids if q in by_id and by_id[q].image]
    photos = [perturb(load_rgb(p.image), rng) for p in queries]
    vectors = encoder.encode_images(photos)
    same_both, same_type, own_first = [], [], []
    for product, vector in zip(queries, vectors, strict=True):
        hits = engine.query(collection, [Retrieval(IMAGE, np.asarray(vector))], limit=11)
        ids = [str(hit.payload.get("product_id")) for hit in hits]
        own_first.append(float(bool(ids) and ids[0] == product.id))
        others = [by_id[i] for i in ids if i != product.id and i in by_id][:10]
        want = product.attributes
        same_type.append(np.mean([o.attributes.get("article_type") == want.get("article_type") for o in others]))
        same_both.append(
            np.mean(
                [
                    o.attributes.get("article_type") == want.get("article_type")
                    and o.attributes.get("colour") == want.get("colour")
                    for o in others
                ]
            )
        )
    return {
        "queries": len(queries),
        "precision@10_type_and_colour": round(float(np.mean(same_both)), 4) if queries else None,
        "precision@10_type": round(float(np.mean(same_type)), 4) if queries else None,
        "own_photo_at_1": round(float(np.mean(own_first)), 4) if queries else None,
    }


def held_out_ids(dataset: EvalDataset, trained: Path, limit: int = 300) -> list[str]:
    """The trained model's validation products (never seen in training), sorted, at most `limit`."""
    from aisle.encoders.clip_training import read_manifest
    from aisle.encoders.clip_training.data import is_validation

    manifest = read_manifest(trained) or {}
    fraction = float(manifest.get("config", {}).get("val_fraction", 0.05))
    return sorted(p.id for p in dataset.corpus if p.image and is_validation(p.id, fraction))[:limit]


@contextlib.contextmanager
def shared_text_embeddings(settings: Settings) -> Iterator[None]:
    """While active, the process's (shared, cached) text encoder embeds each distinct document once: the three
    collections of this evaluation hold the same products, so their `text` vectors are identical."""
    from aisle.encoders import create_encoder

    encoder: Any = create_encoder("sentence-transformers", backend=settings.encoder_backend, model=settings.text_model)
    original = encoder.encode_documents
    memo: dict[str, np.ndarray] = {}

    def encode_documents(texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in memo]
        if missing:
            memo.update(zip(missing, original(missing, progress=progress), strict=True))
        return np.stack([memo[t] for t in texts]) if texts else original(texts, progress=progress)

    encoder.encode_documents = encode_documents
    try:
        yield
    finally:
        del encoder.encode_documents


def run_clip_eval(
    dataset: EvalDataset,
    trained: Path,
    *,
    settings: Settings,
    engine: Engine | None = None,
    progress: bool = True,
    i2i_queries: int = 300,
) -> tuple[EvalRuns, dict[str, Any]]:
    """All REPORT_PIPELINES as one EvalRuns (named as in the report) plus the image-to-image results."""
    from aisle.index.client import open_engine

    engine = engine or open_engine(settings)
    specs = {"trained": str(trained), "random": str(random_baseline_folder(trained, settings))}
    runs: dict[str, PipelineRun] = {}
    skipped: dict[str, str] = {}
    collections: dict[str, str] = {}
    with shared_text_embeddings(settings):
        for name, (pipeline, clip, boost) in REPORT_PIPELINES.items():
            update: dict[str, Any] = {"clip_model": specs[clip] if clip else None}
            if not boost:
                update["attribute_boost"] = 0.0
            variant = settings.model_copy(update=update)
            result = run_pipelines(dataset, [pipeline], settings=variant, engine=engine, progress=progress)
            collections[name] = result.collection
            if pipeline in result.runs:
                runs[name] = replace(result.runs[pipeline], name=name)
            else:
                skipped[name] = result.skipped.get(pipeline, "not run")
    held_out = held_out_ids(dataset, trained, i2i_queries)
    i2i = {
        "task": "held-out product photo, randomly cropped, mirrored and colour-jittered -> image vectors",
        "held_out_products": len(held_out),
    }
    for clip, name in (("trained", "image"), ("random", "image (random CLIP)")):
        i2i[clip] = image_to_image(dataset, collections[name], specs[clip], engine, held_out)
    return EvalRuns(collections["image"], runs, skipped, {"collections": collections, "clip": specs}), i2i


def i2i_markdown(i2i: dict[str, Any]) -> str:
    lines = [
        "",
        "## Image to image",
        "",
        f"{i2i['task']}; {i2i['held_out_products']} products held out of CLIP training.",
        "",
        "| CLIP | P@10 same type and colour | P@10 same type | own photo first |",
        "| --- | ---: | ---: | ---: |",
    ]
    for clip in ("random", "trained"):
        row = i2i[clip]
        lines.append(
            f"| {clip} | {row['precision@10_type_and_colour']} | {row['precision@10_type']} | {row['own_photo_at_1']} |"
        )
    return "\n".join(lines) + "\n"


def write_clip_report(report: dict[str, Any], i2i: dict[str, Any], folder: Path) -> None:
    """Add the image-to-image section to report.json and report.md (written by `report.write_report`)."""
    report["image_to_image"] = i2i
    (folder / "report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    with (folder / "report.md").open("a", encoding="utf-8") as handle:
        handle.write(i2i_markdown(i2i))
