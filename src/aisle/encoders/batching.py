"""Query encoding for a server: concurrent requests' queries are encoded together, one forward pass at a time.

Under load, N request threads each running a small forward pass at once fight over the same cores (and each
pass starts its own intra-op threads). One worker per model instead takes every query waiting when it
becomes free and encodes them as one batch: no added wait when idle (a lone query goes straight through),
and under load a batch of 8 short queries costs little more than one.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Sequence
from concurrent.futures import Future

import numpy as np

from aisle.encoders.base import TextEncoder, Vectors

MAX_BATCH = 64


class BatchingQueryEncoder:
    """A TextEncoder whose `encode_queries` is served by one worker thread, in batches of what is waiting."""

    def __init__(self, inner: TextEncoder, *, max_batch: int = MAX_BATCH) -> None:
        self.inner = inner
        self.info = inner.info
        self.max_batch = max_batch
        self._waiting: queue.SimpleQueue[tuple[list[str], Future[Vectors]]] = queue.SimpleQueue()
        self._worker = threading.Thread(target=self._serve, name=f"encode-{inner.info.name}", daemon=True)
        self._worker.start()

    def encode_queries(self, texts: Sequence[str]) -> Vectors:
        answer: Future[Vectors] = Future()
        self._waiting.put((list(texts), answer))
        return answer.result()

    def encode_documents(self, texts: Sequence[str], *, progress: bool = False) -> Vectors:
        return self.inner.encode_documents(texts, progress=progress)

    def warm_up(self) -> None:
        self.inner.warm_up()

    def _serve(self) -> None:
        while True:
            jobs = [self._waiting.get()]
            size = len(jobs[0][0])
            while size < self.max_batch:
                try:
                    job = self._waiting.get_nowait()
                except queue.Empty:
                    break
                jobs.append(job)
                size += len(job[0])
            texts = [text for job_texts, _ in jobs for text in job_texts]
            try:
                vectors = np.asarray(self.inner.encode_queries(texts)) if texts else np.empty((0, 0), np.float32)
            except BaseException as exc:  # every waiting request learns of it; the worker lives on
                for _, answer in jobs:
                    answer.set_exception(exc)
                continue
            start = 0
            for job_texts, answer in jobs:
                answer.set_result(vectors[start : start + len(job_texts)])
                start += len(job_texts)
