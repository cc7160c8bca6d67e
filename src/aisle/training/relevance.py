"""Training the relevance ranker on graded (query, product) judgments, from the `dev` split only.

1. Mine: each dev query's top-K first-stage (hybrid) candidates, with every retriever's own score.
2. Cross-encoder, out of fold: the dev queries are cut into `folds`; for each, a cross-encoder fine-tuned
   from the offline MiniLM on the other folds' judged pairs (target grade / max grade, BCE) plus hard
   negatives (mined candidates nobody judged for the query, target 0) scores the held fold's candidates.
   Every dev query thus gets logits from a model that never saw it, as a test query will.
3. Scorer: a ridge regression over [cross-encoder logit, first-stage features, lexical match], fitted on
   every dev query's candidates; its strength is chosen by query-grouped cross-validation of nDCG@10.
4. The cross-encoder that ships is trained once more, the same way, on all dev queries.

Test-split queries are refused (`split_of`), so no evaluation query ever reaches training.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from aisle.catalog.split import split_of
from aisle.rerank.cross_encoder import CrossEncoder, PairTokenizer, doc_text, new_cross_encoder
from aisle.rerank.features import FEATURES, feature_matrix, fit_scorer
from aisle.rerank.relevance import KIND, MANIFEST, RANKER_DIR

log = logging.getLogger(__name__)
Hits = list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class TrainConfig:
    layers: int = 6  # of MiniLM's 6: with fewer, the cross-encoder ranks near random on dev
    max_length: int = 32  # query + title + a little description
    epochs: int = 2
    learning_rate: float = 5e-5
    batch_size: int = 32
    negatives: int = 50  # hard negatives per query (at most: the unjudged mined candidates)
    candidates: int = 50  # first-stage depth mined (the ranker's rerank_top_k)
    folds: int = 3  # out-of-fold cross-encoders that score the scorer's training data (folds + 1 trainings)
    alphas: tuple[float, ...] = (1.0, 10.0, 100.0, 1000.0)
    seed: int = 0


@dataclass(frozen=True, slots=True)
class TrainResult:
    folder: Path
    manifest: dict[str, Any]
    cv: dict[str, float] = field(default_factory=dict)


def dev_only(qids: Sequence[str]) -> list[str]:
    """`qids` unchanged, or ValueError when any is a test-split query."""
    test = [q for q in qids if split_of(q) != "dev"]
    if test:
        raise ValueError(f"training uses dev-split queries only; {len(test)} test queries given (e.g. {test[0]!r})")
    return list(qids)


def seed_everything(seed: int) -> None:
    import random

    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def mine(pipeline: Any, queries: Mapping[str, str], depth: int, progress: bool = False) -> dict[str, Hits]:
    """Each query's top `depth` hybrid candidates (no re-ranking), with each retriever's own score (the
    scorer's features; every dev query is also a hard-negative source and a scorer training query)."""
    from tqdm import tqdm

    from aisle.pipeline.request import QueryError, SearchRequest

    out: dict[str, Hits] = {}
    for qid in tqdm(dev_only(list(queries)), desc="mining", unit="query", disable=not progress):
        try:
            request = SearchRequest(query=queries[qid], top_k=depth, mode="hybrid", rerank=False, explain=True)
            out[qid] = pipeline.search(request).results
        except QueryError as exc:
            log.warning("query %s skipped: %s", qid, exc)
    return out


def pairs_for(
    qids: Sequence[str],
    queries: Mapping[str, str],
    qrels: Mapping[str, Mapping[str, int]],
    mined: Mapping[str, Hits],
    docs: Mapping[str, str],
    negatives: int,
) -> tuple[list[str], list[str], list[float]]:
    """(queries, documents, targets): every judged pair (grade / max grade) and the first `negatives` mined
    candidates not judged for the query (0)."""
    top = max((g for q in qids for g in qrels[q].values()), default=1) or 1
    qs: list[str] = []
    ds: list[str] = []
    ys: list[float] = []
    for qid in dev_only(qids):
        for pid, grade in qrels[qid].items():
            if pid in docs:
                qs.append(queries[qid])
                ds.append(docs[pid])
                ys.append(grade / top)
        unjudged = [h for h in mined.get(qid, []) if h["id"] not in qrels[qid]][:negatives]
        for hit in unjudged:
            qs.append(queries[qid])
            ds.append(doc_text(hit))
            ys.append(0.0)
    return qs, ds, ys


def train_cross_encoder(
    base: Path,
    folder: Path,
    pairs: tuple[list[str], list[str], list[float]],
    config: TrainConfig,
    progress: bool = False,
) -> dict[str, Any]:
    """Fine-tune a cross-encoder from `base` on (query, doc, target) and save it (with its tokenizer) in
    `folder`. Seeded: the same data and config give the same weights on the same machine."""
    import torch
    from tqdm import tqdm
    from transformers import AutoTokenizer

    from aisle.encoders.base import pick_device
    from aisle.encoders.onnx_export import cpu_threads

    seed_everything(config.seed)
    device = pick_device()
    model = new_cross_encoder(base, config.layers).to(device).train()
    model.base_model.embeddings.word_embeddings.requires_grad_(False)  # 30k x 384: slow to update, easy to overfit
    torch.set_num_threads(min(torch.get_num_threads(), cpu_threads()))
    folder.mkdir(parents=True, exist_ok=True)
    AutoTokenizer.from_pretrained(str(base), local_files_only=True).save_pretrained(str(folder))
    tokenize = PairTokenizer(folder, config.max_length)
    qs, ds, ys = pairs
    steps_per_epoch = (len(ys) + config.batch_size - 1) // config.batch_size
    total = max(1, steps_per_epoch * config.epochs)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=config.learning_rate, weight_decay=0.01)
    warmup = max(1, total // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min((step + 1) / warmup, max(0.0, (total - step) / max(1, total - warmup)))
    )
    loss_fn = torch.nn.BCEWithLogitsLoss()
    generator = torch.Generator().manual_seed(config.seed)
    targets = torch.tensor(ys, dtype=torch.float32)
    losses: list[float] = []
    started = time.perf_counter()
    for epoch in range(config.epochs):
        order = torch.randperm(len(ys), generator=generator).tolist()
        running = []
        for start in tqdm(range(0, len(order), config.batch_size), desc=f"epoch {epoch + 1}", disable=not progress):
            rows = order[start : start + config.batch_size]
            feeds = tokenize([qs[i] for i in rows], [ds[i] for i in rows])
            batch = {k: torch.from_numpy(v).to(device) for k, v in feeds.items()}
            with torch.autocast(device_type="cuda", dtype=torch.bfloat16, enabled=device.startswith("cuda")):
                logits = model(**batch).logits[:, 0].float()
            loss = loss_fn(logits, targets[rows].to(device))
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trainable, 1.0)
            optimizer.step()
            schedule.step()
            running.append(float(loss.detach()))
        losses.append(float(np.mean(running)))
        log.info("cross-encoder epoch %d/%d: loss %.4f", epoch + 1, config.epochs, losses[-1])
    model.eval().float().cpu().save_pretrained(str(folder))
    meta = {"max_length": config.max_length, "layers": config.layers, "base": str(base)}
    (folder / "cross_encoder.json").write_text(json.dumps(meta, indent=2) + "\n")
    return {"pairs": len(ys), "epoch_losses": losses, "seconds": round(time.perf_counter() - started, 1),
            "device": device}  # fmt: skip


