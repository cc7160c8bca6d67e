"""The training options of the sequential ranker: history masking in the loss, ALS-initialised id embeddings
and weight averaging (EMA)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from aisle.personal.baselines import ALS
from aisle.personal.sasrec import ID_INIT_STD, SASRec, SASRecConfig
from aisle.personal.train import TrainConfig, als_init_ids, train_sasrec

N_ITEMS = 12


def _model(hidden: int = 16) -> SASRec:
    torch.manual_seed(0)
    content = torch.randn(N_ITEMS + 1, 8)
    content[0] = 0
    return SASRec(SASRecConfig(n_items=N_ITEMS, content_dim=8, hidden=hidden, max_len=6, dropout=0.0), content)


def _sequences(users: int = 40) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.permutation(np.arange(1, N_ITEMS + 1))[: int(rng.integers(3, 7))] for _ in range(users)]


def test_mask_seen_takes_earlier_items_out_of_the_softmax() -> None:
    model = _model().eval()
    seqs = torch.tensor([[3, 1, 2, 5, 0], [4, 6, 7, 8, 9]])
    lengths = torch.tensor([4, 5])
    plain = model.loss(seqs, lengths)
    masked = model.loss(seqs, lengths, mask_seen=True)
    assert masked < plain  # fewer competitors for every target after the first
    # a repeated item is still a valid target: the loss stays finite instead of meeting the -1e9 mask
    repeated = model.loss(torch.tensor([[2, 2, 1]]), torch.tensor([3]), mask_seen=True)
    assert torch.isfinite(repeated) and repeated < 100


def test_als_init_writes_scaled_item_factors_into_the_id_embeddings() -> None:
    model = _model()
    before = model.item_emb.weight.detach().clone()
    seqs = _sequences()
    als_init_ids(model, seqs, 4)
    after = model.item_emb.weight.detach()
    factors = np.asarray(ALS(4, regularization=0.01, alpha=1.0).fit(seqs, N_ITEMS).model.item_factors)[1:]
    written = after[1 : N_ITEMS + 1, :4].numpy()
    np.testing.assert_allclose(written, factors * ID_INIT_STD / factors.std(), rtol=1e-4, atol=1e-6)
    assert torch.equal(after[:, 4:], before[:, 4:])  # the other columns keep their init
    assert torch.equal(after[0], before[0]) and torch.equal(after[N_ITEMS + 1], before[N_ITEMS + 1])  # pad, BOS
    with pytest.raises(ValueError, match="factors"):
        als_init_ids(model, seqs, 17)


def test_ema_returns_the_averaged_weights_not_the_last_ones() -> None:
    seqs = _sequences()
    model = _model()
    content = model.content.numpy()
    config = model.config
    plain = train_sasrec(seqs, content, config, TrainConfig(epochs=3, batch_size=8, lr=1e-2)).model
    ema = train_sasrec(seqs, content, config, TrainConfig(epochs=3, batch_size=8, lr=1e-2, ema_decay=0.8)).model
    torch.manual_seed(0)  # train_sasrec seeds torch with TrainConfig.seed (0) before building the model
    start = SASRec(config, torch.from_numpy(content)).state_dict()
    for name, weight in plain.state_dict().items():
        if name == "content":
            continue
        moved = (weight - start[name]).norm()
        if moved > 0:  # the average trails the last weights on their own path
            gap = (ema.state_dict()[name] - weight).norm()
            assert 0 < gap < moved, name
