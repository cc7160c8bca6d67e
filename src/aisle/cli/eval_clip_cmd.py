"""`aisle eval myntra-clip --clip FOLDER`: the catalogue CLIP against a random-weight CLIP of the same
architecture, and text search with and without image vectors, in one report (plus image-to-image)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from aisle.cli.eval_cmd import DataOpt, LimitOpt, OutOpt, QuietOpt, SplitOpt, _print_evaluation, default_data, eval_app


@eval_app.command("myntra-clip")
def myntra_clip(
    clip: Annotated[
        Path | None,
        typer.Option(
            "--clip",
            help="A catalogue CLIP folder (aisle train-clip); default: train or reuse one for the data (ensure).",
        ),
    ] = None,
    data: DataOpt = None,
    out: OutOpt = None,
    limit_queries: LimitOpt = None,
    split: SplitOpt = "test",
    quiet: QuietOpt = False,
    queries: Annotated[int, typer.Option("--queries", min=1, help="How many attribute queries to generate.")] = 300,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the query sample.")] = 0,
    i2i_queries: Annotated[
        int, typer.Option("--i2i-queries", min=1, help="Held-out products for the image-to-image task.")
    ] = 300,
) -> None:
    """Myntra attribute queries: `image` (CLIP text -> image vectors only) with the trained and a random CLIP,
    bm25 / dense / hybrid without and with image vectors, and image-to-image on held-out products."""
    from aisle.config import get_settings
    from aisle.encoders.clip_training import ensure_catalog_clip, read_manifest
    from aisle.eval.clip_eval import run_clip_eval, write_clip_report
    from aisle.eval.datasets import load_dataset, select
    from aisle.eval.harness import Evaluation, run_folder
    from aisle.eval.metrics import evaluate_splits
    from aisle.eval.report import build_report, timestamp, write_report
    from aisle.eval.runner import TOP_K

    if split not in ("all", "dev", "test"):
        raise typer.BadParameter("use one of all, dev, test", param_hint="--split")
    settings = get_settings()
    path = data or default_data("myntra", settings)
    if clip is None:
        clip = ensure_catalog_clip(f"myntra:{path}", settings=settings)
    if read_manifest(clip) is None:
        raise typer.BadParameter(f"{clip} is not a catalogue CLIP folder (no manifest.json)", param_hint="--clip")
    dataset = load_dataset("myntra", path, settings, n_queries=queries, seed=seed)
    dataset = select(dataset, split=split, limit_queries=limit_queries)
    if not dataset.queries:
        raise typer.BadParameter(f"no judged queries in {path} (split {split})", param_hint="--data")
    created = timestamp()
    runs, i2i = run_clip_eval(dataset, clip.resolve(), settings=settings, progress=not quiet, i2i_queries=i2i_queries)
    splits = ("dev", "test", "all") if split == "all" else (split,)
    results = evaluate_splits(dataset.qrels, {name: r.run for name, r in runs.runs.items()}, splits)
    config = {
        "split": split,
        "top_k": TOP_K,
        "limit_queries": limit_queries,
        "n_queries": queries,
        "seed": seed,
        "clip": str(clip),
        "image_pipelines": "attribute boost off: text query -> CLIP text tower -> image vectors only",
        "pipelines_asked": list(runs.runs),
    }
    report = build_report(dataset, runs, results, settings=settings, config=config, created=created)
    folder = run_folder("myntra-clip", created, settings)
    write_report(report, folder, {name: list(r.latency_ms.values()) for name, r in runs.runs.items()})
    write_clip_report(report, i2i, folder)
    if out is not None and out.resolve() != folder.resolve():
        import shutil

        shutil.copytree(folder, out, dirs_exist_ok=True)
    _print_evaluation(Evaluation(report, folder, out))
    typer.echo(f"image to image: {i2i}")
