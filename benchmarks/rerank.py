"""Latency of the relevance ranker re-scoring 50 and 200 candidates: PyTorch vs ONNX Runtime (fp32, int8) on
CPU, and on the GPU when there is one, side by side.

    python -m benchmarks.rerank [--ranker FOLDER] [--queries 60] [--sizes 50 200] [--threads 2]
                                [--cpu-backends torch onnx onnx-int8]

Each measurement is one `RelevanceRanker.rerank(query, candidates)` call (tokenisation, cross-encoder,
features, learned scorer) with the score cache cleared first. Candidates are CrowdFlower products (the
query's judged products first, then others), so text lengths are those of a real catalogue. Each variant
runs every query in a block of its own, and the blocks run twice, in order and then reversed, so machine
drift hits the variants alike. Not query by query: the thread pools one variant leaves spinning after a
call slow the next variant's call (6-layer int8, 50 candidates: p95 114 ms alone, 169 ms interleaved with
fp32 ONNX), which no single-backend server sees.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from pathlib import Path
from typing import Any

from aisle.config import get_settings
from benchmarks._common import shared_data_or_exit
from benchmarks.search import percentile


def candidate_lists(n_queries: int, size: int, seed: int = 0) -> list[tuple[str, list[dict[str, Any]]]]:
    from aisle.catalog import load_catalog
    from aisle.catalog.loaders.crowdflower import load_crowdflower_judgments

    data = shared_data_or_exit() / "crowdflower"
    products = {p.id: p for p in load_catalog(f"crowdflower:{data}").products}
    judged: dict[str, list[str]] = {}
    for j in load_crowdflower_judgments(data):
        judged.setdefault(j.query, []).append(j.product_id)
    rng = random.Random(seed)
    pool = sorted(products)
    out = []
    for query in sorted(judged)[:n_queries]:
        ids = list(dict.fromkeys(p for p in judged[query] if p in products))[:size]
        ids += [p for p in rng.sample(pool, size * 2) if p not in ids][: size - len(ids)]
        hits = [
            {**products[p].to_record(), "id": p, "score": 1.0 / (r + 1), "scores": {"bm25": 10.0 - r / 20, "text": 0.5}}
            for r, p in enumerate(ids)
        ]
        out.append((query, hits))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ranker", type=Path, default=None, help="ranker folder (default: AISLE_HOME's trained one)")
    parser.add_argument("--queries", type=int, default=60)
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 200])
    parser.add_argument("--threads", type=int, default=2, help="CPU threads for PyTorch and ONNX Runtime")
    parser.add_argument(
        "--cpu-backends", nargs="+", choices=["torch", "onnx", "onnx-int8"], default=["torch", "onnx", "onnx-int8"]
    )
    args = parser.parse_args()

    import torch

    from aisle.rerank.relevance import RANKER_DIR, load_ranker, read_manifest

    torch.set_num_threads(args.threads)
    folder = args.ranker or get_settings().models_dir / RANKER_DIR
    manifest = read_manifest(folder)
    config = manifest.get("config", {})
    cpu: dict[str, Any] = {}
    for backend in args.cpu_backends:
        cpu[f"{backend} cpu"] = load_ranker(folder, backend=backend, device="cpu", threads=args.threads)
    gpu: dict[str, Any] = {}
    if torch.cuda.is_available():
        gpu["torch cuda (bf16/fp16)"] = load_ranker(folder, backend="torch", device="cuda")
        import onnxruntime as ort

        if "CUDAExecutionProvider" in ort.get_available_providers():
            gpu["onnx cuda"] = load_ranker(folder, backend="onnx", device="cuda")
    print(f"ranker {folder}: {config.get('layers')} layers, max_length {config.get('max_length')}, "
          f"{args.threads} CPU threads, {args.queries} queries per size")  # fmt: skip
    baseline = next(iter(cpu))
    ratio = f"vs {baseline} p50"
    print(f"{'candidates':>10} {'variant':<24} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {ratio:>17}")
    for size in args.sizes:
        lists = candidate_lists(args.queries, size)
        # CPU and GPU variants are timed in separate rounds: CPU threads left spinning by a CPU variant would
        # otherwise slow the Python thread that drives the GPU
        times = {**_timed(cpu, lists, size), **_timed(gpu, lists, size)}
        base = statistics.median(times[baseline])
        for name, values in times.items():
            p50 = statistics.median(values)
            print(f"{size:>10} {name:<24} {p50:>8.1f} {percentile(values, 95):>8.1f} {percentile(values, 99):>8.1f} "
                  f"{base / p50:>16.2f}x")  # fmt: skip


Lists = list[tuple[str, list[dict[str, Any]]]]


def _timed(variants: dict[str, Any], lists: Lists, size: int) -> dict[str, list[float]]:
    """Milliseconds per re-rank of each variant: a block of all queries per variant, the blocks in order and
    then reversed, each block warmed up first."""
    times: dict[str, list[float]] = {name: [] for name in variants}
    for order in (list(variants), list(variants)[::-1]):
        for name in order:
            ranker = variants[name]
            ranker.top_k = size
            ranker.rerank(lists[0][0], lists[0][1])  # load and warm up outside the timed loop
            for query, hits in lists:
                ranker._cache.clear()
                started = time.perf_counter()
                ranker.rerank(query, hits)
                times[name].append((time.perf_counter() - started) * 1000)
    return times


if __name__ == "__main__":
    main()
