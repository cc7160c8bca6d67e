"""Personalisation commands: `aisle train-personal`, `aisle eval personal DATASET`, `aisle events ...`.

Importing this module registers `personal` on the `eval` group (from here, so eval_cmd stays untouched).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from aisle.cli.eval_cmd import default_data, eval_app

if TYPE_CHECKING:
    from aisle.config import Settings

log = logging.getLogger(__name__)
events_app = typer.Typer(help="Behaviour events: import real logs, show a shopper's history, apply retention.")
TRAIN_SOURCES = ("events", "ml-100k", "online_retail")


def _threads() -> None:
    """One torch thread unless OMP_NUM_THREADS says more (at most 2): the model's matrices are small, and on a
    shared CPU extra threads wait on each other (measured 3-4x slower with 2 threads under load)."""
    import os

    import torch

    torch.set_num_threads(max(1, min(2, int(os.environ.get("OMP_NUM_THREADS", "1")))))


def _dataset_path(name: str, data: Path | None, settings: Settings) -> Path:
    if data is not None:
        if not data.exists():
            raise typer.BadParameter(f"no such file or folder: {data}", param_hint="--data")
        return data
    return default_data(name, settings)


@eval_app.command("personal")
def eval_personal(
    dataset: Annotated[str, typer.Argument(help="ml-100k (or movielens) or online_retail.")],
    data: Annotated[Path | None, typer.Option("--data", help="The data set's folder or file.")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write the report here too.")] = None,
    epochs: Annotated[int | None, typer.Option("--epochs", min=1, help="Most training epochs.")] = None,
    max_minutes: Annotated[float | None, typer.Option("--max-minutes", help="Training time budget.")] = None,
    device: Annotated[str | None, typer.Option("--device", help="cpu or cuda (default: cuda when present).")] = None,
) -> None:
    """Personal ranker vs popularity, item-kNN, ALS and itself without history: leave-last-out, full ranking."""
    from rich.console import Console

    from aisle.config import get_settings
    from aisle.eval.personal import evaluate_personal, markdown, write
    from aisle.personal.interactions import DATASETS

    name = "ml-100k" if dataset == "movielens" else dataset
    if name not in DATASETS:
        raise typer.BadParameter(f"unknown data set {dataset!r}: use {', '.join(DATASETS)}", param_hint="DATASET")
    _threads()
    settings = get_settings()
    overrides: dict[str, Any] = {"device": device}
    if epochs:
        overrides["epochs"] = epochs
    if max_minutes:
        overrides["max_minutes"] = max_minutes
    report = evaluate_personal(name, _dataset_path(name, data, settings), settings=settings, train_overrides=overrides)
    folder = write(report, settings)
    if out is not None:
        write(report, settings, out)
    Console().print(markdown(report))
    typer.echo(f"report: {folder}")


def train_personal(
    source: Annotated[
        str, typer.Argument(help="events (the event store, for a collection), ml-100k or online_retail.")
    ] = "events",
    collection: Annotated[str | None, typer.Option("--collection", help="Collection [AISLE_COLLECTION].")] = None,
    data: Annotated[Path | None, typer.Option("--data", help="Data folder/file for ml-100k / online_retail.")] = None,
    epochs: Annotated[int, typer.Option("--epochs", min=1, help="Most training epochs.")] = 200,
    max_minutes: Annotated[float | None, typer.Option("--max-minutes", help="Training time budget.")] = None,
    device: Annotated[str | None, typer.Option("--device", help="cpu or cuda (default: cuda when present).")] = None,
    onnx: Annotated[bool, typer.Option("--onnx", help="Also export the scorer to model.onnx.")] = False,
) -> None:
    """Train the sequential personal ranker (GPU when present) and save it with a manifest."""
    from aisle.config import get_settings
    from aisle.personal.train import TrainConfig, export_onnx, load_model

    if source not in TRAIN_SOURCES:
        raise typer.BadParameter(f"unknown source {source!r}: use {', '.join(TRAIN_SOURCES)}", param_hint="SOURCE")
    _threads()
    settings = get_settings()
    tc = TrainConfig(epochs=epochs, max_minutes=max_minutes, device=device)
    if source == "events":
        from aisle.training.personal import fit_on_events

        folder = fit_on_events(collection or settings.collection, settings, tc)
    else:
        from aisle.training.personal import fit_on_dataset

        folder = fit_on_dataset(source, _dataset_path(source, data, settings), settings, tc)
    if onnx:
        export_onnx(load_model(folder, device="cpu"), folder / "model.onnx")
    manifest = json.loads((folder / "manifest.json").read_text())
    typer.echo(
        f"saved {folder} (valid NDCG@10 {manifest['best_valid_ndcg@10']:.4f}, epoch {manifest['best_epoch']}, "
        f"{manifest['train_seconds']} s on {manifest['device']})"
    )


@events_app.command("import")
def import_log(
    kind: Annotated[str, typer.Argument(help="online_retail, movielens or ubi.")],
    path: Annotated[Path, typer.Argument(help="The log file or folder.")],
    queries: Annotated[Path | None, typer.Option("--queries", help="UBI ubi_queries export (query texts).")] = None,
) -> None:
    """Import a real behaviour log into the event store (ids pseudonymised; idempotent)."""
    from aisle.personal.events import EventStore
    from aisle.personal.importers import import_events

    if not path.exists():
        raise typer.BadParameter(f"no such file or folder: {path}", param_hint="PATH")
    with EventStore.open() as store:
        summary = import_events(store, kind, path, queries)
    typer.echo(json.dumps(summary.to_json()))


@events_app.command("history")
def history(
    user: Annotated[str, typer.Argument(help="The shopper's id (as your shop knows it).")],
    limit: Annotated[int, typer.Option("--limit", min=1)] = 50,
) -> None:
    """A shopper's latest events, oldest first, as JSON lines."""
    from aisle.personal.events import EventStore

    with EventStore.open() as store:
        for event in store.history(user, limit):
            typer.echo(
                json.dumps({"product_id": event.product_id, "type": event.type.value,
                            "timestamp": event.timestamp.isoformat(), "query": event.query})
            )  # fmt: skip


