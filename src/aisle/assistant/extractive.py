"""Extractive policy answers: the sentence(s) of the retrieved sections that answer the question, quoted with
their heading path. The facts come verbatim from the policy; no model words them.

A sentence's score is its cosine to the question (MiniLM, the sentence embedded with its heading) plus the
IDF-weighted share of the question's terms it and its heading contain (BM25's stems), less a small prior per
fused retrieval rank, plus bonuses: for the document the question names, for that document's first section
(its general rule), and for negative sentences when the question asks what cannot be done."""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from aisle.assistant.policies import PolicyIndex
from aisle.encoders.sparse import tokenize

SECOND_SECTION_MARGIN = 0.15  # chosen on half the eval's policy questions, confirmed on the other half
MAX_QUOTED = 3  # a longer section is quoted by its best sentences, in the document's order
# per fused rank; this and the bonuses below: chosen on half the eval's policy questions, checked on the other
RANK_PRIOR = 0.05
NEGATION_BONUS = 0.2  # "which items can't be returned": the sentences that say what cannot be
TOPIC_BONUS = 0.2  # for sentences of the document the question names ("return policy", "shipping")
LEAD_BONUS = 0.1  # and for its first section, the general rule ("return policy for shoes": the return window)
GENERAL_BONUS = 2.0  # when the question asks nothing but the document's name ("what is your return policy?")
_YES_NO = re.compile(r"^\s*(can|could|may|do|does|is|are|will|would)\b", re.IGNORECASE)
_ASKING = frozenset(tokenize("what how which when where who tell about"))
_NAMES_POLICY = re.compile(r"\b(returns?|refunds?|shipping|delivery|warranty|privacy|payments?) polic(y|ies)\b", re.I)
_CANNOT = re.compile(r"\b(can't|cannot|can not|not allowed|won't)\b", re.IGNORECASE)  # "which items can't ..."
_NEGATIVE = re.compile(r"\b(not|no(?!-)|never|cannot|can't|don't|doesn't|won't|isn't|aren't|\w+n't)\b", re.IGNORECASE)
# words every policy question shares: they say nothing about which sentence answers it
_TOPIC_WORDS = frozenset(tokenize("can i you your my me we policy shop aisle please"))
# customers' words for what the policy documents name otherwise
_SYNONYMS = (
    (r"\bcod\b|\bcash\b", "cash on delivery"), (r"\bmoney back\b|\breimburse\w*", "refund"),
    (r"\bperfumes?\b|\bscents?\b|\bcolognes?\b|\bdeodorants?\b", "fragrances"),
    (r"\bswim\w*|\bbikinis?\b", "swimwear"), (r"\bunderwear\b|\bbras?\b|\bboxers\b|\blingerie\b", "innerwear"),
    (r"\bmake-?up\b|\blipsticks?\b", "cosmetics"), (r"\bcouriers?\b|\bdelivery partners?\b", "carriers"),
    (r"\babroad\b|\boverseas\b|\binternational\w*|\boutside india\b", "ship internationally"),
    (r"\bsend (it |them )?back\b", "return"), (r"\bdelivery charges?\b|\bpostage\b", "shipping costs"),
    (r"\bpay(ing)? (by|with|using|via|in)\b", "payment methods"), (r"\bpick-?ups?\b", "courier picks the parcel up"),
    (r"\binspect\w*", "quality check"), (r"\bdropped\b|\bcracked\b|\bsmashed\b|\bspilled\b", "accidental damage"),
    (r"\binstal+ments?\b", "EMI"), (r"\bvouchers?\b", "gift cards"),
)  # fmt: skip


def expand(question: str) -> str:
    """The question with the policy documents' own words added for the customers' synonyms."""
    question = question.replace("\u2019", "'")
    added = [words for pattern, words in _SYNONYMS if re.search(pattern, question, re.IGNORECASE)]
    return f"{question} ({', '.join(added)})" if added else question


@dataclass(frozen=True, slots=True)
class Quoted:
    """One section's sentences, quoted, with its heading path."""

    key: str
    title: str
    sentences: list[str]


@dataclass(frozen=True, slots=True)
class Quote:
    """The answer: the quoted section(s), the sentence that answers best, and a yes/no when the question asks one
    and that sentence names what it asks about. A second section is quoted when it scores within
    `SECOND_SECTION_MARGIN` of the best (the question sits between two sections)."""

    parts: list[Quoted]
    best: str
    answer: str | None  # "yes", "no" or None

    def to_json(self) -> dict[str, Any]:
        return {"parts": [{"key": p.key, "title": p.title, "sentences": p.sentences} for p in self.parts],
                "best": self.best, "answer": self.answer}  # fmt: skip


