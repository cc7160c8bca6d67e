"""`aisle eval personal DATASET`: the sequential personal ranker against its baselines, in one run.

Protocol: leave-last-out per user (last distinct item = test, second last = validation, see
`aisle.personal.interactions`), ranking over the full catalogue minus the user's own items (no sampled
negatives), HR@10 and NDCG@10 from ranx over every user. Baselines (popularity, item-kNN and ALS from
`implicit`) are tuned on the validation targets, then refit on train + validation for the test; the
personal ranker is early-stopped on the validation targets (and, where its recipe says `refit`, retrained
on train + validation for that many epochs); the "no history" row is the same ranker fed only its start
token.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np

from aisle.config import Settings, get_settings
from aisle.personal.baselines import Recommender, grid, top_n
from aisle.personal.interactions import Interactions, Split, leave_last_out, load_named
from aisle.personal.sasrec import SASRecConfig
from aisle.personal.train import RECIPES, TrainConfig, score_users, train_sasrec

log = logging.getLogger(__name__)
METRICS = ("hit_rate@10", "ndcg@10")
RUN_DEPTH = 100


def _top_ndcg(items: np.ndarray, targets: np.ndarray) -> float:
    """NDCG@10 of one target per row from top lists (the tuning monitor)."""
    hits = items[:, :10] == targets[:, None]
    gains = np.where(hits, 1.0 / np.log2(np.arange(2, 12)), 0.0)
    return float(gains.sum(axis=1).mean())


def _run(
    users: Sequence[str], items: np.ndarray, scores: np.ndarray, ids: Sequence[str]
) -> dict[str, dict[str, float]]:
    run = {}
    for u, row_items, row_scores in zip(users, items, scores, strict=True):
        finite = np.isfinite(row_scores)
        run[u] = {ids[i]: float(s) for i, s in zip(row_items[finite], row_scores[finite], strict=True)}
    return run


def tune_baselines(data: Interactions, split: Split) -> dict[str, dict[str, Any]]:
    """Each baseline family: the setting with the best validation NDCG@10, refit, its test top lists."""
    out = {}
    n = len(data.users)
    valid_hist = [split.valid_history(u) for u in range(n)]
    test_hist = [split.test_history(u) for u in range(n)]
    for family in ("popularity", "item-knn", "als"):
        started = time.perf_counter()
        best: tuple[float, Recommender] | None = None
        tried = {}
        for candidate in grid(family):
            items, _ = candidate.fit(valid_hist, data.n_items).recommend(valid_hist, RUN_DEPTH)
            ndcg = _top_ndcg(items, split.valid_target)
            tried[candidate.name] = round(ndcg, 5)
            if best is None or ndcg > best[0]:
                best = (ndcg, candidate)
        assert best is not None
        chosen = best[1].fit(test_hist, data.n_items)
        items, scores = chosen.recommend(test_hist, RUN_DEPTH)
        out[family] = {
            "chosen": chosen.name,
            "valid_ndcg@10": round(best[0], 5),
            "tried": tried,
            "items": items,
            "scores": scores,
            "seconds": round(time.perf_counter() - started, 1),
        }
        log.info("%s: chose %s (valid ndcg@10 %.4f)", family, chosen.name, best[0])
    return out


def evaluate_personal(
    name: str,
    path: Path,
    *,
    settings: Settings | None = None,
    train_overrides: dict[str, Any] | None = None,
    content: np.ndarray | None = None,
) -> dict[str, Any]:
    """Run the ranker and the baselines on one data set; returns the report (not yet written)."""
    from aisle.eval.metrics import evaluate_split
    from aisle.pipeline.personal import content_vectors

    settings = settings or get_settings()
    started = time.perf_counter()
    data = load_named(name, path)
    split = leave_last_out(data)
    if content is None:
        content = content_vectors(data.item_texts, settings)
    model_kw, train_kw = RECIPES[data.name]
    tc = replace(TrainConfig(**train_kw), **(train_overrides or {}))
    config = SASRecConfig(n_items=data.n_items, content_dim=int(content.shape[1]), **model_kw)
    n = len(data.users)
    valid_hist = [split.valid_history(u) for u in range(n)]
    test_hist = [split.test_history(u) for u in range(n)]
    result = train_sasrec(split.train, content, config, tc, valid=(valid_hist, split.valid_target))
    model = result.model
    if tc.refit:  # like the baselines: the test model also learns from the validation items
        refit = replace(tc, epochs=result.best_epoch)
        model = train_sasrec(test_hist, content, config, refit).model
    personal_scores = score_users(model, test_hist)
    empty = [np.array([], dtype=np.int64)] * n
    cold = score_users(model, empty, exclude_history=False)
    baselines = tune_baselines(data, split)

    qrels = {u: {data.item_ids[t]: 1} for u, t in zip(data.users, split.test_target, strict=True)}
    runs = {"sasrec": _run(data.users, *top_n(personal_scores, test_hist, RUN_DEPTH), data.item_ids)}
    runs["sasrec-no-history"] = _run(data.users, *top_n(cold, test_hist, RUN_DEPTH), data.item_ids)
    for family, b in baselines.items():
        runs[family] = _run(data.users, b["items"], b["scores"], data.item_ids)
    results = evaluate_split(qrels, runs, "all", METRICS)
    metrics = {p: {m: v.to_json() for m, v in by.items()} for p, by in results.values.items()}
    best_baseline = max((p for p in runs if p != "sasrec"), key=lambda p: metrics[p]["ndcg@10"]["mean"])
    ours, theirs = metrics["sasrec"]["ndcg@10"]["mean"], metrics[best_baseline]["ndcg@10"]["mean"]
    return {
        "dataset": {"name": data.name, "source": str(path), "fingerprint": data.fingerprint(), **data.stats()},
        "protocol": __doc__.split("\n\n", 1)[1].strip() if __doc__ else "",
        "metrics_names": list(METRICS),
        "pipelines": list(runs),
        "metrics": metrics,
        "best_baseline": best_baseline,
        "relative_ndcg@10_vs_best_baseline": (ours - theirs) / theirs if theirs else None,
        "sasrec": {
            "config": config.to_json(),
            "train": asdict(tc),
            "device": result.device,
            "best_epoch": result.best_epoch,
            "epochs_run": result.epochs_run,
            "train_seconds": round(result.seconds, 1),
            "valid_ndcg@10": round(result.best_valid_ndcg, 5),
            "curve": result.curve,
        },
        "baselines": {f: {k: v for k, v in b.items() if k not in ("items", "scores")} for f, b in baselines.items()},
        "seconds": round(time.perf_counter() - started, 1),
    }


def markdown(report: dict[str, Any]) -> str:
    data = report["dataset"]
    lines = [
        f"# Personal ranking: {data['name']}",
        "",
        f"- {data['users']:,} users, {data['items']:,} items, {data['interactions']:,} interactions "
        f"(mean {data['mean_length']} per user); fingerprint `{data['fingerprint']}`",
        f"- {' '.join(report['protocol'].split())}",
        "- mean (95% bootstrap CI); `*` = differs from `sasrec` (paired t-test, p < 0.05)",
        "",
        "| pipeline | " + " | ".join(report["metrics_names"]) + " | tuned |",
        "|---" * (len(report["metrics_names"]) + 2) + "|",
    ]
    for pipeline in report["pipelines"]:
        values = report["metrics"][pipeline]
        cells = []
        for m in report["metrics_names"]:
            v = values[m]
            cells.append(
                f"{v['mean']:.4f} ({v['ci_low']:.4f}-{v['ci_high']:.4f}){' *' if v.get('significant') else ''}"
            )
        tuned = report["baselines"].get(pipeline, {}).get("chosen", "")
        if pipeline == "sasrec":
            info = report["sasrec"]
            tuned = f"best epoch {info['best_epoch']}, {info['train_seconds']} s on {info['device']}"
        lines.append(f"| {pipeline} | " + " | ".join(cells) + f" | {tuned} |")
    rel = report["relative_ndcg@10_vs_best_baseline"]
    lines += ["", f"sasrec vs best baseline (`{report['best_baseline']}`) on NDCG@10: {rel:+.1%} relative", ""]
    return "\n".join(lines)


def write(report: dict[str, Any], settings: Settings, out: Path | None = None) -> Path:
    from aisle.eval.report import git_commit, timestamp

    report = {**report, "git_commit": git_commit(Path(__file__).parent), "created": timestamp()}
    folder = out or settings.reports_dir / "eval" / f"personal-{report['dataset']['name']}-{report['created']}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.json").write_text(json.dumps(report, indent=2, default=float) + "\n", encoding="utf-8")
    (folder / "report.md").write_text(markdown(report), encoding="utf-8")
    return folder
