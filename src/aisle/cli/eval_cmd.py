"""`aisle eval DATASET [options]` (DATASET: crowdflower, myntra, wands, esci) and `aisle eval compare A B`.

Each data set is a sub-command of the `eval` group, so `aisle eval crowdflower --limit-queries 40` and
`aisle eval compare RUN_A RUN_B` share one group without the data set argument swallowing `compare`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

if TYPE_CHECKING:
    from aisle.config import Settings
    from aisle.eval.harness import Evaluation

DATASET_NAMES = ("crowdflower", "myntra", "wands", "esci")
SPLIT_NAMES = ("all", "dev", "test")


class _EvalGroup(TyperGroup):
    """Names the data sets when an unknown one is given."""

    def resolve_command(self, ctx: Any, args: list[str]) -> tuple[str | None, Any, list[str]]:
        if args and not args[0].startswith("-") and self.get_command(ctx, args[0]) is None:
            raise typer.BadParameter(
                f"unknown data set {args[0]!r}: use one of {', '.join(DATASET_NAMES)}, or `compare A B`",
                ctx=ctx,
                param_hint="DATASET",
            )
        return super().resolve_command(ctx, args)


eval_app = typer.Typer(
    cls=_EvalGroup,
    help="Offline retrieval evaluation: `aisle eval DATASET --options` writes report.json, report.md and plots; "
    "`aisle eval compare A B` puts two stored runs side by side.",
    no_args_is_help=True,
)

DataOpt = Annotated[
    Path | None,
    typer.Option("--data", help="The data set's file or folder (default: the shared data folder's DATASET)."),
]
PipelineOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--pipeline",
        help="Pipeline to run (repeatable): bm25, dense, image, hybrid-rrf, hybrid-dbsf, hybrid+rerank (default: all).",
    ),
]
OutOpt = Annotated[
    Path | None,
    typer.Option("--out", help="Also write the report here (it is always kept in AISLE_HOME/reports/eval/)."),
]
LimitOpt = Annotated[
    int | None,
    typer.Option(
        "--limit-queries",
        min=1,
        help="Only the first N queries (by query id); the corpus shrinks to the products judged for them "
        "(a fast 'nano' run; its numbers are not comparable with a full run's).",
    ),
]
SplitOpt = Annotated[str, typer.Option("--split", help="Queries to run: all (reports dev, test and all), dev or test.")]
ClipOpt = Annotated[str | None, typer.Option("--clip", help="open_clip spec for image vectors [AISLE_CLIP_MODEL].")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")]


def default_data(name: str, settings: Settings) -> Path:
    shared = settings.shared_data_dir()
    if shared is None or not (shared / name).exists():
        raise typer.BadParameter(f"no shared data folder with {name!r}: give the data with --data", param_hint="--data")
    return shared / name


def _evaluate(
    name: str,
    data: Path | None,
    pipelines: list[str] | None,
    out: Path | None,
    limit_queries: int | None,
    split: str,
    clip: str | None,
    quiet: bool,
    **dataset_options: Any,
) -> None:
    from aisle.config import get_settings
    from aisle.eval.datasets import load_dataset, select
    from aisle.eval.harness import evaluate
    from aisle.eval.runner import DEFAULT_PIPELINES, PIPELINES, unknown_pipelines

    if split not in SPLIT_NAMES:
        raise typer.BadParameter(f"use one of {', '.join(SPLIT_NAMES)}", param_hint="--split")
    chosen = list(dict.fromkeys(pipelines or DEFAULT_PIPELINES))
    unknown = unknown_pipelines(chosen)
    if unknown:
        raise typer.BadParameter(
            f"unknown {', '.join(unknown)}; known: {', '.join(PIPELINES)}", param_hint="--pipeline"
        )
    settings = get_settings()
    if clip:
        settings = settings.model_copy(update={"clip_model": clip})
    path = data or default_data(name, settings)
    dataset = select(load_dataset(name, path, settings, **dataset_options), split=split, limit_queries=limit_queries)
    if not dataset.queries:
        raise typer.BadParameter(f"no judged queries in {path} (split {split})", param_hint="--data")
    config = {"limit_queries": limit_queries, "corpus_limited_to_judged": limit_queries is not None, **dataset_options}
    evaluation = evaluate(dataset, chosen, settings=settings, out=out, split=split, config=config, progress=not quiet)
    _print_evaluation(evaluation)


def _print_evaluation(evaluation: Evaluation) -> None:
    from rich.console import Console
    from rich.table import Table

    report = evaluation.report
    console = Console()
    metrics = report["config"]["metrics"]
    for split in report["splits"]:
        table = Table(
            title=f"{report['dataset']['name']} / {split} ({report['dataset']['queries_per_split'][split]} q)"
        )
        table.add_column("pipeline")
        for metric in metrics:
            table.add_column(metric, justify="right")
        table.add_column("p50 ms", justify="right")
        for pipeline in report["pipelines"]:
            values = report["metrics"][split].get(pipeline, {})
            cells = [
                "-"
                if values.get(m, {}).get("mean") is None
                else f"{values[m]['mean']:.3f}{' *' if values[m].get('significant') else ''}"
                for m in metrics
            ]
            p50 = report["latency_ms"][pipeline]["p50"]
            table.add_row(pipeline, *cells, "-" if p50 is None else f"{p50:.1f}")
        console.print(table)
    console.print(f"* differs from {report['baseline']} (paired t-test, p < {report['config']['max_p']})")
    for name, why in report["skipped"].items():
        console.print(f"skipped {name}: {why}")
    console.print(f"report: {evaluation.folder}" + (f"  (copied to {evaluation.out})" if evaluation.out else ""))


def _dataset_command(name: str, doc: str) -> None:
    """Register `aisle eval NAME` with the options every data set shares."""

    def command(
        data: DataOpt = None,
        pipeline: PipelineOpt = None,
        out: OutOpt = None,
        limit_queries: LimitOpt = None,
        split: SplitOpt = "all",
        clip: ClipOpt = None,
        quiet: QuietOpt = False,
    ) -> None:
        _evaluate(name, data, pipeline, out, limit_queries, split, clip, quiet)

    command.__doc__ = doc
    eval_app.command(name)(command)


_dataset_command(
    "crowdflower",
    "CrowdFlower Search Results Relevance: 261 queries, gain = median_relevance - 1 (train.csv or its folder).",
)


@eval_app.command("myntra")
def myntra(
    data: DataOpt = None,
    pipeline: PipelineOpt = None,
    out: OutOpt = None,
    limit_queries: LimitOpt = None,
    split: SplitOpt = "all",
    clip: ClipOpt = None,
    quiet: QuietOpt = False,
    queries: Annotated[int, typer.Option("--queries", min=1, help="How many attribute queries to generate.")] = 300,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the query sample.")] = 0,
) -> None:
    """Myntra products with images and generated attribute queries ("red shirts for men"), graded by attribute match."""
    _evaluate("myntra", data, pipeline, out, limit_queries, split, clip, quiet, n_queries=queries, seed=seed)


_dataset_command("wands", "WANDS (Wayfair): a folder with product.csv, query.csv and label.csv.")
_dataset_command(
    "esci", "Amazon ESCI (us locale, small version): a folder with the products and examples Parquet files."
)


def _fmt(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:+.3f}" if signed else f"{value:.3f}"


def _star(p_value: float | None) -> str:
    from aisle.eval.metrics import MAX_P

    return " *" if p_value is not None and p_value < MAX_P else ""


@eval_app.command("compare")
def compare(
    a: Annotated[Path, typer.Argument(help="Run A: a report folder or its report.json.")],
    b: Annotated[Path, typer.Argument(help="Run B: a report folder or its report.json.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the rows as JSON.")] = False,
) -> None:
    """Two stored runs' metrics side by side: A -> B (B - A) per split, pipeline and metric, and latency."""
    from rich.console import Console
    from rich.table import Table

    from aisle.eval.compare import compare_rows, latency_rows, load_report, warnings_for

    report_a, report_b = load_report(a), load_report(b)
    rows = (
        compare_rows(report_a, report_b)
        + latency_rows(report_a, report_b, "p50")
        + latency_rows(report_a, report_b, "p95")
    )
    notes = warnings_for(report_a, report_b)
    if as_json:
        typer.echo(json.dumps({"a": str(a), "b": str(b), "warnings": notes, "rows": [
            {"split": r.split, "pipeline": r.pipeline, "metric": r.metric, "a": r.a, "b": r.b, "delta": r.delta,
             "p_value": r.p_value}
            for r in rows
        ]}))  # fmt: skip
        return
    console = Console()
    caption = f"A = {a}\nB = {b}\n* = paired t-test p < 0.05 over the queries both runs scored"
    for note in notes:
        console.print(f"warning: {note}", style="yellow")
    for split in dict.fromkeys(r.split for r in rows):
        in_split = [r for r in rows if r.split == split]
        columns = list(dict.fromkeys(r.metric for r in in_split))
        table = Table(title=f"{split}: A -> B (B - A)", caption=caption if split == "latency" else None)
        table.add_column("pipeline")
        for column in columns:
            table.add_column(column, justify="right")
        for pipeline in dict.fromkeys(r.pipeline for r in in_split):
            cells = {
                r.metric: f"{_fmt(r.a)} -> {_fmt(r.b)} ({_fmt(r.delta, True)}){_star(r.p_value)}"
                for r in in_split
                if r.pipeline == pipeline
            }
            table.add_row(pipeline, *(cells.get(c, "-") for c in columns))
        console.print(table)
