from pathlib import Path

from aisle.catalog.images import check_images, image_problem
from tests.conftest import jpeg_bytes


def test_each_kind_of_bad_image_has_its_reason(tmp_path: Path) -> None:
    good = tmp_path / "good.jpg"
    good.write_bytes(jpeg_bytes())
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    truncated = tmp_path / "truncated.jpg"
    data = jpeg_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    header_only = tmp_path / "header.jpg"
    header_only.write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF broken")
    text = tmp_path / "notes.jpg"
    text.write_text("this is not a picture")
    assert image_problem(good) is None
    assert image_problem(tmp_path / "missing.jpg") == "image_missing"
    assert image_problem(empty) == "image_empty"
    assert image_problem(truncated) == "image_corrupt"
    assert image_problem(header_only) == "image_corrupt"
    assert image_problem(text) == "image_not_an_image"


def test_parallel_verification_keeps_order(tmp_path: Path) -> None:
    paths = []
    for i in range(300):
        path = tmp_path / f"{i}.jpg"
        path.write_bytes(jpeg_bytes() if i % 7 else b"")
        paths.append(path)
    problems = [c.problem for c in check_images(paths, workers=2)]
    assert problems == [None if i % 7 else "image_empty" for i in range(300)]