class SentencePicker:
    def __init__(self, index: PolicyIndex) -> None:
        self.index = index

    @cached_property
    def _idf(self) -> dict[str, float]:
        # headings count as text: "how to return" is said by a heading, never by a sentence
        sentences = [s for section in self.index.sections for s in [*section.sentences, section.heading]]
        counts = Counter(stem for s in sentences for stem in set(tokenize(s)))
        return {stem: math.log(1 + len(sentences) / n) for stem, n in counts.items()}

    def _lexical(self, question_stems: set[str], text: str) -> float:
        weight = {s: self._idf[s] for s in question_stems if s in self._idf}  # words the policies never use: none
        if not weight:
            return 0.0
        present = set(tokenize(text))
        return sum(w for s, w in weight.items() if s in present) / sum(weight.values())

    def pick(self, question: str, sections: list[dict[str, Any]]) -> Quote | None:
        """The best sentence(s) among `sections` (as `PolicyIndex.answer` returns them, best first)."""
        scored = self.rank(question, sections)
        if not scored:
            return None
        best_score, key, position = scored[0]
        keys = [key]
        close = next((k for score, k, _ in scored if k != key and score >= best_score - SECOND_SECTION_MARGIN), None)
        if close is not None:
            keys.append(close)
        parts = [self._quoted(k, scored) for k in keys]
        best = self.index.by_key[key].sentences[position]
        return Quote(parts, best, _yes_no(expand(question), best, _stems(question)))

    def _quoted(self, key: str, scored: list[tuple[float, str, int]]) -> Quoted:
        section = self.index.by_key[key]
        if len(section.sentences) <= MAX_QUOTED:  # sections are short: the whole rule, with its conditions
            return Quoted(key, section.title, section.sentences)
        ranked = [p for _, k, p in scored if k == key][:MAX_QUOTED]
        return Quoted(key, section.title, [section.sentences[i] for i in sorted(ranked)])

    def rank(self, question: str, sections: list[dict[str, Any]]) -> list[tuple[float, str, int]]:
        """(score, section key, sentence position) for every sentence of `sections` and of the lead sections of the
        documents the question names, best first."""
        stems = _stems(question)
        question = expand(question)
        negative = bool(_CANNOT.search(question))
        topics = {s.doc for s in self.index.sections if set(tokenize(s.doc_title)) & stems}
        if topics and _NAMES_POLICY.search(question):  # "return policy for shoes": the returns document never
            question, stems = self._within(question, stems, topics)  # names shoes, so shoes cannot help
        query = self.index.query_vector(question)
        leads = {doc: next(s for s in self.index.sections if s.doc == doc) for doc in topics}
        titles = {stem for s in self.index.sections if s.doc in topics for stem in tokenize(s.doc_title)}
        general = bool(topics) and not stems - titles - _ASKING  # "what is your return policy?": its general rule
        lead_bonus = GENERAL_BONUS if general else LEAD_BONUS
        fused = {str(hit.get("key")): float(hit.get("score", 0.0)) for hit in sections}
        keys = [*fused, *(lead.key for lead in leads.values() if lead.key not in fused)]
        scored: list[tuple[float, str, int]] = []
        for key in keys:
            # sections that tie in the fusion (RRF often ties) share a rank, so the engine's tie order decides nothing
            rank = sum(score > fused[key] for score in fused.values()) if key in fused else len(fused)
            section = self.index.by_key.get(key)
            if section is None:
                continue
            vectors = self.index.sentence_vectors[section.key]
            cosines = vectors @ query
            heading = section.heading
            for position, sentence in enumerate(section.sentences):
                lexical = self._lexical(stems, f"{heading}. {sentence}")
                score = float(cosines[position]) + lexical - RANK_PRIOR * rank
                score += NEGATION_BONUS * (negative and bool(_NEGATIVE.search(sentence)))
                score += TOPIC_BONUS * (section.doc in topics) + lead_bonus * (leads.get(section.doc) is section)
                scored.append((score, section.key, position))
        scored.sort(key=lambda s: (-s[0], s[1], s[2]))
        return scored

    def _within(self, question: str, stems: set[str], docs: set[str]) -> tuple[str, set[str]]:
        """The question without the words the named documents never use (the rule there is the general one)."""
        vocabulary = {stem for s in self.index.sections if s.doc in docs for stem in tokenize(f"{s.title} {s.text}")}
        known = vocabulary | _TOPIC_WORDS
        kept = [w for w in re.findall(r"[\w'-]+", question) if not (t := tokenize(w)) or t[0] in known]
        reduced = " ".join(kept)
        return (reduced, stems & vocabulary) if stems & vocabulary else (question, stems)


def _stems(question: str) -> set[str]:
    expanded = set(tokenize(expand(question)))
    return expanded - _TOPIC_WORDS or expanded


def _yes_no(question: str, sentence: str, stems: set[str]) -> str | None:
    """\"no\" when a yes/no question's own subject is named in a negative sentence, "yes" in a positive one."""
    if not _YES_NO.search(question) or re.search(r"\d", question):
        return None  # a number in the question ("COD for 15000?") needs a comparison this rule does not make
    subject = stems - set(tokenize("ship deliver pay refund warranty cover available accept take offer"))
    if not subject or not subject & set(tokenize(sentence)):
        return None
    return "no" if _NEGATIVE.search(sentence) else "yes"
