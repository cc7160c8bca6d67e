"""How the embedded engine (Qdrant Edge, through `aisle.index`) grows: 10k, 100k and 1M products.

    python -m benchmarks.scale [--sizes 10000 100000 1000000] [--queries 200] [--quantize] [--image-dim 512]

Each size gets a fresh collection shaped like aisle's: MiniLM text vectors (384), CLIP image vectors
(--image-dim; 512 is open_clip ViT-B-32's), and BM25 sparse vectors (IDF modifier) of real Myntra titles.
The dense vectors are synthetic (clustered Gaussians, unit length); the titles cycle through Myntra's 44k,
each with the colour and usage of another real product appended, so that they do not repeat verbatim.
Queries are real catalogue phrasings (sparse) with dense vectors near a random product's.

Reports per size: ingest throughput (upserts and index build), hybrid (BM25 + text + image, weighted RRF,
as the pipeline asks) p50/p95 after warm-up, resident memory and disk, and the recall@10 of the engine's
text-vector search against exact search in numpy (what the HNSW graph, and --quantize, cost).
"""

from __future__ import annotations

import argparse
import csv
import gc
import resource
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from aisle.index.engine import CollectionSpec, Engine, Retrieval, StoredPoint
from benchmarks._common import shared_data_or_exit
from benchmarks.search import percentile

COLLECTION, TEXT_DIM, BATCH, CLUSTERS = "scale", 384, 2048, 2000


def real_titles() -> tuple[list[str], list[str]]:
    """Myntra's titles, and colour-and-usage suffixes from its rows (read with csv: a few rows have commas)."""
    with (shared_data_or_exit() / "myntra" / "styles.csv").open(encoding="utf-8", errors="replace") as handle:
        rows = [r for r in csv.reader(handle)][1:]
    rows = [r for r in rows if len(r) >= 10 and r[9].strip()]
    return [r[9] for r in rows], [f"{r[5]} {r[8]}" for r in rows]


class Vectors:
    """Deterministic synthetic dense vectors around fixed cluster centres, produced batch by batch."""

    def __init__(self, dim: int, seed: int) -> None:
        rng = np.random.default_rng(seed)
        self.dim, self.seed = dim, seed
        self.centres = rng.normal(size=(CLUSTERS, dim)).astype(np.float32)

    def batch(self, start: int, stop: int) -> np.ndarray:
        rng = np.random.default_rng((self.seed, start))
        picks = rng.integers(0, CLUSTERS, size=stop - start)
        v = self.centres[picks] + 0.6 * rng.normal(size=(stop - start, self.dim)).astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)


def points(size: int, image_dim: int, sparse: Any) -> Iterator[tuple[list[StoredPoint], np.ndarray]]:
    """Batches of points (and their text vectors, kept for exact search)."""
    titles, suffixes = real_titles()
    text, image = Vectors(TEXT_DIM, 1), Vectors(image_dim, 2)
    for start in range(0, size, BATCH):
        stop = min(size, start + BATCH)
        names = [f"{titles[i % len(titles)]} {suffixes[(i * 7919) % len(suffixes)]}" for i in range(start, stop)]
        bm25 = sparse.encode_documents(names)
        t, im = text.batch(start, stop), image.batch(start, stop)
        batch = [
            StoredPoint(
                id=str(uuid.UUID(int=start + j + 1)),
                vectors={"text": t[j], "image": im[j], "bm25": bm25[j]},
                payload={"product_id": str(start + j), "title": names[j]},
            )
            for j in range(stop - start)
        ]
        yield batch, t


