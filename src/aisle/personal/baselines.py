"""Non-sequential baselines for the personal ranker, on the same full-catalogue protocol: popularity,
item-kNN and ALS (both from the `implicit` library). Each gives the top-N new items for each history."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
from scipy import sparse

log = logging.getLogger(__name__)


class Recommender(Protocol):
    name: str

    def fit(self, histories: Sequence[np.ndarray], n_items: int) -> Recommender: ...

    def recommend(self, histories: Sequence[np.ndarray], n: int) -> tuple[np.ndarray, np.ndarray]:
        """([U, n] item indices, [U, n] scores), best first, never an item of the history."""
        ...


def user_items(histories: Sequence[np.ndarray], n_items: int) -> sparse.csr_matrix:
    """Binary users x (n_items + 1) matrix (column 0 = padding, always empty)."""
    rows = np.repeat(np.arange(len(histories)), [len(h) for h in histories])
    cols = np.concatenate([np.asarray(h, dtype=np.int64) for h in histories]) if histories else np.array([], int)
    data = np.ones(len(cols), dtype=np.float32)
    matrix = sparse.csr_matrix((data, (rows, cols)), shape=(len(histories), n_items + 1))
    matrix.data[:] = 1.0
    return matrix


def top_n(scores: np.ndarray, histories: Sequence[np.ndarray], n: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-n columns per row of a dense [U, n_items + 1] score matrix, history and padding excluded."""
    scores = np.array(scores, dtype=np.float32, copy=True)
    scores[:, 0] = -np.inf
    for row, h in enumerate(histories):
        scores[row, h] = -np.inf
    n = min(n, scores.shape[1] - 1)
    part = np.argpartition(-scores, n - 1, axis=1)[:, :n]
    part_scores = np.take_along_axis(scores, part, axis=1)
    order = np.argsort(-part_scores, axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1), np.take_along_axis(part_scores, order, axis=1)


class Popularity:
    """Most-interacted items first (the non-personal order)."""

    name = "popularity"

    def __init__(self) -> None:
        self.counts: np.ndarray | None = None

    def fit(self, histories: Sequence[np.ndarray], n_items: int) -> Popularity:
        flat = np.concatenate(list(histories)) if histories else np.array([], int)
        self.counts = np.bincount(flat, minlength=n_items + 1).astype(np.float32)
        return self

    def recommend(self, histories: Sequence[np.ndarray], n: int) -> tuple[np.ndarray, np.ndarray]:
        assert self.counts is not None, "fit first"
        return top_n(np.broadcast_to(self.counts, (len(histories), len(self.counts))), histories, n)


class _Implicit:
    """Shared glue for `implicit` models: fit on a user-item matrix, recommend for arbitrary histories."""

    name = "implicit"

    def __init__(self) -> None:
        self.model: Any = None
        self.n_items = 0

    def _build(self) -> Any:
        raise NotImplementedError

    def fit(self, histories: Sequence[np.ndarray], n_items: int) -> _Implicit:
        from threadpoolctl import threadpool_limits

        self.n_items = n_items
        with threadpool_limits(1, "blas"), warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Method expects CSR input")  # it converts, and says so
            # implicit counts every BLAS in the process (torch's too); the fit below runs on one thread
            warnings.filterwarnings("ignore", message="OpenBLAS is configured to use")
            self.model = self._build()
            self.model.fit(user_items(histories, n_items), show_progress=False)
        return self

    def recommend(self, histories: Sequence[np.ndarray], n: int) -> tuple[np.ndarray, np.ndarray]:
        """Scores for the histories the model was fitted on (the protocol refits for each set of histories)."""
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1, "blas"):
            scores = self._scores(histories)
        return top_n(scores, histories, n)

    def _scores(self, histories: Sequence[np.ndarray]) -> np.ndarray:
        raise NotImplementedError


class ItemKNN(_Implicit):
    """Item-based nearest neighbours (cosine) from `implicit`: score = similarity to the history's items."""

    def __init__(self, k: int = 100) -> None:
        super().__init__()
        self.k = k
        self.name = f"item-knn(k={k})"

    def _build(self) -> Any:
        from implicit.nearest_neighbours import CosineRecommender

        return CosineRecommender(K=self.k)

    def _scores(self, histories: Sequence[np.ndarray]) -> np.ndarray:
        """Sum of the history items' cosine similarities to each item (implicit's item-kNN scoring)."""
        return np.asarray((user_items(histories, self.n_items) @ self.model.similarity).todense(), dtype=np.float32)


class ALS(_Implicit):
    """Implicit-feedback ALS (Hu et al.) from `implicit`, on the histories it is asked about."""

    def __init__(self, factors: int = 64, regularization: float = 0.05, alpha: float = 1.0, iterations: int = 15):
        super().__init__()
        self.factors, self.regularization, self.alpha, self.iterations = factors, regularization, alpha, iterations
        self.name = f"als(f={factors},reg={regularization},a={alpha})"

    def _build(self) -> Any:
        from implicit.cpu.als import AlternatingLeastSquares

        return AlternatingLeastSquares(
            factors=self.factors,
            regularization=self.regularization,
            alpha=self.alpha,
            iterations=self.iterations,
            random_state=0,
            num_threads=1,
        )

    def _scores(self, histories: Sequence[np.ndarray]) -> np.ndarray:
        if len(histories) != self.model.user_factors.shape[0]:
            raise ValueError("ALS scores the histories it was fitted on; fit it on these histories first")
        return np.asarray(self.model.user_factors @ self.model.item_factors.T, dtype=np.float32)


def grid(kind: str) -> list[Recommender]:
    """The settings each baseline is tuned over (on the validation targets)."""
    if kind == "popularity":
        return [Popularity()]
    if kind == "item-knn":
        return [ItemKNN(k) for k in (20, 50, 100, 200, 400)]
    if kind == "als":
        return [ALS(f, r, a) for f in (32, 64, 128) for r in (0.01, 0.1) for a in (1.0, 10.0)]
    raise ValueError(f"unknown baseline {kind!r}")
