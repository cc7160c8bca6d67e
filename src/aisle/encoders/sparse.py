"""BM25 sparse vectors for Qdrant's `IDF` modifier: the document side carries BM25's saturated term
frequency, the query side a 1 per term, and Qdrant multiplies in the IDF from its own collection statistics.

Tokens are lower-cased Unicode words, English stop words dropped, Snowball-stemmed (PyStemmer). A term's
index is a hash of its stem, so the mapping needs no stored vocabulary and survives restarts.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache

from aisle.encoders.base import EncoderInfo
from aisle.types import SparseVector

# Lucene's English analyzer stop set: short, and safe for product text ("no", "not" stay meaningful there
# too, but they are rarer in titles than in prose).
STOP_WORDS = frozenset(
    (
        "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it", "no", "not",
        "of", "on", "or", "such", "that", "the", "their", "then", "there", "these", "they", "this", "to", "was",
        "will", "with",
    )
)  # fmt: skip
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_INDEX_MASK = 0x7FFFFFFF  # Qdrant sparse indices are uint32; keep them in int32 range for every client


@lru_cache(maxsize=1)
def _stemmer() -> object:
    import Stemmer

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=262_144)
def term_index(stem: str) -> int:
    return int.from_bytes(hashlib.blake2b(stem.encode(), digest_size=4).digest(), "little") & _INDEX_MASK


def tokenize(text: str) -> list[str]:
    """Stems of the non-stop words of `text`, in order."""
    words = [w for w in _WORD.findall(text.lower()) if w not in STOP_WORDS]
    return _stemmer().stemWords(words)  # type: ignore[attr-defined]


class Bm25SparseEncoder:
    """A SparseEncoder with BM25 term-frequency saturation (k1, b) against an average document length."""

    def __init__(self, *, k1: float = 1.2, b: float = 0.75, avg_doc_len: float = 12.0, name: str = "bm25") -> None:
        if avg_doc_len <= 0:
            raise ValueError("avg_doc_len must be positive")
        self.k1, self.b, self.avg_doc_len = k1, b, avg_doc_len
        self.info = EncoderInfo(
            name=name,
            kind="sparse",
            dim=0,
            distance="dot",
            normalised=False,
            backend="python",
            space=f"bm25:snowball-en:blake2b31:k1={k1}:b={b}:avgdl={avg_doc_len:g}",
        )

    @staticmethod
    def average_length(texts: Sequence[str]) -> float:
        """The mean token count of a corpus, to construct the encoder with."""
        return max(1.0, sum(len(tokenize(t)) for t in texts) / max(1, len(texts)))

    def warm_up(self) -> None:
        tokenize("warm up")

    def encode_queries(self, texts: Sequence[str]) -> list[SparseVector]:
        out = []
        for text in texts:
            indices = sorted({term_index(stem) for stem in tokenize(text)})
            out.append(SparseVector(tuple(indices), tuple(1.0 for _ in indices)))
        return out

    def encode_documents(self, texts: Sequence[str], *, progress: bool = False) -> list[SparseVector]:
        out = []
        for text in texts:
            stems = tokenize(text)
            length_norm = self.k1 * (1 - self.b + self.b * len(stems) / self.avg_doc_len)
            weights: dict[int, float] = {}
            for stem, tf in Counter(stems).items():
                index = term_index(stem)
                weights[index] = weights.get(index, 0.0) + tf * (self.k1 + 1) / (tf + length_norm)
            indices = sorted(weights)
            out.append(SparseVector(tuple(indices), tuple(weights[i] for i in indices)))
        return out