def rss_mib() -> float:
    """This process's resident memory now (Linux /proc), MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def disk_mib(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20


def queries(n: int, sparse: Any, image_dim: int, size: int) -> list[tuple[Any, np.ndarray, np.ndarray]]:
    titles, _ = real_titles()
    rng = np.random.default_rng(99)
    texts = [" ".join(titles[int(i)].lower().split()[-2:]) for i in rng.integers(0, len(titles), size=n)]
    near = rng.integers(0, size, size=n)
    text, image = Vectors(TEXT_DIM, 1), Vectors(image_dim, 2)

    def jitter(v: np.ndarray) -> np.ndarray:
        q = v + 0.3 * rng.normal(size=v.shape).astype(np.float32) / np.sqrt(v.size)
        return (q / np.linalg.norm(q)).astype(np.float32)

    return [
        (q, jitter(text.batch(int(i), int(i) + 1)[0]), jitter(image.batch(int(i), int(i) + 1)[0]))
        for q, i in zip(sparse.encode_queries(texts), near, strict=True)
    ]


def run(size: int, args: argparse.Namespace, sparse: Any) -> dict[str, float]:
    from aisle.index.edge import EdgeEngine

    folder = Path(tempfile.mkdtemp(prefix=f"scale-{size}-", dir=args.workdir))
    engine: Engine = EdgeEngine(folder)
    spec = CollectionSpec(dense={"text": TEXT_DIM, "image": args.image_dim}, sparse=("bm25",), quantize=args.quantize)
    engine.create(COLLECTION, spec)
    text_vectors = np.empty((size, TEXT_DIM), dtype=np.float32)
    started = time.perf_counter()
    for batch, t in points(size, args.image_dim, sparse):
        first = int(uuid.UUID(batch[0].id).int) - 1
        text_vectors[first : first + len(batch)] = t
        engine.upsert(COLLECTION, batch)
    written = time.perf_counter() - started
    engine.optimize(COLLECTION)
    ingest = time.perf_counter() - started
    gc.collect()
    asked = queries(args.queries, sparse, args.image_dim, size)
    hybrid: list[float] = []
    recall: list[float] = []
    for i, (q, t, im) in enumerate([*asked[:10], *asked]):  # the first 10 warm up
        retrievals = [Retrieval("bm25", q, 1.0), Retrieval("text", t, 1.0), Retrieval("image", im, 1.0)]
        began = time.perf_counter()
        engine.query(COLLECTION, retrievals, limit=10, prefetch_limit=100)
        if i >= 10:
            hybrid.append((time.perf_counter() - began) * 1000)
            found = {h.id for h in engine.query(COLLECTION, [Retrieval("text", t)], limit=10, with_payload=False)}
            exact = np.argsort(-(text_vectors @ t))[:10]
            recall.append(len(found & {str(uuid.UUID(int=int(j) + 1)) for j in exact}) / 10)
    row = {
        "size": size,
        "write/s": size / written,
        "ingest/s": size / ingest,
        "p50": percentile(hybrid, 50),
        "p95": percentile(hybrid, 95),
        "rss": rss_mib(),
        "disk": disk_mib(folder),
        "recall": float(np.mean(recall)),
    }
    engine.close()
    shutil.rmtree(folder, ignore_errors=True)
    return row


def main(argv: Sequence[str] | None = None) -> None:
    from aisle.encoders.registry import create_encoder

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--image-dim", type=int, default=512)
    parser.add_argument("--quantize", action="store_true", help="int8 scalar quantization of the dense vectors")
    parser.add_argument("--workdir", default=None, help="where the shards go (default: the temp folder)")
    args = parser.parse_args(argv)
    sparse = create_encoder("bm25")
    print(
        f"{'products':>10} {'writes/s':>9} {'ingest/s':>9} {'p50 ms':>7} {'p95 ms':>7} {'RSS MiB':>8} "
        f"{'disk MiB':>9} {'recall@10':>9}"
    )
    for size in args.sizes:
        r = run(size, args, sparse)
        print(
            f"{r['size']:>10,} {r['write/s']:>9,.0f} {r['ingest/s']:>9,.0f} {r['p50']:>7.2f} {r['p95']:>7.2f} "
            f"{r['rss']:>8,.0f} {r['disk']:>9,.0f} {r['recall']:>9.3f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
