"""Qdrant's weighted reciprocal-rank fusion, written out: the reference the engines' fused scores are
checked against (tests and the congruence suite)."""

from __future__ import annotations

from collections.abc import Sequence


def rrf_scores(
    rankings: Sequence[Sequence[str]], weights: Sequence[float] | None = None, k: int = 60
) -> dict[str, float]:
    """Fused score of ranked id lists (rank 1 = best): sum of 1 / (rank / w + k - 1).
    With w = 1 that is the classic 1 / (k' + rank) with k' = k - 1."""
    weights = weights or [1.0] * len(rankings)
    scores: dict[str, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        if weight <= 0:
            continue
        for rank, doc in enumerate(ranking, start=1):
            scores[doc] = scores.get(doc, 0.0) + 1.0 / (rank / weight + k - 1.0)
    return scores
