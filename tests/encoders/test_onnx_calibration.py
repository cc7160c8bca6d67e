"""int8 with calibrated scales: which inputs get one, what the rewrite emits, and that it stays accurate and
batch-invariant where a constant scale has to cope with an outlier channel."""

from __future__ import annotations

import collections
from pathlib import Path
from typing import Any

import numpy as np

from aisle.encoders.onnx_calibration import calibrate, calibration_texts, static_inputs
from aisle.encoders.onnx_export import RECIPES, make_session, read_manifest
from aisle.encoders.onnx_quant import quantize_per_token
from tests.encoders.conftest import TEXT_BUILDERS, _built

HIDDEN, WIDE = 64, 128


def _layer(path: Path, outlier: float) -> Path:
    """x -> LayerNorm (channel 3's gain is `outlier`) -> MatMul + bias -> x * sigmoid(x) -> MatMul + bias."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    gain = np.ones(HIDDEN, np.float32)
    gain[3] = outlier
    tensors = {
        "gain": gain,
        "shift": rng.normal(0, 0.1, HIDDEN).astype(np.float32),
        "w1": rng.normal(0, 0.1, (HIDDEN, WIDE)).astype(np.float32),
        "b1": rng.normal(0, 0.1, WIDE).astype(np.float32),
        "w2": rng.normal(0, 0.1, (WIDE, HIDDEN)).astype(np.float32),
        "b2": rng.normal(0, 0.1, HIDDEN).astype(np.float32),
    }
    nodes = [
        helper.make_node("LayerNormalization", ["x", "gain", "shift"], ["normed"], axis=-1),
        helper.make_node("MatMul", ["normed", "w1"], ["h_raw"]),
        helper.make_node("Add", ["h_raw", "b1"], ["h"]),
        helper.make_node("Sigmoid", ["h"], ["gate"]),
        helper.make_node("Mul", ["h", "gate"], ["act"]),
        helper.make_node("MatMul", ["act", "w2"], ["y_raw"]),
        helper.make_node("Add", ["y_raw", "b2"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "layer",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "tokens", HIDDEN])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(value, name) for name, value in tensors.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def _feeds(count: int, seed: int) -> list[dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [{"x": rng.normal(0, 1, (1, int(rng.integers(3, 12)), HIDDEN)).astype(np.float32)} for _ in range(count)]


def _run(path: Path, x: np.ndarray) -> Any:
    return make_session(path, providers=["CPUExecutionProvider"], threads=1).run(None, {"x": x})[0]


def _calibrated(tmp_path: Path, outlier: float, smoothing: float) -> tuple[Path, Path]:
    fp32 = _layer(tmp_path / f"layer-{outlier}.onnx", outlier)
    int8 = tmp_path / f"layer-{outlier}-{smoothing}.int8.onnx"
    quantize_per_token(fp32, int8, calibrated=calibrate(fp32, _feeds(64, seed=1)), smoothing=smoothing)
    return fp32, int8


def _relative_error(fp32: Path, int8: Path, x: np.ndarray) -> float:
    exact, approx = _run(fp32, x), _run(int8, x)
    return float(np.linalg.norm(approx - exact) / np.linalg.norm(exact))


def test_only_layernorm_and_attention_outputs_are_calibrated(tmp_path: Path) -> None:
    import onnx

    assert static_inputs(onnx.load(str(_layer(tmp_path / "layer.onnx", 1.0)))) == ["normed"]


def test_a_calibrated_input_is_one_constant_scale_with_the_bias_folded_in(tmp_path: Path) -> None:
    import onnx

    _, int8 = _calibrated(tmp_path, outlier=1.0, smoothing=0.3)
    ops = collections.Counter(node.op_type for node in onnx.load(str(int8)).graph.node)
    # the calibrated MatMul: Mul (smoothing), QuantizeLinear, MatMulIntegerToFloat with its bias; the second
    # MatMul (after the activation) keeps its per-row scale, computed from the row's own min and max
    assert ops["MatMulIntegerToFloat"] == 2 and ops["QuantizeLinear"] == 2
    assert ops["ReduceMax"] == 1 and ops["ReduceMin"] == 1
    assert ops["Add"] == 1  # b2 stays a separate Add on the per-row path; b1 is inside the int8 MatMul


def test_calibrated_int8_is_accurate_and_batch_invariant(tmp_path: Path) -> None:
    fp32, int8 = _calibrated(tmp_path, outlier=1.0, smoothing=0.3)
    batch = np.random.default_rng(7).normal(0, 1, (6, 9, HIDDEN)).astype(np.float32)
    batch[2] *= 3  # an unusual row must not change the others' numbers
    assert _relative_error(fp32, int8, batch) < 0.03
    together = _run(int8, batch)
    for row in range(len(batch)):
        np.testing.assert_allclose(_run(int8, batch[row : row + 1])[0], together[row], atol=1e-6)


def test_smoothing_keeps_an_outlier_channel_from_taking_the_levels(tmp_path: Path) -> None:
    x = np.random.default_rng(9).normal(0, 1, (4, 10, HIDDEN)).astype(np.float32)
    plain_fp32, plain = _calibrated(tmp_path, outlier=12.0, smoothing=0.0)
    smooth_fp32, smooth = _calibrated(tmp_path, outlier=12.0, smoothing=0.3)
    assert _relative_error(smooth_fp32, smooth, x) < 0.75 * _relative_error(plain_fp32, plain, x)


def test_calibration_texts_are_fixed_and_include_single_words() -> None:
    texts = calibration_texts()
    assert texts == calibration_texts() and len(set(texts)) > 300
    assert "Samsung" in texts and any(len(text.split()) >= 5 for text in texts)


def test_minilm_int8_calibrates_everything_but_the_gelu_outputs(tiny_clip_dir: Path) -> None:
    import onnx

    encoder = _built("minilm-onnx-int8", TEXT_BUILDERS, tiny_clip_dir)
    ops = collections.Counter(node.op_type for node in onnx.load(str(encoder.path)).graph.node)
    layers = 6
    assert ops["MatMulIntegerToFloat"] == 4 * layers  # q/k/v as one, attention output, FFN in, FFN out
    assert ops["ReduceMax"] == layers  # only the FFN's second MatMul, after GELU, quantizes per row
    entry = read_manifest(encoder.path.parent)["files"]["text.int8.onnx"]
    assert entry["recipe"] == RECIPES["text-int8"] and entry["calibrated_inputs"] == 3 * layers
