"""The taste profile (attribute lift), the learnt blend table and the reasons a personal hit gives."""

from __future__ import annotations

from pathlib import Path

import pytest

from aisle.personal.blend import DEFAULT_TABLE, BlendTable, BlendWeights, history_bucket, query_kind
from aisle.personal.reasons import reason
from aisle.personal.taste import TasteProfile, describe, field_values
from aisle.types import EventType

WOMEN_SHOES = {"gender": "Women", "article_type": "Heels", "brand": "Acme"}
MEN_SHOES = {"gender": "Men", "article_type": "Casual Shoes", "brand": "Zenith"}


def test_lift_prefers_what_the_history_holds_over_what_the_pool_offers() -> None:
    profile = TasteProfile.build([WOMEN_SHOES] * 4 + [MEN_SHOES], [1.0] * 5)
    candidates = [MEN_SHOES, WOMEN_SHOES, {**MEN_SHOES, "gender": "Women"}]
    lifts = profile.lifts(candidates)
    assert lifts[1] > lifts[2] > lifts[0]


def test_a_field_every_candidate_shares_or_the_query_fixed_moves_nothing() -> None:
    profile = TasteProfile.build([WOMEN_SHOES] * 3, [1.0] * 3)
    same_gender = [{**WOMEN_SHOES, "article_type": "Flats"}, WOMEN_SHOES]
    assert profile.lifts(same_gender, skip=("article_type", "brand")).tolist() == [0.0, 0.0]
    assert profile.lifts([MEN_SHOES, WOMEN_SHOES], skip=("gender", "article_type", "brand")).tolist() == [0.0, 0.0]
    assert TasteProfile.build([], []).lifts([WOMEN_SHOES]).tolist() == [0.0]


def test_field_values_read_top_level_payload_and_nested_attributes() -> None:
    assert field_values(
        {"gender": "Men", "attributes": {"colour": "Red"}, "price": 3}, ("gender", "colour", "price")
    ) == {
        "gender": "Men",
        "colour": "Red",
    }


def test_blend_cells_by_history_length_and_query_specificity(tmp_path: Path) -> None:
    assert [history_bucket(n) for n in (0, 1, 4, 5, 20, 21, 400)] == ["0", "1-4", "1-4", "5-20", "5-20", "21+", "21+"]
    assert [query_kind(n) for n in (0, 1, 2, 3, 7)] == ["ambiguous", "ambiguous", "partly", "specified", "specified"]
    table = BlendTable({"5-20|ambiguous": BlendWeights(0.5, 8.0)}, source="test", extra={"n": 3})
    assert table.weights(7, 1) == BlendWeights(0.5, 8.0)
    assert table.weights(0, 1) == BlendWeights(0.0, 0.0)  # no history: nothing moves
    assert table.weights(7, 3) == BlendWeights(0.0, 0.0)  # a cell the table lacks moves nothing
    again = BlendTable.load(table.save(tmp_path / "blend.json"))
    assert again == table
    assert len(DEFAULT_TABLE.cells) == 9 and DEFAULT_TABLE.weights(0, 1) == BlendWeights(0.0, 0.0)


def test_reason_counts_the_events_that_share_the_hits_gender_and_category() -> None:
    history = [(EventType.PURCHASE, WOMEN_SHOES), (EventType.VIEW, WOMEN_SHOES), (EventType.CLICK, WOMEN_SHOES),
               (EventType.VIEW, MEN_SHOES)]  # fmt: skip
    assert reason({**WOMEN_SHOES, "brand": "Other"}, history) == "because you bought 1 and looked at 2 women's heels"
    assert reason(MEN_SHOES, history) is None  # one men's event is no reason
    said = reason(WOMEN_SHOES, history, skip=("gender", "article_type"))  # "women's heels": what moved it is the brand
    assert said == "because you bought 1 and looked at 2 women's acme heels"
    assert reason(WOMEN_SHOES, history, skip=("gender", "article_type", "brand")) is None


@pytest.mark.parametrize(
    ("values", "said"),
    [({"gender": "Men", "article_type": "Watches"}, "men's watches"), ({"colour": "Navy Blue"}, "navy blue")],
)
def test_describe_reads_as_a_shopper_would(values: dict[str, str], said: str) -> None:
    assert describe(values, ("gender", "colour", "article_type")) == said
