"""int8 for the ONNX encoders: weights per output channel, activations per token (row).

Why not `onnxruntime.quantization.quantize_dynamic`: it quantizes each activation tensor with one scale for
the whole batch, so a title's vector depends on which other titles share its batch (a 5e-2 difference
measured on MiniLM), and one outlier token coarsens every other token (cosine vs fp32 down to 0.984 on
CrowdFlower titles). Here every MatMul/Gemm with a constant weight becomes

    x -> uint8 per row (scale and zero point from the row's own min and max) -> MatMulIntegerToFloat with
    int8 weights (one scale per output column) -> minus zero point x column sums -> times the row scale

so each row is encoded on its own (batch-invariant) and keeps its own range: on all 9,708 distinct
CrowdFlower titles MiniLM's int8 vectors stay >= 0.994 cosine from fp32 (0.988 with symmetric rows, which
waste half the levels on skewed rows such as GELU outputs). Weights use 7 bits: on AVX2 CPUs without VNNI,
u8 x s8 products are summed in pairs in int16, and 255 * 63 * 2 < 2**15 cannot saturate where full 8-bit
weights can.

Calibrated inputs (`calibrated`: per-channel min and max seen on calibration text) skip the per-token work:
one QuantizeLinear with a constant scale, and the bias Add folds into MatMulIntegerToFloat, so three ops
replace about twenty. One scale per tensor is what a constant scale allows, and BERT's LayerNorm outputs
have a few channels five times wider than the rest, which would take most of the levels; so those channels
are first divided by f = (their range / the median range) ** `smoothing` (one Mul) and their weight rows
multiplied by it (SmoothQuant), which moves part of the difficulty into the per-column weight scales. Still
batch-invariant: nothing depends on the other rows. `onnx_calibration` decides which inputs get ranges.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

WEIGHT_BITS = 7
MIN_WEIGHT_ELEMENTS = 4096  # smaller matrices are not worth the extra nodes
SMOOTHING = 0.3  # MiniLM, 9,708 CrowdFlower titles, every input calibrated: cosine min 0.985 at 0.5, 0.991 at 0.3

ChannelRange = tuple[np.ndarray, np.ndarray]  # per-channel (min, max) of an activation, from calibration


def _reduce(helper: Any, op: str, opset: int, x: str, out: str, axes: str) -> Any:
    """Reduce over the last axis, keeping it (axes moved from attribute to input in opset 18)."""
    if opset >= 18:
        return helper.make_node(op, [x, axes], [out], keepdims=1)
    return helper.make_node(op, [x], [out], axes=[-1], keepdims=1)


def graph_constants(graph: Any) -> dict[str, Any]:
    """The graph's initializers by name, plus the Identity outputs that only rename one (the exporter shares
    repeated parameters through Identity nodes)."""
    inits = {init.name: init for init in graph.initializer}
    for node in graph.node:
        if node.op_type == "Identity" and node.input[0] in inits:
            inits.setdefault(node.output[0], inits[node.input[0]])
    return inits


def matmul_weight(node: Any, inits: dict[str, Any]) -> tuple[np.ndarray, np.ndarray | None] | None:
    """(W as [K, N], bias or None) for a MatMul/Gemm with a constant 2-D weight worth quantizing, else None."""
    from onnx import numpy_helper

    if node.op_type not in ("MatMul", "Gemm") or len(node.input) < 2 or node.input[1] not in inits:
        return None
    w = numpy_helper.to_array(inits[node.input[1]])
    if w.dtype != np.float32 or w.ndim != 2 or w.size < MIN_WEIGHT_ELEMENTS:
        return None
    if node.op_type == "MatMul":
        return w, None
    attrs = {a.name: a for a in node.attribute}
    alpha = attrs["alpha"].f if "alpha" in attrs else 1.0
    beta = attrs["beta"].f if "beta" in attrs else 1.0
    if "transA" in attrs and attrs["transA"].i:
        return None
    if "transB" in attrs and attrs["transB"].i:
        w = w.T
    bias = None
    if len(node.input) > 2 and node.input[2]:
        if node.input[2] not in inits:
            return None
        bias = beta * numpy_helper.to_array(inits[node.input[2]]).astype(np.float32)
        if bias.ndim > 1 and bias.shape[0] != 1:
            return None
        bias = bias.reshape(-1)
    return (alpha * w).astype(np.float32), None if bias is None else bias.astype(np.float32)


def _bias_adds(graph: Any, widths: dict[int, int], inits: dict[str, Any]) -> dict[str, tuple[int, np.ndarray, str]]:
    """{MatMul output: (index of the Add that only adds a constant bias of the MatMul's width to it, the bias,
    the Add's output)} for the MatMuls {index: output width} in `widths`."""
    from onnx import numpy_helper

    readers: dict[str, list[int]] = {}
    for i, node in enumerate(graph.node):
        for name in node.input:
            readers.setdefault(name, []).append(i)
    graph_outputs = {out.name for out in graph.output}
    found = {}
    for i, width in widths.items():
        out = graph.node[i].output[0]
        if out in graph_outputs or len(readers.get(out, [])) != 1 or graph.node[readers[out][0]].op_type != "Add":
            continue
        add = graph.node[readers[out][0]]
        other = add.input[1] if add.input[0] == out else add.input[0]
        if other in inits and (bias := numpy_helper.to_array(inits[other])).shape == (width,):
            found[out] = (readers[out][0], bias.astype(np.float32), add.output[0])
    return found


def _int8_columns(w: np.ndarray, qmax: int) -> tuple[np.ndarray, np.ndarray]:
    """(int8 weights, one scale per output column), in w's float precision."""
    col_scale = np.maximum(np.abs(w).max(axis=0), 1e-12) / qmax
    return np.clip(np.round(w / col_scale), -qmax, qmax).astype(np.int8), col_scale


def _split(helper: Any, const: Any, p: str, fused: str, weights: list[np.ndarray], outputs: list[str]) -> Any:
    """The fused MatMul's output cut back into one output per original MatMul."""
    widths = const(p + "_widths", np.array([m.shape[1] for m in weights], np.int64))
    return helper.make_node("Split", [fused, widths], outputs, axis=-1)


def _calibrated_nodes(
    helper: Any,
    const: Any,
    p: str,
    x: str,
    weights: list[np.ndarray],
    biases: list[np.ndarray],
    outputs: list[str],
    channel_range: ChannelRange,
    smoothing: float,
    qmax: int,
) -> list[Any]:
    """x / f -> uint8 with one constant scale -> MatMulIntegerToFloat with the bias (weights scaled by f)."""
    lo = np.minimum(np.asarray(channel_range[0], np.float64), 0.0)
    hi = np.maximum(np.asarray(channel_range[1], np.float64), 0.0)
    width = np.maximum(np.abs(lo), hi)
    f = np.maximum((width / max(float(np.median(width)), 1e-12)) ** smoothing, 1.0)
    low, high = float((lo / f).min()), float((hi / f).max())
    scale = max(high - low, 1e-12) / 255.0
    zero_point = np.uint8(np.clip(np.round(-low / scale), 0, 255))
    w_int, col_scale = _int8_columns(np.concatenate(weights, axis=1).astype(np.float64) * f[:, None], qmax)
    fused = outputs[0] if len(outputs) == 1 else p + "_all"
    nodes = [
        helper.make_node("Mul", [x, const(p + "_smooth", (1.0 / f).astype(np.float32))], [p + "_x"]),
        helper.make_node(
            "QuantizeLinear",
            [p + "_x", const(p + "_scale", np.array(scale, np.float32)), const(p + "_zp", np.array(zero_point))],
            [p + "_q"],
        ),
        helper.make_node(
            "MatMulIntegerToFloat",
            [
                p + "_q",
                const(p + "_w", w_int),
                p + "_scale",
                const(p + "_ws", col_scale.astype(np.float32)),
                p + "_zp",
                "",
                const(p + "_bias", np.concatenate(biases).astype(np.float32)),
            ],
            [fused],
            domain="com.microsoft",
            name=p + "_matmul",
        ),
    ]
    if len(outputs) > 1:
        nodes.append(_split(helper, const, p, fused, weights, outputs))
    return nodes


def quantize_per_token(
    src: Path,
    dst: Path,
    *,
    weight_bits: int = WEIGHT_BITS,
    symmetric: bool = False,
    exclude: Collection[str] = (),
    calibrated: Mapping[str, ChannelRange] | None = None,
    smoothing: float = SMOOTHING,
) -> int:
    """Write the int8 rewrite of the fp32 model `src` to `dst`; returns how many MatMul/Gemm it quantized.

    MatMuls that read the same input (attention's q, k and v projections) become one wider int8 MatMul and
    a Split: one quantization of the input, one larger GEMM, the same numbers (scales are per column).
    Inputs named in `calibrated` get a constant (smoothed) scale instead of per-token ones.
    """
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(src))
    graph = model.graph
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    if opset < 13:
        raise ValueError(f"per-token int8 needs opset >= 13, {src} has {opset}")
    inits = graph_constants(graph)
    candidates = [(i, node) for i, node in enumerate(graph.node) if node.name not in exclude]
    found = {i: hit for i, node in candidates if (hit := matmul_weight(node, inits)) is not None}
    readers: dict[str, list[int]] = {}
    for i in found:
        readers.setdefault(graph.node[i].input[0], []).append(i)
    qmax = 2 ** (weight_bits - 1) - 1
    added: list[Any] = []

    def const(name: str, value: Any) -> str:
        added.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    one, eps = const("q8_one", np.array(1.0, np.float32)), const("q8_eps", np.array(1e-12, np.float32))
    zero, zp128 = const("q8_zero", np.array(0.0, np.float32)), const("q8_zp128", np.array(128, np.uint8))
    levels = const("q8_levels", np.array(127.0 if symmetric else 255.0, np.float32))
    flat, last = const("q8_flat", np.array([-1], np.int64)), const("q8_last_axis", np.array([-1], np.int64))
    calibrated = calibrated or {}
    calibrated_widths = {i: hit[0].shape[1] for i, hit in found.items() if graph.node[i].input[0] in calibrated}
    bias_adds = _bias_adds(graph, calibrated_widths, inits)
    folded = {index for index, _, _ in bias_adds.values()}
    nodes: list[Any] = []
    for i, node in enumerate(graph.node):
        if i in folded:
            continue
        if i not in found:
            nodes.append(node)
            continue
        x = node.input[0]
        group = readers[x]
        if i != group[0]:
            continue  # emitted with the first MatMul that reads the same input
        p = f"q8_{len(nodes)}"
        weights = [found[j][0] for j in group]
        k = weights[0].shape[0]
        if any(w.shape[0] != k for w in weights):
            raise ValueError(f"MatMuls reading {x} disagree on the inner dimension")
        if x in calibrated:
            outputs, biases = [], []
            for j, w_j in zip(group, weights, strict=True):
                out_j = graph.node[j].output[0]
                bias_j = found[j][1]
                if out_j in bias_adds:
                    _, bias_j, out_j = bias_adds[out_j]
                outputs.append(out_j)
                biases.append(np.zeros(w_j.shape[1], np.float32) if bias_j is None else bias_j)
            nodes += _calibrated_nodes(helper, const, p, x, weights, biases, outputs, calibrated[x], smoothing, qmax)
            continue
        w_int, col_scale = _int8_columns(np.concatenate(weights, axis=1), qmax)  # float32, as the weights
        if symmetric:  # scale = max|row| / 127, zero point 128
            nodes += [
                helper.make_node("Abs", [x], [p + "_abs"]),
                _reduce(helper, "ReduceMax", opset, p + "_abs", p + "_max", last),
                helper.make_node("Max", [p + "_max", eps], [p + "_range"]),
                helper.make_node("Div", [p + "_range", levels], [p + "_scale"]),  # [..., 1]: one scale per row
                helper.make_node("Reshape", [p + "_scale", flat], [p + "_scale1d"]),
                helper.make_node("Shape", [p + "_scale1d"], [p + "_rows"]),
                helper.make_node("Expand", [zp128, p + "_rows"], [p + "_zp1d"]),
            ]
            a_zero_point = [zp128]
        else:  # scale = (max - min) / 255 over the row (and 0), zero point -min / scale
            nodes += [
                _reduce(helper, "ReduceMax", opset, x, p + "_max", last),
                _reduce(helper, "ReduceMin", opset, x, p + "_min", last),
                helper.make_node("Max", [p + "_max", zero], [p + "_hi"]),
                helper.make_node("Min", [p + "_min", zero], [p + "_lo"]),
                helper.make_node("Sub", [p + "_hi", p + "_lo"], [p + "_span"]),
                helper.make_node("Max", [p + "_span", eps], [p + "_range"]),
                helper.make_node("Div", [p + "_range", levels], [p + "_scale"]),
                helper.make_node("Div", [p + "_lo", p + "_scale"], [p + "_negzp_raw"]),
                helper.make_node("Round", [p + "_negzp_raw"], [p + "_negzp"]),  # -zero point, in [-255, 0]
                helper.make_node("Neg", [p + "_negzp"], [p + "_zpf"]),
                helper.make_node("Reshape", [p + "_scale", flat], [p + "_scale1d"]),
                helper.make_node("Cast", [p + "_zpf"], [p + "_zpu8"], to=2),  # uint8
                helper.make_node("Reshape", [p + "_zpu8", flat], [p + "_zp1d"]),
            ]
            a_zero_point = []
        nodes += [
            helper.make_node("Reshape", [x, const(p + "_2d_shape", np.array([-1, k], np.int64))], [p + "_2d"]),
            helper.make_node("QuantizeLinear", [p + "_2d", p + "_scale1d", p + "_zp1d"], [p + "_q2d"], axis=0),
            helper.make_node("Shape", [x], [p + "_shape"]),
            helper.make_node("Reshape", [p + "_q2d", p + "_shape"], [p + "_q"]),
            helper.make_node(
                "MatMulIntegerToFloat",
                [p + "_q", const(p + "_w", w_int), one, const(p + "_ws", col_scale), *a_zero_point],
                [p + "_f"],
                domain="com.microsoft",
                name=p + "_matmul",
            ),
        ]
        product = p + "_f"
        if not symmetric:  # (q - zp) . w = q . w - zp * colsum(w)
            colsum = (w_int.astype(np.float32).sum(axis=0) * col_scale).astype(np.float32)
            nodes += [
                helper.make_node("Mul", [p + "_zpf", const(p + "_colsum", colsum)], [p + "_shift"]),
                helper.make_node("Sub", [p + "_f", p + "_shift"], [p + "_centred"]),
            ]
            product = p + "_centred"
        outputs = [graph.node[j].output[0] if found[j][1] is None else f"{p}_out{j}" for j in group]
        if len(group) == 1:
            nodes.append(helper.make_node("Mul", [product, p + "_scale"], outputs))
        else:
            nodes.append(helper.make_node("Mul", [product, p + "_scale"], [p + "_all"]))
            nodes.append(_split(helper, const, p, p + "_all", weights, outputs))
        for j, out in zip(group, outputs, strict=True):
            bias = found[j][1]
            if bias is not None:
                nodes.append(helper.make_node("Add", [out, const(f"{p}_bias{j}", bias)], [graph.node[j].output[0]]))
    replaced = {graph.node[i].input[1] for i in found}
    still_used = {name for node in nodes for name in node.input}
    kept = [init for init in graph.initializer if init.name not in replaced or init.name in still_used]
    del graph.node[:]
    graph.node.extend(nodes)
    del graph.initializer[:]
    graph.initializer.extend(kept + added)
    if not any(o.domain == "com.microsoft" for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    del graph.value_info[:]  # shapes of rewritten outputs are re-inferred by the runtime
    onnx.save(model, str(dst))
    log.info("int8: %d MatMul/Gemm of %s (%d-bit weights, per-token activations)", len(found), src, weight_bits)
    return len(found)
