"""The scorer's lexical features (stemmed query-term coverage, whole-phrase match, title length) and the
feature columns a stored scorer names."""

from __future__ import annotations

import numpy as np
import pytest

from aisle.rerank.features import FEATURES, LinearScorer, columns_for, feature_matrix
from aisle.rerank.text_match import LEXICAL_FEATURES, lexical_features

HITS = [
    {"id": "a", "title": "Red Running Shoes for Women", "description": "Light mesh trainers."},
    {"id": "b", "title": "Shoe rack, red", "description": "Holds running shoes."},
    {"id": "c", "title": "Blue mug", "description": ""},
    {"id": "d", "title": None, "description": None},
]


def _column(name: str) -> int:
    return LEXICAL_FEATURES.index(name)


def test_coverage_counts_stemmed_query_terms_in_title_and_description() -> None:
    x = lexical_features("red running shoes", HITS)
    assert x.shape == (4, len(LEXICAL_FEATURES))
    np.testing.assert_allclose(x[:, _column("title_coverage")], [1.0, 2 / 3, 0.0, 0.0])  # "Shoe" stems to "shoe"
    np.testing.assert_allclose(x[:, _column("description_coverage")], [0.0, 2 / 3, 0.0, 0.0])
    np.testing.assert_array_equal(x[:, _column("title_has_all")], [1.0, 0.0, 0.0, 0.0])


def test_phrase_needs_the_words_in_order_and_adjacent() -> None:
    x = lexical_features("Red-Running shoes", HITS)  # punctuation and case do not matter
    np.testing.assert_array_equal(x[:, _column("title_has_phrase")], [1.0, 0.0, 0.0, 0.0])
    assert lexical_features("running red", HITS)[0, _column("title_has_phrase")] == 0.0
    assert lexical_features("red run", HITS)[0, _column("title_has_phrase")] == 0.0  # whole words only


def test_title_terms_and_a_query_of_stop_words() -> None:
    x = lexical_features("the of", HITS)  # no terms left: nothing is covered, nothing breaks
    assert not x[:, :4].any()
    np.testing.assert_array_equal(x[:, _column("title_terms")], [4, 3, 2, 0])  # "for" is a stop word


def test_feature_matrix_columns_follow_features_and_old_scorers_pick_theirs() -> None:
    hits = [{**h, "scores": {"bm25": 2.0, "text": 0.5}} for h in HITS]
    x = feature_matrix("red running shoes", hits, np.arange(4.0))
    assert x.shape == (4, len(FEATURES))
    np.testing.assert_array_equal(x[:, FEATURES.index("cross_encoder")], np.arange(4.0))
    np.testing.assert_allclose(x[:, FEATURES.index("inv_rank")], [1, 1 / 2, 1 / 3, 1 / 4])
    old = ("cross_encoder", "bm25", "text", "image", "inv_rank")  # a ranker trained before the lexical features
    assert [FEATURES[i] for i in columns_for(old)] == list(old)
    scorer = LinearScorer(old, (0.0,) * 5, (1.0,) * 5, (1.0, 0.0, 0.0, 0.0, 0.0))
    np.testing.assert_allclose(scorer.score(x[:, columns_for(old)]), np.arange(4.0))
    with pytest.raises(ValueError, match="unknown"):
        columns_for(("cross_encoder", "colour_match"))
