"""BatchingQueryEncoder: concurrent callers share forward passes and each gets its own rows back."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np
import pytest

from aisle.encoders.base import EncoderInfo, Vectors
from aisle.encoders.batching import BatchingQueryEncoder


class FakeSlowEncoder:
    """A fake text encoder: a text's vector is [len(text), its first char code]; each pass takes a while, so
    callers pile up behind it, and every batch size is recorded."""

    def __init__(self, fail_on: str | None = None) -> None:
        self.info = EncoderInfo("fake", "text", 2, "cosine", False, "python", "fake")
        self.batches: list[int] = []
        self.fail_on = fail_on
        self.gate = threading.Event()

    def encode_queries(self, texts: Sequence[str]) -> Vectors:
        self.gate.wait(timeout=5)  # the first pass holds until every caller has queued
        self.batches.append(len(texts))
        if self.fail_on in texts:
            raise ValueError(f"cannot encode {self.fail_on!r}")
        return np.array([[len(t), ord(t[0])] for t in texts], dtype=np.float32)

    def encode_documents(self, texts: Sequence[str], *, progress: bool = False) -> Vectors:
        return self.encode_queries(texts)

    def warm_up(self) -> None:
        pass


def _call_all(encoder: BatchingQueryEncoder, texts: list[str]) -> dict[str, object]:
    answers: dict[str, object] = {}

    def call(text: str) -> None:
        try:
            answers[text] = encoder.encode_queries([text])
        except ValueError as exc:
            answers[text] = exc

    threads = [threading.Thread(target=call, args=(t,)) for t in texts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    return answers


def test_concurrent_queries_are_batched_and_each_caller_gets_its_own_row() -> None:
    fake = FakeSlowEncoder()
    encoder = BatchingQueryEncoder(fake)
    texts = [chr(ord("a") + i) * (i + 1) for i in range(8)]  # "a", "bb", "ccc", ...
    threading.Timer(0.3, fake.gate.set).start()
    answers = _call_all(encoder, texts)
    for text in texts:
        row = np.asarray(answers[text])
        assert row.shape == (1, 2) and row[0].tolist() == [len(text), ord(text[0])]
    assert sum(fake.batches) == 8 and len(fake.batches) < 8  # some passes served several callers
    assert max(fake.batches) > 1


def test_a_failed_pass_fails_its_callers_and_the_worker_serves_on() -> None:
    fake = FakeSlowEncoder(fail_on="boom")
    encoder = BatchingQueryEncoder(fake)
    fake.gate.set()
    with pytest.raises(ValueError, match="boom"):
        encoder.encode_queries(["boom"])
    assert encoder.encode_queries(["ok"]).tolist() == [[2.0, float(ord("o"))]]


def test_a_lone_query_goes_straight_through() -> None:
    fake = FakeSlowEncoder()
    fake.gate.set()
    encoder = BatchingQueryEncoder(fake)
    assert encoder.encode_queries(["x", "yy"]).tolist() == [[1.0, 120.0], [2.0, 121.0]]
    assert fake.batches == [2]