@events_app.command("purge")
def purge(days: Annotated[int, typer.Option("--older-than-days", min=1)] = 365) -> None:
    """Delete events older than N days."""
    from datetime import timedelta

    from aisle.personal.events import EventStore

    with EventStore.open() as store:
        typer.echo(f"deleted {store.purge(timedelta(days=days))} events")


@eval_app.command("personal-search")
def eval_personal_search(
    data: Annotated[Path | None, typer.Option("--data", help="The Myntra folder (styles.csv, images/).")] = None,
    shoppers: Annotated[int, typer.Option("--shoppers", min=8, help="Simulated shoppers (half dev, half test).")] = 400,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the simulation.")] = 0,
    out: Annotated[Path | None, typer.Option("--out", help="Write the report here too.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
    logged: Annotated[
        str | None,
        typer.Option("--logged", help="Evaluate this collection on the event store's logged searches instead."),
    ] = None,
) -> None:
    """Personalised vs anonymous search for simulated Myntra shoppers: the blend is learnt on dev shoppers
    (and saved for the eval collection), nDCG@10 per query kind and history length on test shoppers. With
    --logged COLLECTION: on the shop's own searches with clicks and purchases, as served."""
    from aisle.config import get_settings
    from aisle.eval.datasets import myntra_corpus
    from aisle.eval.personal_search import evaluate_personal_search
    from aisle.pipeline.personal import blend_path

    settings = get_settings()
    if logged is not None:
        from aisle.eval.logged_search import evaluate_logged
        from aisle.index.collection import CollectionError

        try:
            report = evaluate_logged(logged, settings=settings)
        except (ValueError, CollectionError) as exc:
            raise typer.BadParameter(str(exc), param_hint="--logged") from None
        _write_personal_search(report, settings, out)
        return
    corpus = myntra_corpus(_dataset_path("myntra", data, settings), settings)
    report = evaluate_personal_search(
        corpus,
        settings=settings,
        n_shoppers=shoppers,
        seed=seed,
        progress=not quiet,
        save_blend=lambda collection, table: table.save(blend_path(settings, collection)),
    )
    _write_personal_search(report, settings, out)


def _write_personal_search(report: dict[str, Any], settings: Settings, out: Path | None) -> None:
    from aisle.eval.harness import run_folder
    from aisle.eval.personal_search_report import markdown, write
    from aisle.eval.report import timestamp

    folder = run_folder("personal-search", timestamp(), settings)
    write(report, folder)
    if out is not None:
        write(report, out)
    typer.echo(markdown(report))
    typer.echo(f"report: {folder}")
