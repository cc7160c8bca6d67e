"""The shop's policy documents (markdown in `aisle/assistant/policies/`), split into sections and indexed with
MiniLM in their own Qdrant collection; `PolicyIndex.answer(question)` returns the best sections."""

from __future__ import annotations

import hashlib
import importlib.resources
import re
import uuid
from dataclasses import dataclass
from typing import Any

import numpy as np

from aisle.config import Settings, get_settings
from aisle.encoders.registry import create_encoder
from aisle.index.client import open_engine
from aisle.index.engine import CollectionSpec, Engine, Retrieval, StoredPoint

VECTOR = "text"
_NAMESPACE = uuid.UUID("0b9b3d55-6a0e-4d3b-9f3e-8a41f0c2c7aa")


@dataclass(frozen=True, slots=True)
class PolicySection:
    doc: str  # file stem: shipping, returns, ...
    title: str  # "Returns and refunds / Return window"
    text: str

    @property
    def key(self) -> str:
        return f"{self.doc}#{self.title}"


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
        self._ready = False

    def _fingerprint(self) -> str:
        data = "\n".join(f"{s.key}\n{s.text}" for s in self.sections) + self.encoder.info.space
        return hashlib.sha1(data.encode()).hexdigest()[:16]

    def ensure(self) -> None:
        """Create or refresh the collection when the documents or the encoder changed (cheap otherwise)."""
        if self._ready:
            return
        fingerprint = self._fingerprint()
        if self.engine.exists(self.name):
            if self.engine.metadata(self.name).get("fingerprint") == fingerprint:
                self._ready = True
                return
            self.engine.drop(self.name)
        spec = CollectionSpec(
            dense={VECTOR: self.encoder.info.dim},
            metadata={"fingerprint": fingerprint, "kind": "aisle-policies", "encoder": self.encoder.info.space},
        )
        self.engine.create(self.name, spec)
        vectors = self.encoder.encode_documents([f"{s.title}. {s.text}" for s in self.sections])
        points = [
            StoredPoint(
                id=str(uuid.uuid5(_NAMESPACE, s.key)),
                vectors={VECTOR: np.asarray(vector, dtype=np.float32)},
                payload={"doc": s.doc, "title": s.title, "text": s.text},
            )
            for s, vector in zip(self.sections, vectors, strict=True)
        ]
        self.engine.upsert(self.name, points)
        self.engine.optimize(self.name)
        self._ready = True

    def answer(self, question: str, top_k: int = 2) -> list[dict[str, Any]]:
        """The `top_k` most relevant sections: {"doc", "title", "text", "score"}."""
        self.ensure()
        vector = self.encoder.encode_queries([question])[0]
        hits = self.engine.query(self.name, [Retrieval(VECTOR, np.asarray(vector, dtype=np.float32))], limit=top_k)
        return [{**hit.payload, "score": round(hit.score, 4)} for hit in hits]
