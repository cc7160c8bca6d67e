"""Calibrate the faithfulness check's two thresholds (lexical support, MiniLM cosine) on labelled claims built
from the policy documents themselves, and print its errors at each setting.

    python -m benchmarks.faithfulness [--lexical 0.6 0.7 0.8 0.9] [--cosine 0.8 0.84 0.86 0.9 0.95]

Supported claims: every policy sentence as written, with its heading, and cut at its first comma or semicolon.
Rewordings written by hand (PARAPHRASES), half true, half false: the only claims the cosine test decides.
Unsupported claims, made from the same sentences: a number changed, the polarity flipped ("not" added or
taken out), the subject of one sentence joined to the rest of another (two true halves, one false whole), and
the replies the assistant was caught giving (issue 23). Each claim is checked against the section it came from
plus one more section of the same document, as the assistant's tools return them.
A setting is usable when it accepts no unsupported claim; among those, the one that rejects fewest supported.
"""

from __future__ import annotations

import argparse
import re
from typing import Any

from aisle.assistant.faithfulness import FaithfulnessChecker
from aisle.assistant.policies import PolicySection, load_sections

CAUGHT = (
    ("Items that cannot be returned", "if you're unable to return a shoe due to a lack of funds or a specific item, "
     "you can simply refund the purchase"),
    ("How we use it", "According to our policy, I do not sell laptops."),
    ("Refunds", "You can return most items within 30 days of delivery, and refunds take 30 days."),
)  # fmt: skip


# written by hand: (section, claim, supported?) - rewordings that share few words with their source
PARAPHRASES = (
    ("Refunds", "Your money is returned to the card or account you paid with in 5 to 7 business days.", True),
    ("Refunds", "Your money is returned to the card you paid with in 2 business days.", False),
    ("Delivery times", "Standard shipping arrives in 3 to 5 business days.", True),
    ("Delivery times", "Standard shipping arrives the next day.", False),
    ("Where we ship", "Deliveries outside India are not possible yet.", True),
    ("Where we ship", "We deliver worldwide.", False),
    ("Accepted payment methods", "Cash on delivery works for orders up to 10,000 INR.", True),
    ("Accepted payment methods", "Cash on delivery works for any order value.", False),
    ("EMI and gift cards", "Gift cards do not expire.", True),
    ("EMI and gift cards", "Gift cards expire after a year.", False),
    ("What the warranty covers", "Accidental damage is not covered.", True),
    ("What the warranty covers", "Accidental damage is covered.", False),
    ("Exchanges", "Swapping for another size costs nothing within the return window.", True),
    ("Exchanges", "Swapping for another size costs 49 INR.", False),
    ("Your rights", "You may ask us to delete your data at any time.", True),
    ("Your rights", "Your data can never be deleted.", False),
)


def _call(*sections: PolicySection) -> dict[str, Any]:
    result = {"sections": [s.payload() for s in sections]}
    return {"name": "policy_answer", "args": {}, "result": result}


def _number_changed(sentence: str) -> str | None:
    match = re.search(r"\d+", sentence)
    if match is None:
        return None
    value = int(match.group()) + (1 if int(match.group()) < 5 else 10)
    return sentence[: match.start()] + str(value) + sentence[match.end() :]


def _polarity_flipped(sentence: str) -> str | None:
    for negative, positive in ((" cannot ", " can "), (" do not ", " do "), (" never ", " always "),
                               (" does not ", " does "), (" no ", " a ")):  # fmt: skip
        if negative in sentence:
            return sentence.replace(negative, positive, 1)
    for verb in (" is ", " are ", " can ", " carry ", " takes "):
        if verb in sentence:
            return sentence.replace(verb, f"{verb.rstrip()} not ", 1)
    return None


def labelled() -> list[tuple[str, dict[str, Any], bool]]:
    """(claim, tool call, supported?) for every sentence of every section."""
    sections = load_sections()
    by_heading = {s.heading: s for s in sections}
    out: list[tuple[str, dict[str, Any], bool]] = []
    for n, section in enumerate(sections):
        sibling = next((s for s in sections if s.doc == section.doc and s is not section), section)
        call = _call(section, sibling)
        other = sections[(n + 7) % len(sections)]
        for sentence in section.sentences:
            out.append((sentence, call, True))
            out.append((f"{section.title}: {sentence}", call, True))
            head = re.split(r"[,;]\s", sentence)[0].rstrip(".") + "."
            if len(head.split()) >= 4:
                out.append((head, call, True))
            for changed in (_number_changed(sentence), _polarity_flipped(sentence)):
                if changed and changed != sentence:
                    out.append((changed, call, False))
            subject = " ".join(sentence.split()[:4])
            rest = " ".join(other.sentences[0].split()[4:])
            if rest:
                out.append((f"{subject} {rest}", call, False))
    for heading, reply in CAUGHT:
        out.append((reply, _call(by_heading[heading]), False))
    for heading, claim, supported in PARAPHRASES:
        out.append((claim, _call(by_heading[heading]), supported))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lexical", type=float, nargs="+", default=[0.6, 0.7, 0.8, 0.9])
    parser.add_argument("--cosine", type=float, nargs="+", default=[0.8, 0.84, 0.86, 0.9, 0.95, 1.01])
    parser.add_argument("--show", action="store_true", help="Print each claim the check gets wrong.")
    args = parser.parse_args()
    from aisle.encoders.registry import create_encoder

    encoder = create_encoder("minilm")
    claims = labelled()
    supported = sum(ok for _, _, ok in claims)
    print(f"{len(claims)} claims: {supported} supported, {len(claims) - supported} unsupported")  # noqa: T201
    print("lexical  cosine  unsupported accepted  supported rejected")  # noqa: T201
    for lexical in args.lexical:
        for cosine in args.cosine:
            checker = FaithfulnessChecker(encoder, lexical=lexical, cosine=cosine)
            accepted = rejected = 0
            for claim, call, ok in claims:
                verdict = checker.check(claim, [call], "a question")
                accepted += verdict.ok and not ok
                rejected += ok and not verdict.ok
                if args.show and verdict.ok != ok:
                    print(f"  {'accepted' if verdict.ok else 'rejected'}: {claim}")  # noqa: T201
            print(f"{lexical:7.2f} {cosine:7.2f} {accepted:21d} {rejected:19d}")  # noqa: T201


if __name__ == "__main__":
    main()
