"""Intent classification for the router: logistic regression on the offline MiniLM embeddings of a labelled
utterance set (`data/utterances.json`), with a few rules that must not depend on a statistical model
(abuse, attempts to override instructions or to read other customers' data)."""

from __future__ import annotations

import hashlib
import importlib.resources
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from aisle.assistant.redact import get_logger
from aisle.files import atomic_write

log = get_logger(__name__)
INTENTS = (
    "search_products", "product_details", "compare_products", "recommend_for_me", "order_status", "start_return",
    "policy_answer", "greeting", "off_topic", "abusive",
)  # fmt: skip
_ABUSE = re.compile(
    r"\b(stupid|idiot|moron|dumb|useless|worthless|pathetic|shut up|suck|hell|screw you|hate you|f+u+c+k\w*|sh[i1]t\w*|"
    r"bastard|crap)\b",
    re.IGNORECASE,
)
_OVERRIDE = re.compile(
    r"\b(ignore|disregard|forget)\b.{0,40}\b(instructions|rules|prompt|guidelines)\b|\bsystem prompt\b|"
    r"\b(all|every|other)\s+(customers?'?s?|users?'?s?)\b|\ball\s+(the\s+)?orders\b|\bpretend (you are|to be)\b|"
    r"\bdeveloper mode\b|\bjailbreak\b",
    re.IGNORECASE,
)


def load_utterances() -> list[tuple[str, str]]:
    raw = (importlib.resources.files("aisle.assistant") / "data" / "utterances.json").read_text(encoding="utf-8")
    data = json.loads(raw)
    unknown = set(data) - set(INTENTS)
    if unknown:
        raise ValueError(f"utterances.json has unknown intents: {sorted(unknown)}")
    return [(text, intent) for intent, texts in data.items() for text in texts]


@dataclass(frozen=True, slots=True)
class Prediction:
    intent: str
    confidence: float
    rule: str | None = None


class IntentClassifier:
    """Multinomial logistic regression over normalised MiniLM sentence embeddings."""

    def __init__(self, encoder: Any, coef: np.ndarray, intercept: np.ndarray, classes: list[str]) -> None:
        self.encoder = encoder
        self.coef, self.intercept, self.classes = coef, intercept, classes

    @classmethod
    def train(cls, encoder: Any, utterances: list[tuple[str, str]] | None = None, c: float = 10.0) -> IntentClassifier:
        from sklearn.linear_model import LogisticRegression

        utterances = utterances or load_utterances()
        x = np.asarray(encoder.encode_documents([t for t, _ in utterances]), dtype=np.float32)
        y = [label for _, label in utterances]
        model = LogisticRegression(C=c, max_iter=2000)
        model.fit(x, y)
        return cls(encoder, model.coef_.astype(np.float32), model.intercept_.astype(np.float32), list(model.classes_))

    @classmethod
    def load_or_train(cls, encoder: Any, models_dir: Path) -> IntentClassifier:
        """The classifier cached under AISLE_HOME/models, retrained when the utterances or the encoder change."""
        utterances = load_utterances()
        key = hashlib.sha1((json.dumps(utterances) + encoder.info.space).encode()).hexdigest()[:12]
        path = models_dir / f"assistant-intents-{key}.npz"
        if path.exists():
            stored = np.load(path)
            return cls(encoder, stored["coef"], stored["intercept"], [str(c) for c in stored["classes"]])
        log.info("training the intent classifier on %d utterances", len(utterances))
        trained = cls.train(encoder, utterances)

        def write(tmp: Path) -> None:
            with tmp.open("wb") as handle:  # a file object: np.savez would append `.npz` to a name
                np.savez(handle, coef=trained.coef, intercept=trained.intercept, classes=np.array(trained.classes))

        atomic_write(path, write)
        return trained

    def probabilities(self, text: str) -> dict[str, float]:
        x = np.asarray(self.encoder.encode_queries([text]), dtype=np.float32)[0]
        logits = self.coef @ x + self.intercept
        p = np.exp(logits - logits.max())
        p /= p.sum()
        return {c: float(v) for c, v in zip(self.classes, p, strict=True)}

    def predict(self, text: str) -> Prediction:
        """Rules first (abuse, instruction overrides and bulk data requests), then the model."""
        if _ABUSE.search(text):
            return Prediction("abusive", 1.0, rule="abuse")
        if _OVERRIDE.search(text):
            return Prediction("off_topic", 1.0, rule="override")
        probs = self.probabilities(text)
        best = max(probs, key=probs.__getitem__)
        return Prediction(best, probs[best])
