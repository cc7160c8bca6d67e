"""`aisle train-ranker [DATASET]`: fine-tune the relevance ranker on a data set's dev-split judgments and save
it (with its manifest and ONNX files) under AISLE_HOME/models/relevance-ranker, where search and eval find it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from aisle.training.relevance import TrainConfig

_DEFAULTS = TrainConfig()


def train_ranker(
    dataset: Annotated[str, typer.Argument(help="Judged data set: crowdflower, wands or esci.")] = "crowdflower",
    data: Annotated[Path | None, typer.Option("--data", help="Its file or folder (default: the shared data).")] = None,
    epochs: Annotated[int, typer.Option("--epochs", min=1, help="Cross-encoder epochs.")] = _DEFAULTS.epochs,
    layers: Annotated[int, typer.Option("--layers", min=1, max=6, help="MiniLM layers kept.")] = _DEFAULTS.layers,
    max_length: Annotated[
        int, typer.Option("--max-length", min=16, max=512, help="Tokens per (query, product) pair.")
    ] = _DEFAULTS.max_length,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1)] = _DEFAULTS.batch_size,
    learning_rate: Annotated[float, typer.Option("--lr", min=0.0)] = _DEFAULTS.learning_rate,
    negatives: Annotated[
        int, typer.Option("--negatives", min=0, help="Unjudged mined candidates per query, trained as irrelevant.")
    ] = _DEFAULTS.negatives,
    candidates: Annotated[
        int, typer.Option("--candidates", min=5, help="First-stage depth mined for negatives and the scorer.")
    ] = _DEFAULTS.candidates,
    seed: Annotated[int, typer.Option("--seed", help="Seed of everything random in training.")] = _DEFAULTS.seed,
    folds: Annotated[
        int, typer.Option("--folds", min=2, help="Out-of-fold cross-encoders for the scorer (folds + 1 trainings).")
    ] = _DEFAULTS.folds,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
) -> None:
    """Train the relevance re-ranker (cross-encoder + learned scorer) on DATASET's dev queries only."""
    import dataclasses

    from aisle.cli.eval_cmd import default_data
    from aisle.config import get_settings
    from aisle.encoders.text import minilm_path
    from aisle.eval.datasets import load_dataset, select
    from aisle.eval.runner import ingest_dataset
    from aisle.index.client import open_engine
    from aisle.pipeline.search import SearchPipeline
    from aisle.training.relevance import train_ranker as train

    if dataset not in ("crowdflower", "wands", "esci"):
        raise typer.BadParameter(
            "use crowdflower, wands or esci (data sets with human judgments)", param_hint="DATASET"
        )
    settings = get_settings()
    config = dataclasses.replace(
        _DEFAULTS, epochs=epochs, layers=layers, max_length=max_length, batch_size=batch_size,
        learning_rate=learning_rate, negatives=negatives, candidates=candidates, seed=seed, folds=folds,
    )  # fmt: skip
    path = data or default_data(dataset, settings)
    full = load_dataset(dataset, path, settings)
    dev = select(full, split="dev")  # test-split queries are dropped before anything reads them
    engine = open_engine(settings)
    summary = ingest_dataset(dev, settings, engine, progress=not quiet)  # the whole corpus, as eval searches it
    pipeline = SearchPipeline.open(summary.collection, settings, engine=engine, ranker=None, personalizer=None)
    result = train(dev, pipeline, models_dir=settings.models_dir, base=minilm_path(), config=config, progress=not quiet)
    training = result.manifest["training"]
    typer.echo(
        json.dumps(
            {"folder": str(result.folder), "dev_queries": training["queries"], "seconds": training["seconds"],
             "scorer_cv_ndcg10": result.cv},
            indent=2,
        )
    )  # fmt: skip
