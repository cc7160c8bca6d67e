"""Latency of personal scoring: 1,000 candidates for one shopper with a 50-event history, side by side in one
run: the SASRec scorer on PyTorch (CPU, and CUDA when present), the same scorer on ONNX Runtime (CPU), the
content-profile scorer, and the whole personal step (history read from SQLite + scoring + blend), with the
sequential scorer, and with the content profile plus the attribute taste and the reasons (random attributes
of Myntra's fields). The issue's budget is p99 <= 30 ms for 100 candidates (`--candidates 100`).

The model is the trained one when a folder is given (`--model AISLE_HOME/models/personal/ml-100k`), else a
freshly initialised one of the same shape (latency does not depend on the weight values). Item content
vectors are random unit vectors of MiniLM's size (384).

    python -m benchmarks.personal [--model DIR] [--candidates 1000] [--history 50] [--repeats 300] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import torch

from benchmarks._common import interleaved


def _model(folder: Path | None, n_items: int, dim: int, device: str) -> Any:
    from aisle.personal.sasrec import SASRec, SASRecConfig
    from aisle.personal.train import PersonalModel, load_model

    if folder is not None:
        return load_model(folder, device=device)
    torch.manual_seed(0)
    config = SASRecConfig(n_items=n_items, content_dim=dim, max_len=50)
    model = SASRec(config, torch.randn(n_items + 1, dim)).to(device)
    return PersonalModel(model, [""] + [f"i{i}" for i in range(1, n_items + 1)], {"kind": "untrained"})


def _summary(seconds: list[float]) -> dict[str, float]:
    ms = np.asarray(seconds) * 1000
    return {"p50": round(float(np.percentile(ms, 50)), 3), "p99": round(float(np.percentile(ms, 99)), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--candidates", type=int, default=1000)
    parser.add_argument("--history", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=300)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    from aisle.config import Settings
    from aisle.personal.events import EventStore
    from aisle.personal.personalizer import ContentProfileScorer, Personalizer, SequentialScorer
    from aisle.personal.train import export_onnx
    from aisle.types import BehaviourEvent, EventType

    dim = 384
    personal = _model(args.model, 3000, dim, "cpu")
    rng = np.random.default_rng(0)
    known = personal.item_ids[1:]
    history = [str(x) for x in rng.choice(known, size=args.history, replace=False)]
    # half the candidates are catalogue items the model knows, half are new products (content only)
    candidates = [str(x) for x in rng.choice(known, size=args.candidates // 2, replace=False)]
    candidates += [f"new-{i}" for i in range(args.candidates - len(candidates))]
    raw = rng.normal(size=(len(history) + len(candidates), dim)).astype(np.float32)
    vectors = {p: v / np.linalg.norm(v) for p, v in zip(history + candidates, raw, strict=True)}
    hist_vec = np.stack([vectors[p] for p in history])
    cand_vec = np.stack([vectors[p] for p in candidates])
    weights = np.ones(len(history), dtype=np.float32)
    profile = ContentProfileScorer()

    work = Path(tempfile.mkdtemp(prefix="aisle-bench-personal-"))
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = args.threads
    session = ort.InferenceSession(
        str(export_onnx(personal, work / "model.onnx")), options, providers=["CPUExecutionProvider"]
    )
    feeds = {
        "history_ids": personal.ids_of(history)[None],
        "history_content": hist_vec[None],
        "cand_ids": personal.ids_of(candidates)[None],
        "cand_content": cand_vec[None],
    }
    settings = Settings(home=work)
    store = EventStore.open(settings)
    now = datetime.now(UTC)
    store.record(
        [
            BehaviourEvent("bench", p, EventType.CLICK, now - timedelta(minutes=len(history) - n))
            for n, p in enumerate(history)
        ]
    )
    step = Personalizer(
        SequentialScorer(personal),
        lambda ids: {i: vectors[i] for i in ids if i in vectors},
        settings=settings.model_copy(update={"personal_candidates": args.candidates}),
        store=store,
    )
    fields = {"gender": 4, "article_type": 40, "colour": 30, "usage": 6, "brand": 200, "season": 4}
    attributes = {p: {f: f"{f}-{rng.integers(n)}" for f, n in fields.items()} for p in history + candidates}
    taste_step = Personalizer(
        ContentProfileScorer(),
        lambda ids: {i: vectors[i] for i in ids if i in vectors},
        settings=settings.model_copy(update={"personal_candidates": args.candidates}),
        store=store,
        payloads=lambda ids: {i: attributes[i] for i in ids if i in attributes},
        fields=tuple(fields),
    )
    hits = [{"id": p, "score": 1.0 - i / len(candidates), **attributes[p]} for i, p in enumerate(candidates)]

    variants = {
        "sasrec torch cpu": lambda: personal.score(history, hist_vec, candidates, cand_vec),
        "sasrec onnxruntime cpu": lambda: session.run(None, feeds),
        "content-profile numpy": lambda: profile.score(history, hist_vec, weights, candidates, cand_vec),
        "personal step (sqlite + sasrec + blend)": lambda: step.rerank("shoes", hits, "bench"),
        "personal step (sqlite + content profile + taste + reasons)": lambda: taste_step.rerank("shoes", hits, "bench"),
    }
    if torch.cuda.is_available():
        gpu = _model(args.model, 3000, dim, "cuda")

        def on_gpu() -> Any:
            out = gpu.score(history, hist_vec, candidates, cand_vec)
            torch.cuda.synchronize()
            return out

        variants["sasrec torch cuda"] = on_gpu
    np.testing.assert_allclose(session.run(None, feeds)[0][0], variants["sasrec torch cpu"](), rtol=1e-3, atol=1e-3)
    for fn in variants.values():  # warm-up
        for _ in range(10):
            fn()
    times = interleaved(variants, args.repeats)
    result = {
        "candidates": args.candidates,
        "history": args.history,
        "repeats": args.repeats,
        "threads": args.threads,
        "model": str(args.model) if args.model else "untrained, same shape (hidden 64, 2 blocks, max_len 50)",
        "cpu": platform.processor() or platform.machine(),
        "latency_ms": {name: _summary(t) for name, t in times.items()},
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
