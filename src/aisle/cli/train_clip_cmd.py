"""`aisle train-clip --catalog SOURCE`: train a CLIP on the catalogue's own (photo, title) pairs."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from aisle.cli import eval_clip_cmd  # noqa: F401  (registers `aisle eval myntra-clip`)


def train_clip(
    catalog: Annotated[
        str,
        typer.Option("--catalog", help="Catalogue SOURCE, as for `aisle ingest` (e.g. myntra:../shared/data/myntra)."),
    ],
    init: Annotated[
        str | None,
        typer.Option(
            "--init",
            help="Start from an open_clip model ('ARCH:CHECKPOINT' or a CLIP folder) and fine-tune it; default: "
            "the packaged MiniLM as a locked text tower and a new small image tower.",
        ),
    ] = None,
    epochs: Annotated[int, typer.Option("--epochs", min=1, max=1000, help="Passes over the training pairs.")] = 8,
    image_size: Annotated[
        int, typer.Option("--image-size", min=16, max=512, help="Training/inference resolution (new image tower).")
    ] = 48,
    batch_size: Annotated[int, typer.Option("--batch-size", min=2, max=8192, help="Pairs per step.")] = 256,
    width: Annotated[int, typer.Option("--width", min=8, max=256, help="Image tower width (new image tower).")] = 16,
    crop_min: Annotated[
        float,
        typer.Option(
            "--crop-min",
            min=0.1,
            max=1.0,
            help="Smallest share of a photo's area a random training crop keeps (1.0: flips and jitter only).",
        ),
    ] = 0.9,
    text_proj: Annotated[
        str,
        typer.Option(
            "--text-proj",
            help="identity: the image tower learns the locked MiniLM's own space (default); mlp: a trained text "
            "projection into a new space (--init models keep their own).",
        ),
    ] = "identity",
    target_temperature: Annotated[
        float,
        typer.Option(
            "--target-temperature",
            min=0.0,
            max=1.0,
            help="Soft contrastive targets: softmax of title-title similarity at this temperature, so near-duplicate "
            "titles are not negatives of each other; 0: one-hot targets (open_clip's ClipLoss).",
        ),
    ] = 0.03,
    seed: Annotated[int, typer.Option("--seed", help="Seed of weights, shuffling and augmentation.")] = 0,
    device: Annotated[
        str | None, typer.Option("--device", help="cpu, cuda, cuda:1 (default: CUDA when present).")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Train again even when a matching model exists.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the manifest as JSON.")] = False,
) -> None:
    """Contrastive training (open_clip's model; soft or one-hot targets); saves a folder under
    AISLE_HOME/models/clip/ that `aisle ingest --clip FOLDER`, `aisle search --image` and `aisle export-onnx` use."""
    from rich.console import Console

    from aisle.catalog.raw import SourceError
    from aisle.catalog.sources import parse_source
    from aisle.config import get_settings
    from aisle.encoders.clip_training import TrainConfig, read_manifest, train_catalog_clip
    from aisle.encoders.clip_training.model import TEXT_PROJECTIONS

    try:
        parse_source(catalog)  # the same SOURCE specs as `aisle ingest`, checked before any work
    except SourceError as error:
        raise typer.BadParameter(str(error), param_hint="--catalog") from None
    if text_proj not in TEXT_PROJECTIONS:
        raise typer.BadParameter(f"use one of {', '.join(TEXT_PROJECTIONS)}", param_hint="--text-proj")
    console = Console(stderr=True)
    config = TrainConfig(
        epochs=epochs,
        image_size=image_size,
        batch_size=batch_size,
        width=width,
        crop_scale=(crop_min, 1.0),
        text_proj=text_proj,
        target_temperature=target_temperature or None,
        seed=seed,
        init=init,
    )

    def report(record: dict) -> None:
        val = record.get("val", {})
        console.print(
            f"epoch {record['epoch']}: loss {record['loss']:.4f}  val t2i R@1/5/10 "
            f"{val.get('t2i_r@1', 0):.3f}/{val.get('t2i_r@5', 0):.3f}/{val.get('t2i_r@10', 0):.3f}  "
            f"i2t R@10 {val.get('i2t_r@10', 0):.3f}  ({record['seconds']:.0f}s)"
        )

    folder = train_catalog_clip(catalog, config, settings=get_settings(), force=force, device=device, on_epoch=report)
    manifest = read_manifest(folder) or {}
    if as_json:
        typer.echo(json.dumps({"folder": str(folder), **manifest}))
        return
    timings = manifest.get("timings_s", {})
    console.print(
        f"trained on {manifest.get('products')} pairs in {timings.get('total', '?')}s ({manifest.get('device')})"
    )
    typer.echo(str(folder))
