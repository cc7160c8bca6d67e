"""One conformance suite, run against every encoder and backend in conftest's tables."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from aisle.encoders import EncoderError, ImageEncoder, SparseEncoder, TextEncoder

TEXTS = [
    "Turtle Check Men Navy Blue Shirt",
    "led christmas lights",
    "women's trail running shoes, waterproof",
    "Café crème mug & saucer",
    "x",
    "ViewSonic Pro8200 DLP Multimedia Projector",
    "a b c d e f g",
]


def assert_unit_rows(vectors: np.ndarray, dim: int, rows: int) -> None:
    assert vectors.shape == (rows, dim)
    assert vectors.dtype == np.float32
    assert np.all(np.isfinite(vectors))
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)


class TestTextEncoders:
    def test_protocol_and_metadata(self, text_encoder: Any) -> None:
        assert isinstance(text_encoder, TextEncoder)
        info = text_encoder.info
        assert info.kind == "text" and info.dim > 0 and info.normalised and info.distance == "cosine"
        assert info.space

    def test_shape_dtype_and_unit_norm(self, text_encoder: Any) -> None:
        assert_unit_rows(text_encoder.encode_documents(TEXTS), text_encoder.info.dim, len(TEXTS))
        assert_unit_rows(text_encoder.encode_queries(TEXTS[:2]), text_encoder.info.dim, 2)

    def test_deterministic(self, text_encoder: Any) -> None:
        np.testing.assert_array_equal(text_encoder.encode_queries(TEXTS), text_encoder.encode_queries(TEXTS))

    def test_batch_size_invariant(self, text_encoder: Any) -> None:
        together = text_encoder.encode_documents(TEXTS)
        one_by_one = np.concatenate([text_encoder.encode_documents([t]) for t in TEXTS])
        np.testing.assert_allclose(together, one_by_one, atol=2e-4)

    def test_empty_inputs(self, text_encoder: Any) -> None:
        assert text_encoder.encode_queries([]).shape == (0, text_encoder.info.dim)
        assert_unit_rows(text_encoder.encode_queries([""]), text_encoder.info.dim, 1)

    def test_very_long_input_is_truncated_not_refused(self, text_encoder: Any) -> None:
        long_text = "silk scarf " * 20_000
        vectors = text_encoder.encode_queries([long_text, "silk scarf " * 500])
        assert_unit_rows(vectors, text_encoder.info.dim, 2)
        # both exceed the context: truncation makes them the same input
        np.testing.assert_allclose(vectors[0], vectors[1], atol=1e-4)

    def test_different_texts_differ(self, text_encoder: Any) -> None:
        vectors = text_encoder.encode_queries(["red dress", "stainless steel saucepan"])
        assert float(vectors[0] @ vectors[1]) < 0.999


class TestImageEncoders:
    def test_protocol_and_metadata(self, image_encoder: Any) -> None:
        assert isinstance(image_encoder, ImageEncoder)
        assert image_encoder.info.kind == "image" and image_encoder.info.dim > 0

    def test_shape_unit_norm_and_determinism(self, image_encoder: Any, sample_images: list[Path]) -> None:
        vectors = image_encoder.encode_images(sample_images)
        assert_unit_rows(vectors, image_encoder.info.dim, len(sample_images))
        np.testing.assert_array_equal(vectors, image_encoder.encode_images(sample_images))

    def test_batch_size_invariant_and_paths_equal_pil(self, image_encoder: Any, sample_images: list[Path]) -> None:
        from PIL import Image

        together = image_encoder.encode_images(sample_images)
        singly = np.concatenate([image_encoder.encode_images([Image.open(p)]) for p in sample_images])
        np.testing.assert_allclose(together, singly, atol=2e-4)

    def test_empty_input(self, image_encoder: Any) -> None:
        assert image_encoder.encode_images([]).shape == (0, image_encoder.info.dim)

    def test_unreadable_images_name_the_file(self, image_encoder: Any, tmp_path: Path) -> None:
        bad = tmp_path / "not-a-photo.jpg"
        bad.write_text("plain text")
        with pytest.raises(EncoderError, match="not-a-photo.jpg"):
            image_encoder.encode_images([bad])
        with pytest.raises(EncoderError, match="missing.jpg"):
            image_encoder.encode_images([tmp_path / "missing.jpg"])

    def test_grey_and_odd_sizes_are_accepted(self, image_encoder: Any) -> None:
        from PIL import Image

        vectors = image_encoder.encode_images([Image.new("L", (7, 300), 128), Image.new("RGBA", (500, 20))])
        assert_unit_rows(vectors, image_encoder.info.dim, 2)


class TestSparseEncoders:
    def test_protocol_and_metadata(self, sparse_encoder: Any) -> None:
        assert isinstance(sparse_encoder, SparseEncoder)
        assert sparse_encoder.info.kind == "sparse"

    def test_indices_sorted_unique_and_in_range(self, sparse_encoder: Any) -> None:
        for vector in sparse_encoder.encode_documents(TEXTS) + sparse_encoder.encode_queries(TEXTS):
            assert list(vector.indices) == sorted(set(vector.indices))
            assert all(0 <= i < 2**31 for i in vector.indices)
            assert len(vector.values) == len(vector.indices)
            assert all(v > 0 for v in vector.values)

    def test_shared_terms_share_indices(self, sparse_encoder: Any) -> None:
        doc = sparse_encoder.encode_documents(["Running Shoes"])[0]
        query = sparse_encoder.encode_queries(["run shoe"])[0]
        assert set(query.indices) == set(doc.indices)

    def test_empty_and_long_inputs(self, sparse_encoder: Any) -> None:
        assert sparse_encoder.encode_queries([]) == []
        assert sparse_encoder.encode_documents(["", "the of and"])[0].indices == ()
        long = sparse_encoder.encode_documents(["scarf " * 50_000])[0]
        assert len(long.indices) == 1

    def test_index_mapping_survives_a_restart(self, sparse_encoder: Any) -> None:
        here = sparse_encoder.encode_queries(["waterproof hiking boots"])[0].indices
        code = (
            "from aisle.encoders import create_encoder;"
            "print(list(create_encoder('bm25').encode_queries(['waterproof hiking boots'])[0].indices))"
        )
        other = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": "123", "PATH": "/usr/bin"},
        )
        assert other.stdout.strip() == str(list(here))

    def test_term_frequency_saturates(self, sparse_encoder: Any) -> None:
        once, thrice = sparse_encoder.encode_documents(["shoe", "shoe shoe shoe"])
        assert thrice.values[0] > once.values[0]
        assert thrice.values[0] < 3 * once.values[0]


def test_unknown_encoder_and_backend_are_clear_errors() -> None:
    from aisle.encoders import create_encoder

    with pytest.raises(EncoderError, match="unknown encoder"):
        create_encoder("word2vec")
    with pytest.raises(EncoderError, match="unknown backend"):
        create_encoder("minilm", backend="tensorrt")
    with pytest.raises(EncoderError, match="never downloads"):
        create_encoder("sentence-transformers", model="sentence-transformers/all-mpnet-base-v2")
