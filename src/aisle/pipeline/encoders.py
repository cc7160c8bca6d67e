"""The set of encoders a collection is built and queried with, from the settings or from what a collection
recorded when it was built."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, cast

from aisle.config import Settings
from aisle.encoders import ImageEncoder, SparseEncoder, TextEncoder, create_encoder
from aisle.index.schema import CollectionLayout


@dataclass(frozen=True, slots=True)
class EncoderSet:
    text: TextEncoder
    sparse: SparseEncoder
    clip_image: ImageEncoder | None = None
    clip_text: TextEncoder | None = None
    options: dict[str, dict[str, Any]] | None = None  # how to rebuild this set (stored on the collection)

    @property
    def layout(self) -> CollectionLayout:
        return CollectionLayout(
            text=self.text.info,
            sparse=self.sparse.info,
            image=self.clip_image.info if self.clip_image else None,
            clip_text=self.clip_text.info if self.clip_text else None,
        )

    def batched(self) -> EncoderSet:
        """This set with each dense query encoder behind one batching worker (for a server's many threads)."""
        from aisle.encoders.batching import BatchingQueryEncoder

        def wrap(encoder: TextEncoder | None) -> TextEncoder | None:
            if encoder is None or isinstance(encoder, BatchingQueryEncoder):
                return encoder
            return BatchingQueryEncoder(encoder)

        return replace(self, text=wrap(self.text) or self.text, clip_text=wrap(self.clip_text))

    def warm_up(self) -> None:
        for encoder in (self.text, self.sparse, self.clip_image, self.clip_text):
            if encoder is not None:
                encoder.warm_up()

    @classmethod
    def build(cls, options: dict[str, dict[str, Any]], backend: str = "torch") -> EncoderSet:
        """From stored options: {'text': {'model': ...}, 'bm25': {'avg_doc_len': ...}, 'clip': {'spec': ...}}."""
        text = cast(TextEncoder, create_encoder("sentence-transformers", backend=backend, **options["text"]))
        sparse = cast(SparseEncoder, create_encoder("bm25", **options.get("bm25", {})))
        clip = options.get("clip")
        clip_image = clip_text = None
        if clip:
            clip_image = cast(ImageEncoder, create_encoder("clip-image", backend=backend, spec=clip["spec"]))
            clip_text = cast(TextEncoder, create_encoder("clip-text", backend=backend, spec=clip["spec"]))
        return cls(text, sparse, clip_image, clip_text, options)

    @classmethod
    def from_settings(cls, settings: Settings, *, avg_doc_len: float) -> EncoderSet:
        options: dict[str, dict[str, Any]] = {
            "text": {"model": settings.text_model},
            "bm25": {"avg_doc_len": round(avg_doc_len, 2)},
        }
        if settings.clip_model:
            options["clip"] = {"spec": settings.clip_model}
        return cls.build(options, settings.encoder_backend)
