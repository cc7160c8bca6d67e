"""The shop's policy documents (markdown in `aisle/assistant/policies/`), split by heading into sections (a
section is the unit of retrieval; its heading path, "Returns and refunds / Refunds", is kept), indexed in their
own Qdrant collection with a BM25 sparse vector and a MiniLM dense vector, and searched with both (RRF)."""

from __future__ import annotations

import hashlib
import importlib.resources
import re
import uuid
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from aisle.config import Settings, get_settings
from aisle.encoders.registry import create_encoder
from aisle.encoders.sparse import Bm25SparseEncoder
from aisle.index.client import open_engine
from aisle.index.engine import CollectionSpec, Engine, Retrieval, StoredPoint

DENSE, SPARSE = "text", "bm25"
_NAMESPACE = uuid.UUID("0b9b3d55-6a0e-4d3b-9f3e-8a41f0c2c7aa")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'])")


def split_sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(" ".join(text.split())) if s.strip()]


@dataclass(frozen=True, slots=True)
class PolicySection:
    doc: str  # file stem: shipping, returns, ...
    title: str  # the heading path: "Returns and refunds / Return window"
    text: str

    @property
    def key(self) -> str:
        return f"{self.doc}#{self.title}"

    @property
    def sentences(self) -> list[str]:
        return split_sentences(self.text)

    @property
    def doc_title(self) -> str:  # "Returns and refunds"
        return self.title.split(" / ")[0]

    @property
    def heading(self) -> str:  # "Return window"
        return self.title.split(" / ")[-1]

    def payload(self) -> dict[str, str]:
        """The section as stored in the index and as the policy tool returns it."""
        return {"doc": self.doc, "title": self.title, "text": self.text, "key": self.key}


def load_sections() -> list[PolicySection]:
    """Every `## ` section of every packaged policy document, with its document's `# ` title."""
    sections = []
    folder = importlib.resources.files("aisle.assistant") / "policies"
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".md"):
            continue
        text = entry.read_text(encoding="utf-8")
        doc_title = next((line[2:].strip() for line in text.splitlines() if line.startswith("# ")), entry.name)
        for block in re.split(r"^## ", text, flags=re.MULTILINE)[1:]:
            heading, _, body = block.partition("\n")
            body = " ".join(body.split())
            if body:
                sections.append(PolicySection(entry.name[:-3], f"{doc_title} / {heading.strip()}", body))
    return sections


class PolicyIndex:
    """Policy sections in Qdrant (collection `settings.policy_collection`), re-indexed when the documents change."""

    def __init__(self, settings: Settings | None = None, *, engine: Engine | None = None, encoder: Any = None) -> None:
        self.settings = settings or get_settings()
        self.engine = engine or open_engine(self.settings)
        self.name = self.settings.policy_collection
        self.encoder: Any = encoder or create_encoder("minilm", backend=self.settings.encoder_backend)
        self.sections = load_sections()
        self.by_key = {s.key: s for s in self.sections}
        texts = [self._indexed_text(s) for s in self.sections]
        self.sparse = Bm25SparseEncoder(avg_doc_len=Bm25SparseEncoder.average_length(texts), name="policy-bm25")
        self._ready = False
        self._vectors: dict[str, np.ndarray] = {}  # the last questions' embeddings (retrieval and picking share)

    def query_vector(self, question: str) -> np.ndarray:
        if question not in self._vectors:
            if len(self._vectors) > 64:
                self._vectors.clear()
            self._vectors[question] = np.asarray(self.encoder.encode_queries([question])[0], dtype=np.float32)
        return self._vectors[question]

    @staticmethod
    def _indexed_text(section: PolicySection) -> str:
        return f"{section.title}. {section.text}"

    def _fingerprint(self) -> str:
        data = "\n".join(f"{s.key}\n{s.text}" for s in self.sections) + self.encoder.info.space + self.sparse.info.space
        return hashlib.sha1(data.encode()).hexdigest()[:16]

    def ensure(self) -> None:
        """Create or refresh the collection when the documents or the encoders changed (cheap otherwise)."""
        if self._ready:
            return
        fingerprint = self._fingerprint()
        if self.engine.exists(self.name):
            if self.engine.metadata(self.name).get("fingerprint") == fingerprint:
                self._ready = True
                return
            self.engine.drop(self.name)
        spec = CollectionSpec(
            dense={DENSE: self.encoder.info.dim},
            sparse=(SPARSE,),
            metadata={"fingerprint": fingerprint, "kind": "aisle-policies", "encoder": self.encoder.info.space},
        )
        self.engine.create(self.name, spec)
        texts = [self._indexed_text(s) for s in self.sections]
        dense = self.encoder.encode_documents(texts)
        sparse = self.sparse.encode_documents(texts)
        points = [
            StoredPoint(
                id=str(uuid.uuid5(_NAMESPACE, s.key)),
                vectors={DENSE: np.asarray(d, dtype=np.float32), SPARSE: sp},
                payload=s.payload(),
            )
            for s, d, sp in zip(self.sections, dense, sparse, strict=True)
        ]
        self.engine.upsert(self.name, points)
        self.engine.optimize(self.name)
        self._ready = True

    def answer(self, question: str, top_k: int = 5) -> list[dict[str, Any]]:
        """The `top_k` most relevant sections, BM25 and dense fused by RRF: {"doc", "title", "text", "key", "score"}."""
        self.ensure()
        retrievals = [Retrieval(DENSE, self.query_vector(question))]
        sparse = self.sparse.encode_queries([question])[0]
        if sparse.indices:
            retrievals.append(Retrieval(SPARSE, sparse))
        hits = self.engine.query(self.name, retrievals, limit=top_k, prefetch_limit=len(self.sections))
        return [{**hit.payload, "score": round(hit.score, 4)} for hit in hits]

    @cached_property
    def sentence_vectors(self) -> dict[str, np.ndarray]:
        """Each section's sentences embedded once (rows in sentence order), for the extractive answer."""
        out = {}
        for section in self.sections:
            heading = section.heading
            vectors = self.encoder.encode_documents([f"{heading}: {s}" for s in section.sentences])
            out[section.key] = np.asarray(vectors, dtype=np.float32)
        return out
