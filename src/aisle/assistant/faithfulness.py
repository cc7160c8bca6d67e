"""The faithfulness check run on every reply: each factual claim must be supported by this turn's tool output.

Claims are found by rules, not by asking a model:
- exact values (prices, counts, order ids and states, stock, brands): `guard.check`; product names of three or
  more capitalised words must stand in the tool results as written, and "the second is X" must name the second
  product listed;
- numbers with their units ("5 to 7 business days", "149 INR", "12 months"): the same number and unit must
  stand in the source sentence that supports the reply's sentence, not merely somewhere in the tool output;
- every other sentence that says something (its content words are not all chat words: "here is what I found"
  says nothing): a source sentence must support it (or each of its clauses), lexically (the share of its content
  stems found in one source sentence) or by MiniLM cosine, with its numbers in that sentence and the same
  polarity clause by clause; a leading "Yes."/"No." must agree with the sentence it answers. Thresholds:
  `benchmarks/faithfulness.py` calibrates them.

The sources are the tool results as sentences (the rendered product and order lines, the policy sections'
sentences), plus the customer's own message."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from aisle.assistant import render
from aisle.assistant.guard import COMMON_WORDS, Evidence, check
from aisle.assistant.policies import split_sentences
from aisle.encoders.sparse import tokenize

# share of a claim's content stems that one source sentence must hold, or else the MiniLM cosine between the two:
# `python -m benchmarks.faithfulness` (210 labelled claims) accepts no unsupported claim at 0.7 / 0.86 and rejects
# 3 of 120 supported ones; at 0.6 it accepts 3 unsupported, below 0.86 cosine it accepts "Gift cards expire".
LEXICAL_SUPPORT = 0.7
COSINE_SUPPORT = 0.86
_CHAT = """here is are what found find i we you your our it this that these those there sure happy glad help
    great good let me know anything else can could would like see look options option pick picks top following
    policy policies says say said according answer question information info detail details quote quoted source
    yes no hello hi thanks thank sorry shop aisle store also just below above result results show shown item items
    products product one two three four five first second third side by from"""
CHAT_STEMS = frozenset(tokenize(_CHAT))
_NEGATION = re.compile(r"\b(not|no(?!-)|never|cannot|none|nothing|without|\w+n't)\b", re.IGNORECASE)  # not "no-cost"
_UNIT = (r"business days?|days?|weeks?|months?|years?|hours?|minutes?|inr|rs\.?|rupees|₹|%|percent|pm|am|"
         r"gbp|usd|eur|pounds|dollars|euros")  # fmt: skip
_NUMBER_WITH_UNIT = re.compile(
    rf"(?:(?:₹|rs\.?|inr)\s*)?\d[\d,]*(?:\.\d+)?(?:\s*(?:to|-|–|or)\s*\d[\d,]*(?:\.\d+)?)?\s*(?:{_UNIT})\b",
    re.IGNORECASE,
)
_NAME_RUN = re.compile(r"\b[A-Z0-9][\w'&.-]*(?:[ \t]+[A-Z0-9][\w'&.-]*){2,}")
_ORDINALS = {"top pick": 1, "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5}
_ORDINAL_CLAIM = re.compile(
    r"\b(top pick|first|second|third|fourth|fifth|last)(?: one| pick| option)? (?:is|was) (?:the )?"
    r"([A-Z0-9][^,;.!?\n]*?)(?=[,;.!?\n]| and |$)",
    re.IGNORECASE,
)
_LISTING_TOOLS = ("search_products", "recommend_for_me", "compare_products")
_YES_NO = re.compile(r"\s*(yes|no)\b(?!-)[.,!:]?\s*", re.IGNORECASE)
_CLAUSE = re.compile(r"[,;:]\s+|\s+(?:and|but|while|whereas)\s+", re.IGNORECASE)
_LIST_MARKER = re.compile(r"^\s*(?:\d+[.)]|[-*•])\s+")
_QUOTES = re.compile(r"[\"“”]")


@dataclass(frozen=True, slots=True)
class Verdict:
    """`ok` when every claim found is supported; `problems` say which were not; `claims` counts those checked."""

    ok: bool
    problems: list[str] = field(default_factory=list)
    claims: int = 0


def _norm(text: str) -> str:
    return " ".join(_QUOTES.sub("", text).lower().replace("\u2019", "'").split())


def unit_claims(text: str) -> set[str]:
    """The numbers with units in `text`, normalised ("5 to 7 business days", "149 inr")."""
    out = set()
    for match in _NUMBER_WITH_UNIT.finditer(text):
        value = _norm(match.group()).replace(",", "").replace("–", "to").replace(" - ", " to ")
        out.add(re.sub(r"\bdays?\b", "days", value))
    return out


def _numbers(text: str) -> set[str]:
    return {n.replace(",", "") for n in re.findall(r"\d[\d,]*(?:\.\d+)?", text)}


def source_sentences(calls: Sequence[dict[str, Any]], message: str = "") -> list[str]:
    """What this turn's tools said, as sentences: rendered fact lines and whole policy sentences."""
    out: list[str] = []
    for call in calls:
        result = call["result"]
        if call["name"] == "policy_answer":
            for section in result.get("sections", []):
                out.append(section["title"])
                for sentence in split_sentences(section["text"]):
                    out += [sentence, f"{section['title']}: {sentence}"]  # a quote may carry its heading
        else:
            for line in render.facts(call):
                out.extend(split_sentences(line) or [line])
                out.append(line)
        for note in result.get("notes", []) or []:
            out.append(str(note))
    out.extend(split_sentences(message))
    return [s for s in dict.fromkeys(out) if s.strip()]


