"""Side-by-side ONNX sessions: outputs in batch order, safe to share between threads, a bounded read-ahead."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from aisle.encoders.onnx_lanes import MAX_LANES, SessionLanes, lane_plan

CPU = ["CPUExecutionProvider"]
WEIGHTS = np.arange(12, dtype=np.float32).reshape(4, 3) / 10


@pytest.fixture(scope="module")
def matmul_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """x [N, 4] -> x @ WEIGHTS: small enough to check every output by hand."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])],
        "matmul",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 3])],
        [numpy_helper.from_array(WEIGHTS, "w")],
    )
    path = tmp_path_factory.mktemp("lanes") / "matmul.onnx"
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8  # what onnxruntime reads, whatever the onnx package writes by default
    onnx.save(model, str(path))
    return path


def _batches(count: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(int(rng.integers(1, 9)), 4)).astype(np.float32) for _ in range(count)]


def test_lane_plan_splits_cpu_cores_and_keeps_one_gpu_session() -> None:
    assert lane_plan(CPU, 1) == (1, 1)
    assert lane_plan(CPU, 2) == (2, 1)
    assert lane_plan(CPU, 16) == (MAX_LANES, 16 // MAX_LANES)
    assert lane_plan(["CUDAExecutionProvider", "CPUExecutionProvider"], 16) == (1, 16)
    assert lane_plan(CPU, 2, lanes=1) == (1, 2)  # one session on every thread, as before lanes
    with pytest.raises(ValueError, match="lanes"):
        lane_plan(CPU, 2, lanes=0)


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_outputs_come_back_in_batch_order(matmul_model: Path, threads: int) -> None:
    lanes = SessionLanes(matmul_model, providers=CPU, threads=threads)
    assert lanes.count == threads
    batches = _batches(11)
    outputs = list(lanes.run_batches({"x": batch} for batch in batches))
    assert len(outputs) == len(batches)
    for batch, output in zip(batches, outputs, strict=True):
        np.testing.assert_allclose(output, batch @ WEIGHTS, rtol=1e-5, atol=1e-6)


def test_threads_sharing_the_lanes_each_get_their_own_results(matmul_model: Path) -> None:
    lanes = SessionLanes(matmul_model, providers=CPU, threads=2)
    errors: list[BaseException] = []

    def caller(seed: int) -> None:
        try:
            batches = _batches(20, seed)
            for batch, output in zip(batches, lanes.run_batches({"x": b} for b in batches), strict=True):
                np.testing.assert_allclose(output, batch @ WEIGHTS, rtol=1e-5, atol=1e-6)
            single = batches[0]
            np.testing.assert_allclose(lanes.run({"x": single}), single @ WEIGHTS, rtol=1e-5, atol=1e-6)
        except BaseException as exc:  # surfaced by the main thread below
            errors.append(exc)

    callers = [threading.Thread(target=caller, args=(seed,)) for seed in range(6)]
    for thread in callers:
        thread.start()
    for thread in callers:
        thread.join()
    assert not errors, errors


def test_read_ahead_is_bounded(matmul_model: Path) -> None:
    """A generator of big inputs (decoded images) is not drained into memory before the first output."""
    lanes = SessionLanes(matmul_model, providers=CPU, threads=2)
    pulled = 0

    def batches() -> Iterator[dict[str, np.ndarray]]:
        nonlocal pulled
        for batch in _batches(50):
            pulled += 1
            yield {"x": batch}

    outputs = lanes.run_batches(batches())
    next(outputs)
    assert pulled <= 2 * lanes.count + 1
    assert len(list(outputs)) == 49


def test_a_bad_batch_raises_and_the_lanes_keep_serving(matmul_model: Path) -> None:
    lanes = SessionLanes(matmul_model, providers=CPU, threads=2)
    with pytest.raises(Exception, match="x"):
        list(lanes.run_batches([{"x": np.zeros((2, 5), np.float32)}]))  # wrong width
    good = _batches(4)
    assert len(list(lanes.run_batches({"x": b} for b in good))) == 4  # no lane was lost to the failure


def test_a_single_batch_runs_in_the_callers_thread(matmul_model: Path) -> None:
    """A search query is one batch: no hand-off to a lane thread on the hot path; many batches do spread."""
    lanes = SessionLanes(matmul_model, providers=CPU, threads=2)
    real_run = lanes.run
    threads: list[str] = []

    def recording_run(feeds: dict[str, np.ndarray]) -> np.ndarray:
        threads.append(threading.current_thread().name)
        return real_run(feeds)

    lanes.run = recording_run  # type: ignore[method-assign]
    (single,) = _batches(1)
    (output,) = lanes.run_batches([{"x": single}])
    np.testing.assert_allclose(output, single @ WEIGHTS, rtol=1e-5, atol=1e-6)
    assert threads == [threading.current_thread().name]
    threads.clear()
    assert len(list(lanes.run_batches({"x": b} for b in _batches(6)))) == 6
    assert all(name.startswith("onnx-lane") for name in threads)