def _ndcg10(qrels: Mapping[str, Mapping[str, int]], run: Mapping[str, Mapping[str, float]]) -> float:
    """Mean nDCG@10 from ranx (the tuning monitor; a query missing from the run scores 0)."""
    from ranx import Qrels, Run, evaluate

    if not qrels:
        return float("nan")
    scored = Run({q: dict(run.get(q, {})) for q in qrels})
    return float(evaluate(Qrels({q: dict(j) for q, j in qrels.items()}), scored, "ndcg@10", make_comparable=True))


def fit_scorer_cv(
    qids: Sequence[str],
    queries: Mapping[str, str],
    qrels: Mapping[str, Mapping[str, int]],
    mined: Mapping[str, Hits],
    logits: Mapping[str, np.ndarray],
    config: TrainConfig,
) -> tuple[Any, dict[str, float]]:
    """The scorer fitted on all of `qids`' candidates, with the ridge strength that gave the best
    query-grouped 5-fold nDCG@10 (reported beside the first-stage order and the cross-encoder alone)."""
    qids = [q for q in dev_only(qids) if mined.get(q)]
    feats = {q: feature_matrix(queries[q], mined[q], logits[q]) for q in qids}
    labels = {q: np.array([qrels[q].get(h["id"], 0) for h in mined[q]], dtype=float) for q in qids}
    folds = [qids[i::5] for i in range(5)]
    first_stage, cross_encoder = FEATURES.index("inv_rank"), FEATURES.index("cross_encoder")

    def run_of(score: Any, q: str) -> dict[str, float]:
        values = score(feats[q])
        return {h["id"]: float(v) for h, v in zip(mined[q], values, strict=True)}

    def fit(train: Sequence[str], alpha: float) -> Any:
        return fit_scorer(np.vstack([feats[q] for q in train]), np.concatenate([labels[q] for q in train]),
                          alpha=alpha)  # fmt: skip

    qrels_sub = {q: dict(qrels[q]) for q in qids}
    cv = {
        "first_stage": _ndcg10(qrels_sub, {q: run_of(lambda x: x[:, first_stage], q) for q in qids}),
        "cross_encoder": _ndcg10(qrels_sub, {q: run_of(lambda x: x[:, cross_encoder], q) for q in qids}),
    }
    best_alpha, best = config.alphas[0], -1.0
    for alpha in config.alphas:
        run: dict[str, dict[str, float]] = {}
        for held in folds:
            scorer = fit([q for q in qids if q not in held], alpha)
            run.update({q: run_of(scorer.score, q) for q in held})
        cv[f"scorer_alpha_{alpha:g}"] = value = _ndcg10(qrels_sub, run)
        if value > best:
            best_alpha, best = alpha, value
    cv["alpha"] = best_alpha
    return fit(qids, best_alpha), cv


