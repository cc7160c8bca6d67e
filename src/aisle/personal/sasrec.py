"""SASRec-style sequential ranker: causal self-attention over a shopper's last N events.

An item's representation is a projection of its catalogue content vector (MiniLM text) plus a learned id
embedding. New products have no id (index 0, a zero embedding) but do have a content vector, so they are
never cold; id dropout in training makes the content path carry signal on its own.

Sequences are right-padded and every event's position is its distance from the most recent event, so the
causal mask alone keeps padding out of every real position. Input = [BOS, i1, ..., i_{n-1}], target =
[i1, ..., in]: the output at BOS predicts a first item, which is the "ranker without history".
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812

ID_INIT_STD = 0.02  # the id embeddings' init (ALS-initialised ids are scaled to it too)


@dataclass(frozen=True, slots=True)
class SASRecConfig:
    n_items: int  # known items; ids 1..n_items (0 = padding / unknown, n_items + 1 = BOS)
    content_dim: int
    hidden: int = 64
    blocks: int = 2
    heads: int = 1
    max_len: int = 50
    dropout: float = 0.2
    id_dropout: float = 0.1  # share of items whose id embedding is hidden in a training step
    use_ids: bool = True
    item_bias: bool = False  # a learned per-item logit bias (a popularity prior; new items get 0)

    def to_json(self) -> dict[str, object]:
        return asdict(self)


class _Block(nn.Module):
    """Pre-norm causal self-attention + point-wise feed-forward (plain matmuls: exports to ONNX cleanly)."""

    def __init__(self, hidden: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.heads = heads
        self.head_dim = hidden // heads
        self.norm1 = nn.LayerNorm(hidden)
        self.qkv = nn.Linear(hidden, 3 * hidden)
        self.out = nn.Linear(hidden, hidden)
        self.norm2 = nn.LayerNorm(hidden)
        self.ff = nn.Sequential(nn.Linear(hidden, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, hidden))
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, causal: torch.Tensor) -> torch.Tensor:
        b, length, hidden = x.shape
        head_dim = self.head_dim
        q, k, v = self.qkv(self.norm1(x)).chunk(3, dim=-1)
        q, k, v = (t.reshape(b, length, self.heads, head_dim).transpose(1, 2) for t in (q, k, v))
        att = (q @ k.transpose(-1, -2)) / math.sqrt(head_dim)
        att = self.drop(att.masked_fill(causal, -1e9).softmax(dim=-1))
        y = (att @ v).transpose(1, 2).reshape(b, length, hidden)
        x = x + self.drop(self.out(y))
        return x + self.drop(self.ff(self.norm2(x)))


class SASRec(nn.Module):
    def __init__(self, config: SASRecConfig, content: torch.Tensor) -> None:
        """`content`: [n_items + 1, content_dim] vectors of the known items (row 0 = zeros)."""
        super().__init__()
        self.config = config
        h = config.hidden
        self.content: torch.Tensor
        self.register_buffer("content", content.float(), persistent=True)
        self.item_emb = nn.Embedding(config.n_items + 2, h, padding_idx=0)
        nn.init.normal_(self.item_emb.weight, std=ID_INIT_STD)
        with torch.no_grad():
            self.item_emb.weight[0].zero_()
        self.bos = nn.Parameter(torch.randn(h) * 0.02)
        self.content_proj = nn.Sequential(nn.Linear(config.content_dim, h), nn.GELU(), nn.Linear(h, h))
        self.pos_emb = nn.Embedding(config.max_len + 1, h)
        self.blocks = nn.ModuleList(_Block(h, config.heads, config.dropout) for _ in range(config.blocks))
        self.norm = nn.LayerNorm(h)
        self.drop = nn.Dropout(config.dropout)
        self.bias = nn.Embedding(config.n_items + 2, 1, padding_idx=0)
        nn.init.zeros_(self.bias.weight)

    # -- item representations --------------------------------------------------------------------------------
    def reps(self, ids: torch.Tensor, content: torch.Tensor, id_keep: torch.Tensor | None = None) -> torch.Tensor:
        """Representations of items given by id (0 = unknown) and content vector."""
        rep = self.content_proj(content)
        if self.config.use_ids:
            emb = self.item_emb(ids)
            if id_keep is not None:
                emb = emb * id_keep[ids].unsqueeze(-1)
            rep = rep + emb
        return rep

    def item_table(self, id_keep: torch.Tensor | None = None) -> torch.Tensor:
        """[n_items + 1, hidden]: every known item (row 0 = padding)."""
        ids = torch.arange(self.config.n_items + 1, device=self.content.device)
        return self.reps(ids, self.content, id_keep)

    # -- the user vector -------------------------------------------------------------------------------------
    def encode(self, inputs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Hidden states [B, L, H] of right-padded input reps [B, L, H] (BOS included) with true lengths [B]."""
        b, length, _ = inputs.shape
        steps = torch.arange(length, device=inputs.device).unsqueeze(0)
        positions = (lengths.unsqueeze(1) - 1 - steps).clamp(min=0, max=self.config.max_len)
        x = self.drop(inputs * math.sqrt(self.config.hidden) + self.pos_emb(positions))
        step = steps[0]
        causal = step.unsqueeze(0) > step.unsqueeze(1)  # key after query: masked (no triu: it exports poorly)
        for block in self.blocks:
            x = block(x, causal)
        return self.norm(x)

    def with_bos(self, reps: torch.Tensor) -> torch.Tensor:
        """Prepend the BOS vector to [B, L, H] history reps."""
        bos = self.bos.expand(reps.shape[0], 1, -1)
        return torch.cat([bos, reps], dim=1)

    def user_vector(self, history_reps: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """[B, H]: the state after each shopper's last event (history right-padded, lengths without BOS)."""
        states = self.encode(self.with_bos(history_reps), lengths + 1)
        index = lengths.view(-1, 1, 1).expand(-1, 1, states.shape[-1])
        return states.gather(1, index).squeeze(1)

    # -- training --------------------------------------------------------------------------------------------
    def loss(self, seqs: torch.Tensor, lengths: torch.Tensor, *, mask_seen: bool = False) -> torch.Tensor:
        """Full-softmax cross entropy over every known item at every position.

        seqs: [B, L] item ids, right-padded with 0; lengths: [B] real lengths (>= 1). The model reads
        [BOS, s1, ..., s_{n-1}] and predicts [s1, ..., sn]. `mask_seen` leaves s1..sj out of the softmax at
        position j, as ranking leaves a shopper's own items out (the target itself is never masked).
        """
        keep = None
        if self.training and self.config.id_dropout > 0:
            keep = (torch.rand(self.config.n_items + 2, device=seqs.device) > self.config.id_dropout).float()
        table = self.item_table(keep)
        history = F.embedding(seqs[:, :-1], table)
        states = self.encode(self.with_bos(history), lengths)
        logits = states @ table.T + self._bias_row()
        if mask_seen:
            logits = logits.masked_fill(_seen_before(seqs, logits.shape[-1]), -1e9)
        logits[..., 0] = -1e9
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), seqs.reshape(-1), ignore_index=0)

    # -- scoring ---------------------------------------------------------------------------------------------
    def score_all(self, histories: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """[B, n_items + 1] scores of every known item for right-padded id histories [B, L]."""
        table = self.item_table()
        return self.user_vector(F.embedding(histories, table), lengths) @ table.T + self._bias_row()

    def _bias_row(self) -> torch.Tensor | float:
        """[n_items + 1] logit biases of the known items (0.0 when the config has none)."""
        if not self.config.item_bias:
            return 0.0
        return self.bias.weight[: self.config.n_items + 1, 0]


def _seen_before(seqs: torch.Tensor, n_columns: int) -> torch.Tensor:
    """[B, L, n_columns] bool: True where the column is one of s1..sj, for output position j."""
    b, length = seqs.shape
    onehot = torch.zeros(b, length, n_columns, dtype=torch.bool, device=seqs.device)
    onehot.scatter_(2, seqs.unsqueeze(-1), True)
    seen = onehot.cumsum(dim=1, dtype=torch.int16) > 0  # s1..s(j+1) at row j (int16: no index tensor, as cummax)
    seen = torch.cat([torch.zeros_like(seen[:, :1]), seen[:, :-1]], dim=1)
    return seen.scatter_(2, seqs.unsqueeze(-1), False)  # a repeated item stays a valid target


class CandidateScorer(nn.Module):
    """The search-time scorer: one history, candidates given by id (0 = unknown) and content vector.

    history_ids [1, L], history_content [1, L, D], cand_ids [1, C], cand_content [1, C, D] -> scores [1, C].
    This is the module exported to ONNX.
    """

    def __init__(self, model: SASRec) -> None:
        super().__init__()
        self.model = model

    def forward(
        self,
        history_ids: torch.Tensor,
        history_content: torch.Tensor,
        cand_ids: torch.Tensor,
        cand_content: torch.Tensor,
    ) -> torch.Tensor:
        m = self.model
        reps = m.reps(history_ids, history_content)
        lengths = torch.ones_like(history_ids).sum(dim=1)  # from a tensor, so ONNX keeps the length dynamic
        user = m.user_vector(reps, lengths)
        cands = m.reps(cand_ids, cand_content)
        scores = (cands @ user.unsqueeze(-1)).squeeze(-1)
        if m.config.item_bias:
            scores = scores + m.bias(cand_ids).squeeze(-1)
        return scores
