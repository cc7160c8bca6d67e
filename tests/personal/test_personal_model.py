"""The sequential ranker on a tiny synthetic log (it must learn an order the baselines cannot), save/load,
new items through their content vectors, ONNX export, and the baselines' protocol."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from aisle.personal.baselines import ALS, ItemKNN, Popularity, top_n
from aisle.personal.interactions import build, leave_last_out
from aisle.personal.sasrec import SASRecConfig
from aisle.personal.train import (
    TrainConfig,
    TrainResult,
    export_onnx,
    load_model,
    save_model,
    score_users,
    target_ndcg10,
    train_sasrec,
)

N_ITEMS = 30


def _cyclic_log(users: int = 60, length: int = 8, seed: int = 0) -> list[tuple[str, str, float]]:
    """Each user walks the items in a fixed cycle (i -> i + 1) from a random start: a purely sequential signal."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(users):
        start = int(rng.integers(N_ITEMS))
        rows += [(f"u{u}", f"i{(start + t) % N_ITEMS:02d}", float(t)) for t in range(length)]
    return rows


@pytest.fixture(scope="module")
def trained() -> Iterator[tuple[TrainResult, object, np.ndarray]]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors: one thread is fastest, and the CI machine is shared
    data = build("cyclic", _cyclic_log(), {})
    rng = np.random.default_rng(1)
    content = rng.normal(size=(data.n_items + 1, 16)).astype(np.float32)
    content[0] = 0
    split = leave_last_out(data)
    config = SASRecConfig(n_items=data.n_items, content_dim=16, hidden=32, max_len=10, dropout=0.1)
    valid = ([split.valid_history(u) for u in range(len(data.users))], split.valid_target)
    try:
        result = train_sasrec(split.train, content, config, TrainConfig(epochs=60, eval_every=10, lr=5e-3), valid=valid)
    finally:
        torch.set_num_threads(threads)
    yield result, (data, split), content


def test_learns_the_sequence_and_beats_popularity(trained: tuple) -> None:
    result, (data, split), _ = trained
    histories = [split.test_history(u) for u in range(len(data.users))]
    ours = target_ndcg10(score_users(result.model, histories), split.test_target)
    popularity = Popularity().fit(histories, data.n_items)
    items, _ = popularity.recommend(histories, 10)
    pop_ndcg = float(
        np.mean(
            [1 / np.log2(list(r).index(t) + 2) if t in r else 0 for r, t in zip(items, split.test_target, strict=True)]
        )
    )
    assert ours > 0.8 > pop_ndcg + 0.3
    assert result.best_epoch > 0 and result.curve


def test_save_load_scores_new_items_and_exports_onnx(trained: tuple, tmp_path: Path) -> None:
    import onnxruntime as ort

    result, (data, _), content = trained
    folder = save_model(result, data.item_ids, tmp_path / "model", {"content_space": "test"})
    personal = load_model(folder, device="cpu")
    assert personal.manifest["content_space"] == "test" and personal.manifest["config"]["hidden"] == 32
    history = ["i03", "i04", "i05"]
    hist_vec = content[personal.ids_of(history)]
    candidates = ["i06", "i20", "brand-new"]
    new_vec = content[personal.index["i06"]]  # a new product whose text matches i06's
    cand_vec = np.stack([content[personal.index["i06"]], content[personal.index["i20"]], new_vec])
    scores = personal.score(history, hist_vec, candidates, cand_vec)
    assert scores.shape == (3,) and np.isfinite(scores).all()
    assert scores[0] > scores[1]  # the sequel of the history beats an unrelated item
    assert scores[2] > scores[1]  # the new item is scored from its content, not cold
    path = export_onnx(personal, tmp_path / "model.onnx")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feeds = {
        "history_ids": personal.ids_of(history)[None],
        "history_content": hist_vec[None].astype(np.float32),
        "cand_ids": personal.ids_of(candidates)[None],
        "cand_content": cand_vec[None].astype(np.float32),
    }
    np.testing.assert_allclose(session.run(None, feeds)[0][0], scores, rtol=1e-4, atol=1e-4)
    again = personal.score(history, hist_vec, candidates, cand_vec)  # still in eval mode after the export
    np.testing.assert_allclose(again, scores, rtol=1e-5, atol=1e-5)


def test_no_history_gives_one_order_for_everyone(trained: tuple) -> None:
    result, (data, _), _ = trained
    empty = [np.array([], dtype=np.int64)] * 3
    cold = score_users(result.model, empty, exclude_history=False)
    assert np.allclose(cold[0], cold[1]) and np.isfinite(cold[:, 1:]).all()


def test_baselines_exclude_history_and_rank_full_catalogue() -> None:
    data = build("cyclic", _cyclic_log(seed=3), {})
    split = leave_last_out(data)
    histories = [split.test_history(u) for u in range(len(data.users))]
    for model in (Popularity(), ItemKNN(k=10), ALS(factors=8, iterations=3)):
        items, scores = model.fit(histories, data.n_items).recommend(histories, 10)
        assert items.shape == (len(histories), 10)
        for row, row_scores, h in zip(items, scores, histories, strict=True):
            ranked = set(row[np.isfinite(row_scores)].tolist())
            assert len(ranked) == 10 and not ranked & set(h.tolist()) and 0 not in ranked
    picked, _ = top_n(np.arange(6, dtype=np.float32)[None, :], [np.array([5])], 3)
    assert picked.tolist() == [[4, 3, 2]]