def reply_sentences(reply: str) -> list[str]:
    """The reply's sentences; a bare "Yes." or "No." joins the sentence it answers with (it is part of its claim)."""
    out: list[str] = []
    for line in reply.splitlines():
        line = _LIST_MARKER.sub("", line).strip()
        if line:
            out.extend(split_sentences(line) or [line])
    joined: list[str] = []
    for sentence in out:
        if joined and _YES_NO.fullmatch(joined[-1]):
            joined[-1] = f"{joined[-1]} {sentence}"
        else:
            joined.append(sentence)
    return joined


def polarity(sentence: str) -> bool | None:
    """True when the sentence is negative, False when positive, None when a leading "Yes."/"No." contradicts the
    rest ("Yes. Swimwear cannot be returned."): no source supports that."""
    answer = _YES_NO.match(sentence)
    body = sentence[answer.end() :] if answer else sentence
    body_negative = bool(_NEGATION.search(body))
    if answer and (answer.group(1).lower() == "no") != body_negative:
        return None
    return body_negative


def same_polarity(sentence: str, source: str) -> bool:
    """Each clause of the sentence says yes where its source says yes, and no where it says no: its polarity is
    that of the source clause it shares most words with, or of the whole source sentence. Clause by clause,
    because "we always store card numbers and will never ask for your CVV" has a "never" like its source."""
    if polarity(sentence) is None:
        return False
    answer = _YES_NO.match(sentence)
    body = sentence[answer.end() :] if answer else sentence
    source_negative = bool(_NEGATION.search(source))
    source_clauses = [c for c in _CLAUSE.split(source) if c.strip()] or [source]
    for clause in _CLAUSE.split(body):
        stems = _content_stems(clause)
        if not stems:
            continue
        negative = bool(_NEGATION.search(clause))
        closest = max(source_clauses, key=lambda c: len(stems & _content_stems(c)))
        if negative != bool(_NEGATION.search(closest)) and negative != source_negative:
            return False
    return True


