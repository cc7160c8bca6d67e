"""REST search under concurrent load: N clients in this process, the server in another, over loopback.

    python -m benchmarks.serve --collection demo                  # starts `aisle serve` itself, then stops it
    python -m benchmarks.serve --url http://127.0.0.1:7860         # an already running server
    python -m benchmarks.serve --collection demo --clients 8 --requests 800 --max-seconds 120 --mode hybrid

Each client keeps one HTTP connection and sends POST /api/search back to back (closed loop) until the request
count or the time budget is spent. Queries are shopper-style attribute queries generated from the stored
catalogue ("red shirts for men"), each one distinct until the pool runs out, so the server's query-embedding
cache does not flatter the numbers (`--repeat` reuses a small pool instead). Prints throughput, client-side
latency p50/p95/p99, the server's own `timings_ms.total` p50/p95, and the errors (any non-200 or failure);
writes the result to AISLE_HOME/reports/serve/latest.json (the UI's Insights tab shows it).
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from typing import Any

import numpy as np

from aisle.config import get_settings

FALLBACK_QUERIES = ["shirts", "red dress", "running shoes", "black watch", "jeans for men", "handbags for women"]


def queries_for(collection: str, count: int) -> list[str]:
    """Attribute queries generated from the stored catalogue (distinct ones first), else a small fixed list."""
    from aisle.catalog.store import iter_catalog
    from aisle.eval.attribute_queries import generate_attribute_queries

    try:
        products = list(iter_catalog(get_settings().catalogs_dir / collection))
    except FileNotFoundError:
        return FALLBACK_QUERIES
    generated, _ = generate_attribute_queries(products, n_queries=count, seed=0)
    return list(generated.values()) or FALLBACK_QUERIES


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(collection: str, timeout: float) -> tuple[subprocess.Popen[bytes], str]:
    import httpx

    port = free_port()
    command = [sys.executable, "-m", "aisle.cli.main", "serve", "--collection", collection, "--port", str(port)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(
                f"the server exited: {(process.stderr.read() if process.stderr else b'').decode()[-2000:]}"
            )
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                return process, url
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    process.terminate()
    raise SystemExit(f"the server did not answer /healthz within {timeout:.0f} s")


def run_load(url: str, queries: list[str], args: argparse.Namespace) -> dict[str, Any]:
    import httpx

    lock = threading.Lock()
    sent = 0
    latencies: list[float] = []
    server_ms: list[float] = []
    errors: list[str] = []
    stop_at = time.monotonic() + args.max_seconds

    def client() -> None:
        nonlocal sent
        with httpx.Client(base_url=url, timeout=30) as http:
            while True:
                with lock:
                    if sent >= args.requests or time.monotonic() > stop_at:
                        return
                    query = queries[sent % len(queries)]
                    sent += 1
                started = time.perf_counter()
                try:
                    response = http.post("/api/search", json={"query": query, "mode": args.mode, "top_k": args.top_k})
                    elapsed = (time.perf_counter() - started) * 1000
                    ok = response.status_code == 200
                    total = response.json()["timings_ms"]["total"] if ok else None
                except (httpx.HTTPError, ValueError, KeyError) as exc:
                    ok, elapsed, total = False, 0.0, None
                    detail = repr(exc)
                else:
                    detail = f"{response.status_code}: {response.text[:200]}"
                with lock:
                    if ok:
                        latencies.append(elapsed)
                        server_ms.append(float(total))
                    else:
                        errors.append(detail)

    threads = [threading.Thread(target=client) for _ in range(args.clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    lat = np.array(latencies) if latencies else np.array([float("nan")])
    srv = np.array(server_ms) if server_ms else np.array([float("nan")])
    return {
        "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "url": url,
        "mode": args.mode,
        "clients": args.clients,
        "requests": len(latencies) + len(errors),
        "distinct_queries": min(len(queries), len(latencies) + len(errors)),
        "errors": len(errors),
        "error_examples": errors[:3],
        "wall_s": round(wall, 2),
        "throughput_rps": round(len(latencies) / wall, 1),
        **{f"p{q}": round(float(np.percentile(lat, q)), 1) for q in (50, 95, 99)},
        "server_p50": round(float(np.percentile(srv, 50)), 1),
        "server_p95": round(float(np.percentile(srv, 95)), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="A running server; default: start `aisle serve --collection ...` here.")
    parser.add_argument("--collection", default=None, help="Collection to serve and to draw queries from.")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=800, help="Stop after this many requests ...")
    parser.add_argument("--max-seconds", type=float, default=120.0, help="... or after this long.")
    parser.add_argument("--warmup", type=int, default=16, help="Requests sent (and not timed) first.")
    parser.add_argument("--mode", default="hybrid", choices=["bm25", "dense", "image", "hybrid"])
    parser.add_argument("--top-k", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=0, help="Reuse a pool of this many queries (cache warm).")
    parser.add_argument("--start-timeout", type=float, default=600.0)
    args = parser.parse_args()

    collection = args.collection or get_settings().collection
    pool = queries_for(collection, args.repeat or args.requests + args.warmup)
    process = None
    url = args.url
    if url is None:
        process, url = start_server(collection, args.start_timeout)
    try:
        warm = argparse.Namespace(**{**vars(args), "requests": args.warmup, "clients": 1})
        run_load(url, pool[-args.warmup :] if not args.repeat else pool, warm)
        timed = pool[: -args.warmup] if not args.repeat and len(pool) > args.warmup else pool
        result = run_load(url, timed, args)
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=30)
    print(json.dumps(result, indent=2))
    print(
        f"\n{result['clients']} clients, {result['requests']} requests ({result['distinct_queries']} distinct "
        f"queries), mode {result['mode']}: {result['throughput_rps']} req/s, latency p50 {result['p50']} ms, "
        f"p95 {result['p95']} ms, p99 {result['p99']} ms (server p95 {result['server_p95']} ms), "
        f"errors {result['errors']}"
    )
    out = get_settings().reports_dir / "serve" / "latest.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    if result["errors"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
