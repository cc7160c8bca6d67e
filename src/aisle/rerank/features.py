"""The learned scorer's inputs, and the scorer itself: a linear model over the cross-encoder's logit, the
first-stage evidence (each retriever's own score and the fused rank) and how literally the text matches
(`text_match`), so that the re-ranker can lean on BM25, the dense retriever and plain word overlap where the
small cross-encoder is unsure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from aisle.rerank.text_match import LEXICAL_FEATURES, lexical_features

FIRST_STAGE: tuple[str, ...] = ("bm25", "text", "image", "inv_rank")
FEATURES: tuple[str, ...] = ("cross_encoder", *FIRST_STAGE, *LEXICAL_FEATURES)


def first_stage_features(hits: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """(n, 4): bm25 relative to the best candidate's, dense cosine, image score (CLIP, either tower), 1/rank.
    A retriever that did not score a hit gives NaN (the scorer fills in its training mean)."""
    out = np.full((len(hits), 4), np.nan, dtype=np.float64)
    for i, hit in enumerate(hits):
        scores = hit.get("scores") or {}
        if "bm25" in scores:
            out[i, 0] = float(scores["bm25"])
        if "text" in scores:
            out[i, 1] = float(scores["text"])
        image = [float(scores[k]) for k in ("image", "clip_text") if k in scores]
        if image:
            out[i, 2] = max(image)
        out[i, 3] = 1.0 / (i + 1)
    bm25 = out[:, 0]
    best = np.nanmax(bm25) if np.isfinite(bm25).any() else np.nan
    if np.isfinite(best) and best > 0:
        out[:, 0] = bm25 / best
    return out


def feature_matrix(query: str, hits: Sequence[Mapping[str, Any]], logits: np.ndarray) -> np.ndarray:
    """(n, len(FEATURES)): the cross-encoder logits, the first-stage features and the lexical ones."""
    return np.column_stack([np.asarray(logits, dtype=np.float64), first_stage_features(hits),
                            lexical_features(query, hits)])  # fmt: skip


def columns_for(names: Sequence[str]) -> list[int]:
    """Where each named feature sits in `feature_matrix`'s columns (a ranker trained before a feature was
    added names fewer), or ValueError for a name this version does not compute."""
    unknown = [n for n in names if n not in FEATURES]
    if unknown:
        raise ValueError(f"scorer feature(s) {', '.join(unknown)} unknown; known: {', '.join(FEATURES)}")
    return [FEATURES.index(n) for n in names]


@dataclass(frozen=True, slots=True)
class LinearScorer:
    """score = ((x - mean) / scale) . weights + bias, NaN inputs replaced by `mean` (a neutral value)."""

    names: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float = 0.0

    def score(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != len(self.names):
            raise ValueError(f"expected (n, {len(self.names)}) features, got {x.shape}")
        mean = np.asarray(self.mean)
        x = np.where(np.isfinite(x), x, mean)
        return ((x - mean) / np.asarray(self.scale)) @ np.asarray(self.weights) + self.bias

    def to_json(self) -> dict[str, Any]:
        return {
            "names": list(self.names), "mean": list(self.mean), "scale": list(self.scale),
            "weights": list(self.weights), "bias": self.bias,
        }  # fmt: skip

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LinearScorer:
        names = tuple(data["names"])
        parts = [tuple(float(v) for v in data[k]) for k in ("mean", "scale", "weights")]
        if any(len(p) != len(names) for p in parts):
            raise ValueError("scorer: names, mean, scale and weights differ in length")
        mean, scale, weights = parts
        return cls(names, mean, scale, weights, bias=float(data.get("bias", 0.0)))


def fit_scorer(x: np.ndarray, y: np.ndarray, *, alpha: float = 1.0) -> LinearScorer:
    """Ridge regression of the graded label on the standardised FEATURES (NaN -> the column mean)."""
    from sklearn.linear_model import Ridge

    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != len(FEATURES):
        raise ValueError(f"expected (n, {len(FEATURES)}) features, got {x.shape}")
    finite = np.isfinite(x)
    counts = finite.sum(axis=0)
    mean = np.where(counts > 0, np.where(finite, x, 0.0).sum(axis=0) / np.maximum(counts, 1), 0.0)
    filled = np.where(np.isfinite(x), x, mean)
    scale = filled.std(axis=0)
    scale = np.where(scale > 1e-9, scale, 1.0)
    model = Ridge(alpha=alpha).fit((filled - mean) / scale, np.asarray(y, dtype=np.float64))
    return LinearScorer(
        FEATURES, tuple(mean.tolist()), tuple(scale.tolist()), tuple(model.coef_.tolist()), float(model.intercept_)
    )
