"""Graded relevance judgments that some catalogue sources carry (CrowdFlower, WANDS, ESCI), for `eval`."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Judgment:
    query_id: str
    query: str
    product_id: str
    grade: int  # 0 = irrelevant; higher is better; the scale is the data set's


def query_id_for(query: str) -> str:
    """A stable id for a data set whose queries have none."""
    return "q-" + hashlib.sha1(query.strip().lower().encode()).hexdigest()[:10]