class FaithfulnessChecker:
    """Checks a reply against the tool calls of its turn. `encoder` (MiniLM) is optional: without it only the
    lexical test can support a sentence, which is stricter, never looser."""

    def __init__(self, encoder: Any = None, brands: Iterable[str] = (), *, lexical: float = LEXICAL_SUPPORT,
                 cosine: float = COSINE_SUPPORT) -> None:  # fmt: skip
        self.encoder = encoder
        self.brands = list(brands)
        self.lexical, self.cosine = lexical, cosine

    def check(self, reply: str, calls: Sequence[dict[str, Any]], message: str = "") -> Verdict:
        evidence = Evidence.of([c["result"] for c in calls], message)
        sources = source_sentences(calls, message)
        source_text = evidence.text + "\n" + "\n".join(_norm(s) for s in sources)
        said = reply_sentences(reply)
        problems = list(check(reply, evidence, self.brands).problems) + name_problems(said, reply, calls, source_text)
        normalised = [_norm(s) for s in sources]
        claims = 0
        pending: list[tuple[str, set[str]]] = []
        for sentence in said:
            if not has_claim(sentence):
                continue
            claims += 1
            wanted = _norm(sentence)
            if not any(wanted in source for source in normalised):  # else: a tool output's words, verbatim
                pending.append((sentence, _content_stems(sentence)))
        if pending:
            problems += self._support(pending, sources)
        return Verdict(not problems, list(dict.fromkeys(problems)), claims)

    def _support(self, pending: list[tuple[str, set[str]]], sources: list[str]) -> list[str]:
        """Problems for the sentences no source supports: lexically first (the sentence, or else each of its
        clauses: "the top pick is A, and the second is B" draws on two product lines), then by cosine."""
        pairs = [(source, _content_stems(source)) for source in sources]

        def lexical(text: str) -> bool:
            stems = _content_stems(text)
            return any(self._supports(text, stems, *pair, None) for pair in pairs)

        left, problems = [], []
        for sentence, stems in pending:
            if polarity(sentence) is None:
                problems.append(f"contradicts itself: {sentence!r}")
                continue
            clauses = [c for c in _CLAUSE.split(sentence) if has_claim(c)]
            if not lexical(sentence) and not (len(clauses) > 1 and all(lexical(c) for c in clauses)):
                left.append((sentence, stems))
        cosines = self._cosines([s for s, _ in left], sources) if left else None
        for row, (sentence, stems) in enumerate(left):
            if cosines is None or not any(
                self._supports(sentence, stems, *pair, float(cosines[row, col])) for col, pair in enumerate(pairs)
            ):
                problems.append(f"unsupported claim: {sentence!r}")
        return problems

    def _supports(self, sentence: str, stems: set[str], source: str, source_stems: set[str],
                  cosine: float | None) -> bool:  # fmt: skip
        lexical = len(stems & source_stems) / len(stems) if stems else 1.0
        if lexical < self.lexical and (cosine is None or cosine < self.cosine):
            return False
        if not same_polarity(sentence, source):
            return False
        if not unit_claims(sentence) <= unit_claims(source):
            return False
        return _needs_source(sentence) <= _numbers(source)

    def _cosines(self, sentences: list[str], sources: list[str]) -> np.ndarray | None:
        if self.encoder is None or not sources:
            return None
        vectors = np.asarray(self.encoder.encode_documents([*sentences, *sources]), dtype=np.float32)
        return vectors[: len(sentences)] @ vectors[len(sentences) :].T


def name_problems(sentences: list[str], reply: str, calls: Sequence[dict[str, Any]], evidence_text: str) -> list[str]:
    """Product names are exact values: a run of three or more capitalised words in the reply's `sentences` (list
    markers gone) must stand in the tool results as written, and "the second is X" must name the second product
    listed."""
    problems = []
    runs = [m for sentence in sentences for m in _NAME_RUN.finditer(sentence)]
    for match in runs:
        words = match.group().rstrip(".'&-").split()
        while words and words[0].rstrip(".,:") in COMMON_WORDS:  # "The Roadster ...": not part of the name
            words.pop(0)
        name = " ".join(words)
        if len(words) >= 3 and _norm(name) not in evidence_text:
            problems.append(f"name {name!r} is not in the tool results")
    listed = next((c["result"].get("products") or [] for c in calls if c["name"] in _LISTING_TOOLS), [])
    for match in _ORDINAL_CLAIM.finditer(reply):
        word = match.group(1).lower()
        position = len(listed) if word == "last" else _ORDINALS[word]
        if not listed or position > len(listed):
            continue
        named, title = _norm(match.group(2)), _norm(str(listed[position - 1].get("title", "")))
        if named not in title and title not in named:
            problems.append(f"the {word} listed is {listed[position - 1].get('title')!r}, not {match.group(2)!r}")
    return problems


def has_claim(text: str) -> bool:
    """Whether the text says something: content words, a negation or a number with a unit."""
    return bool(_content_stems(text)) or bool(_NEGATION.search(text)) or bool(unit_claims(text))


def _content_stems(sentence: str) -> set[str]:
    """The stems that say something; numbers are left to the exact-value checks."""
    return {s for s in tokenize(sentence) if s not in CHAT_STEMS and not s.isdigit()}


def _needs_source(sentence: str) -> set[str]:
    """The numbers a supporting sentence must hold: all, but counts of at most 10 outside a unit ("I found 5
    options": the guard checks those against the results)."""
    in_units = {n for claim in unit_claims(sentence) for n in _numbers(claim)}
    return {n for n in _numbers(sentence) if n in in_units or not (n.isdigit() and int(n) <= 10)}
