"""`aisle ingest` into Qdrant and `aisle search` with the JSON contract, single and --batch."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aisle.cli.main import app

runner = CliRunner()


@pytest.fixture
def shop(tmp_path: Path, isolated_home: Path) -> str:
    source = tmp_path / "shop.csv"
    source.write_text(
        "id,title,description,price,colour\n"
        "1,Blue Denim Jacket,Classic fit denim,59.90,Blue\n"
        "2,Red Running Shoes,Light mesh upper,89.00,Red\n"
        "3,Leather Belt,Brown leather,25.00,Brown\n"
        "4,Wool Scarf,Warm and soft,19.50,Grey\n"
    )
    result = runner.invoke(app, ["ingest", str(source), "--collection", "shop"])
    assert result.exit_code == 0, result.output
    assert "4 embedded" in result.output
    return "shop"


def test_search_json_contract(shop: str) -> None:
    result = runner.invoke(app, ["search", "running shoes", "--json", "--collection", shop, "--top-k", "2"])
    assert result.exit_code == 0, result.output
    response = json.loads(result.output)
    assert response["query"] == "running shoes"
    assert response["results"][0]["id"] == "2" and response["results"][0]["title"] == "Red Running Shoes"
    assert len(response["results"]) == 2
    assert {"total", "retrieve", "encode_text", "encode_sparse"} <= set(response["timings_ms"])


def test_search_filters_and_modes(shop: str) -> None:
    result = runner.invoke(
        app, ["search", "jacket", "--json", "--collection", shop, "--filter", "colour=Red", "--mode", "bm25"]
    )
    assert result.exit_code == 0, result.output
    assert [h["id"] for h in json.loads(result.output)["results"]] == []
    result = runner.invoke(app, ["search", "warm", "--json", "--collection", shop, "--filter", "price=..30"])
    assert {h["id"] for h in json.loads(result.output)["results"]} <= {"3", "4"}


def test_batch_answers_every_line_and_survives_bad_ones(shop: str, tmp_path: Path) -> None:
    batch = tmp_path / "queries.jsonl"
    batch.write_text(
        '{"qid": "a", "query": "denim jacket"}\nnot json\n{"qid": "b", "query": ""}\n{"qid": "c", "query": "belt"}\n'
    )
    result = runner.invoke(app, ["search", "--batch", str(batch), "--json", "--collection", shop])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert [line["qid"] for line in lines] == ["a", 2, "b", "c"]
    assert lines[0]["results"][0]["id"] == "1" and lines[3]["results"][0]["id"] == "3"
    assert "error" in lines[1] and "empty query" in lines[2]["error"]


def test_bad_search_input_is_a_clear_error(shop: str, tmp_path: Path) -> None:
    result = runner.invoke(app, ["search", "shoes", "--collection", shop, "--filter", "fabric=silk"])
    assert result.exit_code == 2 and "unknown filter field 'fabric'" in result.output
    not_image = tmp_path / "photo.jpg"
    not_image.write_text("hello")
    result = runner.invoke(app, ["search", "--image", str(not_image), "--collection", shop])
    assert result.exit_code == 2 and "no image vectors" in result.output
    result = runner.invoke(app, ["search", "shoes", "--collection", "nope"])
    assert result.exit_code != 0 and "no collection 'nope'" in str(result.exception or result.output)
