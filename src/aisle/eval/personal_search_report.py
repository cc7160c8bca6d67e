"""The report of `aisle eval personal-search`: nDCG@10 per slice (query kind x history length) with CIs and
paired tests against the anonymous ranking, the targets checked in code, the blends learnt, and the personal
step's latency. Written as report.json and report.md, like the other evaluations."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from aisle.eval.metrics import MAX_P, STAT_TEST, evaluate_split, latency_summary
from aisle.eval.report import git_commit, git_dirty, timestamp
from aisle.eval.shoppers import ShopperQuery
from aisle.personal.blend import QUERY_KINDS, BlendTable

METRIC = "ndcg@10"
BASELINE = "anonymous"
TARGET_RATIO = 1.25  # ambiguous queries, shoppers with >= 5 events
TARGET_P99_MS = 30.0
BUCKETS = ("0", "1-4", "5-20", "21+")


def _slices(queries: Sequence[ShopperQuery]) -> dict[str, Callable[[ShopperQuery], bool]]:
    out: dict[str, Callable[[ShopperQuery], bool]] = {"all": lambda q: True}
    out["ambiguous, >=5 events"] = lambda q: q.kind == "ambiguous" and q.history in ("5-20", "21+")
    out["no history"] = lambda q: q.history == "0"
    for kind in QUERY_KINDS:
        out[kind] = lambda q, k=kind: q.kind == k  # type: ignore[misc]
        for bucket in BUCKETS:
            out[f"{kind} | {bucket}"] = lambda q, k=kind, b=bucket: q.kind == k and q.history == b  # type: ignore[misc]
    return out


def _slice(
    chosen: Sequence[ShopperQuery], qrels: Mapping[str, Mapping[str, int]], runs: Mapping[str, Mapping[str, list[str]]]
) -> dict[str, Any]:
    qids = [q.qid for q in chosen]
    sub = {q: dict(qrels[q]) for q in qids if qrels[q]}
    scored = {name: {q: {d: float(len(r[q]) - i) for i, d in enumerate(r[q])} for q in sub} for name, r in runs.items()}
    result = evaluate_split(sub, scored, "all", (METRIC,))
    values = {name: v[METRIC].to_json() for name, v in result.values.items()}
    base = values.get(BASELINE, {}).get("mean") or 0.0
    ratios = {name: (v["mean"] / base if base else None) for name, v in values.items()}
    return {"queries": result.queries, "pipelines": values, "ratio_to_anonymous": ratios}


def _targets(slices: Mapping[str, Any], step: Mapping[str, float]) -> dict[str, Any]:
    """Each target, the figures it was judged on, and whether they meet it (computed here, not typed in). A
    target whose slice has no queries is not met: there is nothing to show it."""

    def pipelines(name: str) -> tuple[dict[str, Any], dict[str, Any]]:
        found = slices.get(name, {}).get("pipelines", {})
        return dict(found.get("personal", {})), dict(found.get(BASELINE, {}))

    def no_loss(name: str) -> dict[str, Any]:
        p, a = pipelines(name)
        met = bool(p) and (p["mean"] >= a["mean"] or not p.get("significant"))
        return {"personal": p.get("mean"), "anonymous": a.get("mean"), "p_value": p.get("p_value"), "met": met}

    amb, _ = pipelines("ambiguous, >=5 events")
    ratio = slices.get("ambiguous, >=5 events", {}).get("ratio_to_anonymous", {}).get("personal")
    return {
        "ambiguous_5plus_events": {
            "ratio": ratio,
            "p_value": amb.get("p_value"),
            "target": f">= {TARGET_RATIO}x anonymous, p < {MAX_P}",
            "met": bool(ratio is not None and ratio >= TARGET_RATIO and amb.get("significant")),
        },
        "specified_no_loss": {**no_loss("specified"), "target": "not significantly below anonymous"},
        "no_history_no_loss": {**no_loss("no history"), "target": "not significantly below anonymous"},
        "personal_step_p99_ms": {
            "p99": step.get("p99"),
            "target": f"<= {TARGET_P99_MS}",
            "met": bool(step.get("n")) and step["p99"] <= TARGET_P99_MS,
        },
    }


def build(
    *,
    test: Sequence[ShopperQuery],
    qrels: Mapping[str, Mapping[str, int]],
    runs: Mapping[str, Mapping[str, list[str]]],
    blends: Mapping[str, BlendTable],
    step_ms: Sequence[float],
    context: Mapping[str, Any],
) -> dict[str, Any]:
    slices = {}
    for name, keep in _slices(test).items():
        chosen = [q for q in test if keep(q)]
        if chosen:
            slices[name] = _slice(chosen, qrels, runs)
    step = latency_summary(step_ms)
    return {
        "report": "personal-search",
        "created": timestamp(),
        "git_commit": git_commit(Path(__file__).parent),
        "git_dirty": git_dirty(Path(__file__).parent),
        "method": "simulated Myntra shoppers (aisle.eval.shoppers); blend learnt on dev shoppers, measured on test",
        "metric": METRIC,
        "stat_test": STAT_TEST,
        "ci": "95% percentile bootstrap of the mean, 1000 resamples, seed 0",
        **context,
        "pipelines": list(runs),
        "slices": slices,
        "targets": _targets(slices, step),
        "personal_step_ms": step,
        "blends": {name: table.to_json() for name, table in blends.items()},
    }


def _cell(value: Mapping[str, Any] | None) -> str:
    if not value:
        return "-"
    p = value.get("p_value")
    same = p is not None and math.isnan(p)  # every query scored the same: no test to run
    star = "" if p is None else " (same)" if same else " *" if value.get("significant") else f" (p={p:.2f})"
    return f"{value['mean']:.3f} [{value['ci_low']:.3f}, {value['ci_high']:.3f}]{star}"


def markdown(report: Mapping[str, Any]) -> str:
    pipelines = report["pipelines"]
    lines = [
        "# Personalised search",
        "",
        f"{report['corpus_products']:,} products in `{report['collection']}`; shoppers {report['shoppers']}; "
        f"queries {report['queries']}; seed {report['seed']}; git {report.get('git_commit') or '?'}.",
        f"Method: {report['method']}.",
        f"{METRIC}, mean [95% CI]; * = significant against anonymous ({report['stat_test']} paired test).",
        "",
        "| slice | queries | " + " | ".join(pipelines) + " | personal / anonymous |",
        "| --- | --- | " + " | ".join("---" for _ in pipelines) + " | --- |",
    ]
    for name, s in report["slices"].items():
        ratio = s["ratio_to_anonymous"].get("personal")
        cells = " | ".join(_cell(s["pipelines"].get(p)) for p in pipelines)
        lines.append(f"| {name} | {s['queries']} | {cells} | {'-' if ratio is None else f'{ratio:.2f}x'} |")
    step = report["personal_step_ms"]
    lines += [
        "",
        f"Personal step (top {report['personal_candidates']} candidates): p50 {step['p50']:.1f} ms, "
        f"p95 {step['p95']:.1f} ms, p99 {step['p99']:.1f} ms over {step['n']} searches.",
        "",
        "## Targets",
        "",
    ]
    for name, t in report["targets"].items():
        figures = ", ".join(
            f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in t.items() if k not in ("met", "target")
        )
        lines.append(f"- {name}: {'met' if t['met'] else 'NOT met'} ({t['target']}; {figures})")
    lines += ["", "## Learnt blend (taste, vector) per history bucket | query kind", ""]
    for cell, w in sorted(report["blends"]["personal"]["cells"].items()):
        lines.append(f"- {cell}: taste {w['taste']}, vector {w['vector']}")
    return "\n".join(lines) + "\n"


def write(report: Mapping[str, Any], folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    json_path, md_path = folder / "report.json", folder / "report.md"
    json_path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    md_path.write_text(markdown(report), encoding="utf-8")
    return [json_path, md_path]