def out_of_fold_logits(
    base: Path,
    work: Path,
    dev: Sequence[str],
    data: tuple[Mapping[str, str], Mapping[str, Mapping[str, int]], Mapping[str, Hits], Mapping[str, str]],
    config: TrainConfig,
    progress: bool = False,
) -> tuple[dict[str, np.ndarray], list[dict[str, Any]]]:
    """Each dev query's candidates scored by a cross-encoder trained on the other folds, and each fold's
    training summary. `data` is (queries, qrels, mined, docs)."""
    queries, qrels, mined, docs = data
    order = np.random.default_rng(config.seed).permutation(list(dev)).tolist()
    logits: dict[str, np.ndarray] = {}
    runs: list[dict[str, Any]] = []
    for k in range(config.folds):
        held = set(order[k :: config.folds])
        train = [q for q in dev if q not in held]
        folder = work / f"fold_{k}"
        runs.append(train_cross_encoder(base, folder, pairs_for(train, queries, qrels, mined, docs, config.negatives),
                                        config, progress))  # fmt: skip
        encoder = CrossEncoder.from_folder(folder, backend="torch")
        for q in sorted(held):
            if mined.get(q):
                logits[q] = encoder.score([queries[q]] * len(mined[q]), [doc_text(h) for h in mined[q]])
        shutil.rmtree(folder)
    return logits, runs


def query_ids_digest(qids: Sequence[str]) -> str:
    return hashlib.sha1("\n".join(sorted(qids)).encode()).hexdigest()


def train_ranker(
    dataset: Any,
    pipeline: Any,
    *,
    models_dir: Path,
    base: Path,
    config: TrainConfig | None = None,
    name: str = RANKER_DIR,
    progress: bool = False,
) -> TrainResult:
    """Train on `dataset`'s dev queries (test queries are left out before anything reads them) through
    `pipeline` (a SearchPipeline over the data set's corpus, without a ranker) and save it under
    `models_dir/name`."""
    config = config or TrainConfig()
    started = time.perf_counter()
    dev = dev_only(sorted(q for q in dataset.queries if split_of(q) == "dev"))
    if len(dev) < 10:
        raise ValueError(f"{dataset.name}: only {len(dev)} dev queries with judgments; need at least 10")
    if config.folds < 2:
        raise ValueError(f"folds must be at least 2, got {config.folds}")
    queries = {q: dataset.queries[q] for q in dev}
    qrels = {q: dataset.qrels[q] for q in dev}
    docs = {p.id: doc_text(p.to_record()) for p in dataset.corpus}
    work = models_dir / f".{name}.training"
    shutil.rmtree(work, ignore_errors=True)
    key = f"{dataset.fingerprint[:12]}-{config.candidates}-explained"
    cache = models_dir / f".{name}.mined-{key}.json"
    if cache.is_file():  # mining is the slow part on embedded Qdrant: a re-run with other settings reuses it
        mined = json.loads(cache.read_text())
    else:
        mined = mine(pipeline, queries, config.candidates, progress)
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps(mined))
    logits, fold_runs = out_of_fold_logits(base, work, dev, (queries, qrels, mined, docs), config, progress)
    scorer, cv = fit_scorer_cv(dev, queries, qrels, mined, logits, config)
    log.info("scorer (dev, out-of-fold cross-encoder logits, 5-fold CV nDCG@10): %s", cv)
    final = train_cross_encoder(
        base, work / "cross_encoder", pairs_for(dev, queries, qrels, mined, docs, config.negatives), config, progress
    )
    (work / "scorer.json").write_text(json.dumps(scorer.to_json(), indent=2) + "\n")
    manifest = {
        "kind": KIND, "format": 1, "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "base_model": str(base), "features": list(FEATURES), "config": asdict(config),
        "dataset": {"name": dataset.name, "fingerprint": dataset.fingerprint, "source": dataset.source},
        "training": {
            "split": "dev", "queries": len(dev), "query_ids_sha1": query_ids_digest(dev),
            "cross_encoder_folds": fold_runs, "cross_encoder_final": final,
            "scorer_queries": len(logits), "seconds": round(time.perf_counter() - started, 1),
        },
        "scorer_cv_ndcg10": cv,
    }  # fmt: skip
    (work / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    folder = models_dir / name
    if folder.exists():
        old = models_dir / f".{name}.old"
        shutil.rmtree(old, ignore_errors=True)
        folder.rename(old)
        work.rename(folder)
        shutil.rmtree(old, ignore_errors=True)
    else:
        work.rename(folder)
    from aisle.rerank.cross_encoder import ensure_onnx

    ensure_onnx(folder / "cross_encoder", quantized=True)  # the CPU path, ready before the first query
    return TrainResult(folder, manifest, cv)
