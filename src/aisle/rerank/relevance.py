"""The relevance ranker: re-scores the top-K fused candidates with a fine-tuned cross-encoder combined with
the first-stage features in a learned linear scorer. A trained ranker is a folder (usually
`AISLE_HOME/models/relevance-ranker/`) holding the cross-encoder, `scorer.json` and `manifest.json`.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from aisle.config import Settings, get_settings
from aisle.rerank.cross_encoder import BACKENDS, CrossEncoder, doc_text
from aisle.rerank.features import LinearScorer, columns_for, feature_matrix

log = logging.getLogger(__name__)
RANKER_DIR = "relevance-ranker"
MANIFEST = "manifest.json"
KIND = "aisle-relevance-ranker"


class RelevanceRanker:
    """A Ranker: the top `top_k` hits re-ordered by the learned score, the rest after them in their order.

    Cross-encoder logits are cached per (query, product id), so a repeated query (another page, another
    filter) re-scores only what it has not seen. Hits come back as new dicts: `score` is the learned score,
    `scores` keeps the first-stage `fused` score and adds the cross-encoder's `relevance` logit.
    """

    name = "relevance"
    wants_retriever_scores = True  # SearchPipeline attaches each retriever's score to the top-K first

    def __init__(
        self,
        encoder: CrossEncoder,
        scorer: LinearScorer,
        *,
        top_k: int = 50,
        cache_size: int = 100_000,
        manifest: dict[str, Any] | None = None,
    ) -> None:
        if top_k < 1:
            raise ValueError(f"top_k must be positive, got {top_k}")
        self.encoder = encoder
        self.scorer = scorer
        self._columns = columns_for(scorer.names)
        self.top_k = top_k
        self.manifest = manifest or {}
        self.cache_size = cache_size
        self._cache: OrderedDict[tuple[str, str], float] = OrderedDict()
        self._lock = threading.Lock()
        self.cache_hits = self.cache_misses = 0

    def warm_up(self) -> None:
        self.encoder.warm_up()

    def cross_scores(self, query: str, hits: Sequence[dict[str, Any]]) -> np.ndarray:
        """The cross-encoder logit of each hit, from the cache where possible, the rest in one batch."""
        keys = [(query, str(hit["id"])) for hit in hits]
        out = np.empty(len(hits), dtype=np.float64)
        missing: list[int] = []
        with self._lock:
            for i, key in enumerate(keys):
                value = self._cache.get(key)
                if value is None:
                    missing.append(i)
                else:
                    self._cache.move_to_end(key)
                    out[i] = value
            self.cache_hits += len(hits) - len(missing)
            self.cache_misses += len(missing)
        if missing:
            fresh = self.encoder.score([query] * len(missing), [doc_text(hits[i]) for i in missing])
            with self._lock:
                for i, value in zip(missing, fresh, strict=True):
                    out[i] = float(value)
                    self._cache[keys[i]] = float(value)
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
        return out

    def rerank(self, query: str, hits: Sequence[dict[str, Any]], user: str | None = None) -> list[dict[str, Any]]:
        head, tail = list(hits[: self.top_k]), list(hits[self.top_k :])
        if not head or not query:
            return [dict(hit) for hit in hits]
        logits = self.cross_scores(query, head)
        scores = self.scorer.score(feature_matrix(query, head, logits)[:, self._columns])
        order = sorted(range(len(head)), key=lambda i: (-scores[i], i))
        out = []
        for i in order:
            hit = head[i]
            extra = {"fused": float(hit["score"]), "relevance": round(float(logits[i]), 6)}
            out.append({**hit, "score": float(scores[i]), "scores": {**(hit.get("scores") or {}), **extra}})
        floor = float(scores.min())
        for j, hit in enumerate(tail, start=1):  # below every re-scored hit, in first-stage order
            extra = {"fused": float(hit["score"])}
            out.append({**hit, "score": floor - 1e-3 * j, "scores": {**(hit.get("scores") or {}), **extra}})
        return out


def read_manifest(folder: Path) -> dict[str, Any]:
    """The ranker folder's manifest, or a clear error when `folder` is not a trained ranker."""
    path = folder / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"{folder} is not a trained ranker (no {MANIFEST}; run `aisle train-ranker`)") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path} is not readable: {exc}") from None
    if manifest.get("kind") != KIND:
        raise ValueError(f"{path} is not an aisle relevance-ranker manifest")
    return manifest


def pick_backend(requested: str = "auto") -> str:
    """'auto': PyTorch on a GPU (fp16/bf16), int8 ONNX Runtime on CPU."""
    if requested == "auto":
        import torch

        return "torch" if torch.cuda.is_available() else "onnx-int8"
    if requested not in BACKENDS:
        raise ValueError(f"unknown rerank backend {requested!r}; use auto or one of {', '.join(BACKENDS)}")
    return requested


def load_ranker(
    folder: Path, *, backend: str = "auto", top_k: int = 50, device: str | None = None, threads: int | None = None
) -> RelevanceRanker:
    """A trained ranker from its folder (models load on first use)."""
    manifest = read_manifest(folder)
    scorer = LinearScorer.from_json(json.loads((folder / "scorer.json").read_text(encoding="utf-8")))
    encoder = CrossEncoder.from_folder(
        folder / "cross_encoder",
        backend=pick_backend(backend),
        device=device,
        threads=threads,
    )
    return RelevanceRanker(encoder, scorer, top_k=top_k, manifest=manifest)


def ranker_folder(settings: Settings | None = None) -> Path | None:
    """Where the configured ranker lives: `ranker_model` 'auto' -> AISLE_HOME/models/relevance-ranker when
    trained (else None), 'off' -> None, anything else -> that folder (which must hold a trained ranker)."""
    settings = settings or get_settings()
    choice = settings.ranker_model.strip()
    if choice == "off":
        return None
    if choice == "auto":
        folder = settings.models_dir / RANKER_DIR
        return folder if (folder / MANIFEST).is_file() else None
    folder = Path(choice).expanduser()
    read_manifest(folder)  # a clear error for a folder that is not a ranker
    return folder


def default_ranker(settings: Settings | None = None) -> RelevanceRanker | None:
    """The configured trained ranker, or None (SearchPipeline then keeps the first-stage order)."""
    settings = settings or get_settings()
    folder = ranker_folder(settings)
    if folder is None:
        return None
    log.info("relevance ranker: %s", folder)
    return load_ranker(folder, backend=settings.rerank_backend, top_k=settings.rerank_top_k)
