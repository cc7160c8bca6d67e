import math

import pytest

from aisle.catalog import fields as F


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("12.50", 12.5), ("$1,299.00", 1299.0), ("GBP 3", 3.0), (7, 7.0), ("", None), (None, None), (math.nan, None)],
)
def test_prices_parse(raw: object, expected: float | None) -> None:
    assert F.parse_price(raw, 1e6) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("-3.00", "negative_price"),
        ("abc", "invalid_price"),
        ("inf", "invalid_price"),
        ("5e9", "invalid_price"),
        (2e9, "implausible_price"),
        (True, "invalid_price"),
    ],
)
def test_bad_prices_give_a_reason(raw: object, reason: str) -> None:
    with pytest.raises(F.FieldProblem) as problem:
        F.parse_price(raw, 1e6)
    assert problem.value.reason == reason


def test_ratings_stock_and_currency() -> None:
    assert F.parse_rating("4.5") == 4.5
    with pytest.raises(F.FieldProblem):
        F.parse_rating("7")
    assert F.parse_in_stock("Out of stock") is False
    assert F.parse_in_stock("12") is True
    assert F.parse_in_stock("0") is False
    assert F.parse_currency("gbp") == "GBP"
    with pytest.raises(F.FieldProblem):
        F.parse_currency("pounds")


def test_ids_and_paths() -> None:
    assert F.parse_id(15970.0) == "15970"
    assert F.parse_id("  ") is None
    assert F.as_path_parts("Furniture / Chairs > Desk Chairs") == ["Furniture", "Chairs", "Desk Chairs"]
    assert F.as_path_parts(["Apparel", "", "Shirts"]) == ["Apparel", "Shirts"]
