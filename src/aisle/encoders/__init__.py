"""Encoders: text (BERT family), CLIP image/text towers, BM25 sparse; PyTorch and ONNX Runtime backends."""

from aisle.encoders.base import EncoderError, EncoderInfo, ImageEncoder, SparseEncoder, TextEncoder
from aisle.encoders.registry import create_encoder, encoder_names, register_encoder

__all__ = [
    "EncoderError",
    "EncoderInfo",
    "ImageEncoder",
    "SparseEncoder",
    "TextEncoder",
    "create_encoder",
    "encoder_names",
    "register_encoder",
]
