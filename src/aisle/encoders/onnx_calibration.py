"""Calibration for the BERT int8 graphs (the text encoder's, and the relevance cross-encoder's with pairs made
from the same phrases): which MatMul inputs get a constant scale, and their ranges.

LayerNorm outputs and attention's context vectors are bounded and look alike from token to token, so the
per-channel ranges seen on a few hundred product-like phrases fit real text. GELU outputs are heavy-tailed
per token, so they keep per-token scales (calibrating them too: MiniLM's cosine min to fp32 on Myntra titles
0.989, under the 0.99 floor). The phrases are generated here from short word lists: exporting needs no
catalogue, and the ranges do not depend on which catalogue came first. Long texts are left out: they widen
the ranges and cost titles precision (all inputs calibrated, cosine min 0.987 vs 0.991), and descriptions
hold 0.993 without them. Calibration seeds 0-2 and 200 to 800 phrases all keep cosine min >= 0.991 on
9,708 CrowdFlower titles, 5,000 Myntra titles and 1,500 CrowdFlower descriptions.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from aisle.encoders.onnx_quant import ChannelRange, graph_constants, matmul_weight

STATIC_PRODUCERS = {"LayerNormalization", "Reshape"}  # LayerNorm outputs; attention context merged back to [B, T, H]

_BRANDS = ["Samsung", "Nike", "Levi's", "IKEA", "Sony", "Puma", "Philips", "Apple", "Titan", "Adidas", "HP", "Roadster"]
_COLOURS = ["black", "white", "red", "navy blue", "grey", "green", "pink", "beige", "maroon", "yellow", "gold"]
_MATERIALS = ["cotton", "leather", "stainless steel", "wooden", "plastic", "silk", "denim", "ceramic", "wool", "glass"]
_ITEMS = [
    "t-shirt", "running shoes", "backpack", "led tv", "wrist watch", "coffee maker", "office chair", "sofa cover",
    "laptop sleeve", "phone case", "water bottle", "kurta", "sneakers", "handbag", "bed sheet", "table lamp",
    "headphones", "dining table", "sunglasses", "jeans", "saree", "wall clock", "blender", "vacuum cleaner",
]  # fmt: skip
_EXTRAS = [
    "for men", "for women", "for kids", "size M", "pack of 2", "55 inch 4K UHD", "with USB-C charging",
    "(set of 6)", "- 1.5 L, 220V", "slim fit", "waterproof", "XL / 42", "100% original", "2-year warranty",
]  # fmt: skip


def calibration_texts(count: int = 400, seed: int = 0) -> list[str]:
    """Every word list entry on its own (very short titles have their own ranges), then `count` phrases of
    title shape: optional brand, colour and material, an item, and up to three extras."""
    rng = random.Random(seed)
    texts = [*_BRANDS, *_COLOURS, *_MATERIALS, *_ITEMS, *_EXTRAS]
    for _ in range(count):
        parts = [rng.choice(_BRANDS)] if rng.random() < 0.6 else []
        parts += [rng.choice(_COLOURS)] if rng.random() < 0.6 else []
        parts += [rng.choice(_MATERIALS)] if rng.random() < 0.4 else []
        parts.append(rng.choice(_ITEMS))
        parts += rng.sample(_EXTRAS, rng.randint(0, 3))
        texts.append(" ".join(parts))
    return texts


def static_inputs(model: Any) -> list[str]:
    """The inputs of the MatMuls `onnx_quant` quantizes that a STATIC_PRODUCERS node writes."""
    inits = graph_constants(model.graph)
    producers = {out: node.op_type for node in model.graph.node for out in node.output}
    names = []
    for node in model.graph.node:
        if matmul_weight(node, inits) is None:
            continue
        if producers.get(node.input[0]) in STATIC_PRODUCERS and node.input[0] not in names:
            names.append(node.input[0])
    return names


def channel_ranges(model: Any, names: Sequence[str], feeds: Sequence[dict[str, np.ndarray]]) -> dict[str, ChannelRange]:
    """Per-channel (min, max) of each named tensor of the loaded fp32 `model` over every row of every feed (zero
    always inside). The names are added to `model`'s outputs: pass a copy you no longer need as it was."""
    if not names:
        return {}
    import tempfile

    import onnx

    from aisle.encoders.onnx_export import make_session

    for name in names:
        model.graph.output.append(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
    with tempfile.TemporaryDirectory(prefix="aisle-calibration-") as tmp:
        probe = Path(tmp) / "probe.onnx"
        onnx.save(model, str(probe))
        session = make_session(probe, providers=["CPUExecutionProvider"])
    ranges: dict[str, ChannelRange] = {}
    for feed in feeds:
        for name, value in zip(names, session.run(list(names), feed), strict=True):
            rows = value.reshape(-1, value.shape[-1])
            lo, hi = ranges.get(name, (np.zeros(rows.shape[1]), np.zeros(rows.shape[1])))
            ranges[name] = (np.minimum(lo, rows.min(axis=0)), np.maximum(hi, rows.max(axis=0)))
    return ranges


def calibrate(fp32: Path, feeds: Sequence[dict[str, np.ndarray]]) -> dict[str, ChannelRange]:
    """{input: per-channel range} for every `static_inputs` tensor of the fp32 file, loaded once."""
    import onnx

    model = onnx.load(str(fp32))
    return channel_ranges(model, static_inputs(model), feeds)


def text_feeds(tokenize: Callable[[list[str]], list[list[int]]], texts: Sequence[str]) -> list[dict[str, np.ndarray]]:
    """One unpadded feed per text, so padding never enters the ranges."""
    from aisle.encoders.onnx_text import padded_batch

    feeds = []
    for ids in tokenize(list(texts)):
        input_ids, mask = padded_batch([ids], pad_id=0)  # one row: nothing to pad
        feeds.append({"input_ids": input_ids, "attention_mask": mask})
    return feeds
