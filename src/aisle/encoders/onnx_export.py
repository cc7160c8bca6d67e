"""Export aisle's encoders to ONNX files, and open them with ONNX Runtime.

Files live in `onnx_dir / <space dir>` (one folder per embedding space, so the PyTorch and ONNX backends of
one model share it), next to a `manifest.json` that records what each file is. A file counts as present only
once the manifest lists it; it is written to a temporary name and moved into place, so a crash never leaves
half a file behind, and a lock keeps two processes from exporting the same file at once.

Text: the transformers model of a sentence-transformers folder, with its pooling and the L2 normalisation
inside the graph (tokenisation stays outside). It is traced with eager attention, whose graph ONNX Runtime
fuses; the legacy TorchScript exporter is used (`dynamo=False`), with dynamic batch and sequence axes.
CLIP: each tower of an open_clip model, normalised, dynamic batch axis. int8: see `onnx_quant`.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import functools
import hashlib
import json
import logging
import os
import re
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from aisle.encoders.base import EncoderError
from aisle.files import atomic_write

if TYPE_CHECKING:
    from aisle.encoders.clip import ClipModel

log = logging.getLogger(__name__)

OPSET = 17
MANIFEST = "manifest.json"
RECIPES = {  # bump to re-export old files
    "fp32": "torchscript-opset17-v1",
    "int8": "rows-asym-u8-w7-v1",
    "text-int8": "calibrated-smooth-w7-v1",  # LayerNorm outputs and attention context calibrated, GELU per row
}
TOWERS = ("text", "clip_image", "clip_text")
_POOLING_MODES = {"pooling_mode_mean_tokens": "mean", "pooling_mode_cls_token": "cls", "pooling_mode_max_tokens": "max"}
_ST_MODULES = {"Transformer", "Pooling", "Normalize"}


def space_dir(space: str, root: Path | None = None) -> Path:
    """The folder for one embedding space: readable, filesystem-safe, and unique (a hash of the space)."""
    if root is None:
        from aisle.config import get_settings

        root = get_settings().onnx_dir
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", space).strip("._-")[:80]
    return root / f"{safe}-{hashlib.sha1(space.encode()).hexdigest()[:8]}"


def file_name(tower: str, quantized: bool) -> str:
    if tower not in TOWERS:
        raise ValueError(f"unknown tower {tower!r}; use one of {', '.join(TOWERS)}")
    return f"{tower}.int8.onnx" if quantized else f"{tower}.onnx"


def read_manifest(folder: Path) -> dict[str, Any]:
    try:
        data = json.loads((folder / MANIFEST).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {"files": {}}
    return data if isinstance(data.get("files"), dict) else {"files": {}}


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    folder.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # not POSIX: the atomic moves still keep every file whole
        yield
        return
    with (folder / ".export.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _listed(folder: Path, name: str, recipe: str) -> bool:
    return (folder / name).is_file() and read_manifest(folder)["files"].get(name, {}).get("recipe") == recipe


def _ensure(
    folder: Path, name: str, space: str, build: Callable[[Path], dict[str, Any]], force: bool, recipe: str
) -> Path:
    """`folder/name`, built by `build(tmp_path) -> manifest entry` unless the manifest lists it, made by this
    version's `recipe` (files from an older recipe are made again)."""
    target = folder / name
    if not force and _listed(folder, name, recipe):
        return target
    with _locked(folder):
        if not force and _listed(folder, name, recipe):
            return target  # another process built it while we waited
        entry: dict[str, Any] = {"recipe": recipe}
        atomic_write(target, lambda tmp: entry.update(build(tmp)))
        entry.update(bytes=target.stat().st_size, created=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
        manifest = read_manifest(folder)
        manifest.update(space=space, format=1)
        manifest["files"][name] = entry
        atomic_write(folder / MANIFEST, lambda tmp: tmp.write_text(json.dumps(manifest, indent=2) + "\n"))
    log.info("exported %s", target)
    return target


def _torch_export(module: Any, args: tuple[Any, ...], path: Path, inputs: list[str], dynamic: dict[str, Any]) -> None:
    import torch

    # grad stays enabled while tracing: under no_grad, nn.MultiheadAttention (open_clip) takes a fused fast
    # path that the TorchScript exporter cannot express
    with warnings.catch_warnings(), torch.inference_mode(False), torch.enable_grad():
        warnings.simplefilter("ignore")  # the legacy exporter's deprecation and tracer warnings are expected
        torch.onnx.export(
            module.eval(),
            args,
            str(path),
            dynamo=False,
            opset_version=OPSET,
            input_names=inputs,
            output_names=["embeddings"],
            dynamic_axes={**dynamic, "embeddings": {0: "batch"}},
        )


def _quantized(fp32: Path, calibrate: Callable[[], dict[str, Any]] | None = None) -> Callable[[Path], dict[str, Any]]:
    """The int8 build from `fp32`; `calibrate() -> {input: per-channel range}` names the constant-scale inputs."""

    def build(tmp: Path) -> dict[str, Any]:
        from aisle.encoders.onnx_quant import SMOOTHING, WEIGHT_BITS, quantize_per_token

        ranges = calibrate() if calibrate else {}
        count = quantize_per_token(fp32, tmp, calibrated=ranges)
        entry = dict(read_manifest(fp32.parent)["files"].get(fp32.name, {}))
        for key in ("bytes", "created", "recipe"):
            entry.pop(key, None)
        entry.update(precision="int8", from_file=fp32.name, quantized_matmuls=count, weight_bits=WEIGHT_BITS)
        if ranges:
            entry.update(calibrated_inputs=len(ranges), smoothing=SMOOTHING)
        return entry

    return build


# --- text ---------------------------------------------------------------------------------------------


def text_pooling(folder: Path) -> str:
    """The pooling of a sentence-transformers folder ('mean', 'cls' or 'max'); other module stacks are refused."""
    pooling_dir = "1_Pooling"
    modules_file = folder / "modules.json"
    if modules_file.is_file():
        modules = {m["type"].rsplit(".", 1)[-1]: m.get("path", "") for m in json.loads(modules_file.read_text())}
        if not set(modules) <= _ST_MODULES:
            raise EncoderError(
                f"ONNX export supports Transformer + Pooling + Normalize only; {folder} has {set(modules)}"
            )
        pooling_dir = modules.get("Pooling", pooling_dir)
    pooling_file = folder / pooling_dir / "config.json"
    if not pooling_file.is_file():
        return "mean"  # what sentence-transformers adds to a plain transformers folder
    config = json.loads(pooling_file.read_text())
    modes = [mode for key, mode in _POOLING_MODES.items() if config.get(key)]
    others = [k for k, v in config.items() if k.startswith("pooling_mode") and v and k not in _POOLING_MODES]
    if len(modes) != 1 or others:
        raise EncoderError(f"ONNX export supports one of mean/cls/max pooling; {pooling_file} asks for {config}")
    return modes[0]


def export_text(model_folder: Path, path: Path) -> dict[str, Any]:
    """Write the fp32 graph (input_ids, attention_mask) -> normalised sentence embeddings."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    pooling = text_pooling(model_folder)

    class Pooled(torch.nn.Module):
        def __init__(self, model: Any) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            hidden = self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            if pooling == "cls":
                pooled = hidden[:, 0]
            elif pooling == "max":
                pooled = (hidden + (mask - 1.0) * 1e9).max(dim=1).values
            else:
                pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, dim=-1)

    model = AutoModel.from_pretrained(str(model_folder), attn_implementation="eager", local_files_only=True)
    tokenizer = AutoTokenizer.from_pretrained(str(model_folder), local_files_only=True)
    sample = tokenizer(["slim fit cotton shirt", "mug"], padding=True, return_tensors="pt")
    wrapper = Pooled(model.float().cpu())
    dynamic = {"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"}}
    args = (sample["input_ids"], sample["attention_mask"])
    _torch_export(wrapper, args, path, ["input_ids", "attention_mask"], dynamic)
    with torch.no_grad():
        expected = wrapper(*args).numpy()
    _check(path, {"input_ids": args[0].numpy(), "attention_mask": args[1].numpy()}, expected)
    return {"tower": "text", "precision": "fp32", "opset": OPSET, "pooling": pooling, "source": str(model_folder)}


def ensure_text_onnx(
    model_folder: Path, space: str, *, quantized: bool = False, root: Path | None = None, force: bool = False
) -> Path:
    """The ONNX file of a text model (exported on first use); int8 is derived from the fp32 file."""
    folder = space_dir(space, root)
    export = functools.partial(export_text, model_folder)
    fp32 = _ensure(folder, file_name("text", False), space, export, force, RECIPES["fp32"])
    if not quantized:
        return fp32

    def calibrate() -> dict[str, Any]:
        from aisle.encoders import onnx_calibration as calibration
        from aisle.encoders.onnx_text import load_tokenizer

        tokenize, _ = load_tokenizer(model_folder, max_length=128)
        return calibration.calibrate(fp32, calibration.text_feeds(tokenize, calibration.calibration_texts()))

    return _ensure(folder, file_name("text", True), space, _quantized(fp32, calibrate), force, RECIPES["text-int8"])


# --- CLIP ---------------------------------------------------------------------------------------------


def export_clip(clip: ClipModel, tower: str, path: Path) -> dict[str, Any]:
    """Write one normalised CLIP tower: pixels [B, 3, H, W] -> vectors, or tokens [B, context] -> vectors."""
    import open_clip
    import torch

    model, _, tokenizer = clip.parts
    first = next(model.parameters())
    if first.device.type != "cpu" or first.dtype != torch.float32:  # export a CPU fp32 copy, leave the original
        model = copy.deepcopy(model).float().cpu()

    class Tower(torch.nn.Module):
        def __init__(self, model: Any) -> None:
            super().__init__()
            self.model = model

        def forward(self, x: Any) -> Any:
            encode = self.model.encode_image if tower == "clip_image" else self.model.encode_text
            return torch.nn.functional.normalize(encode(x), dim=-1)

    entry: dict[str, Any] = {"tower": tower, "precision": "fp32", "opset": OPSET, "source": clip.spec.model}
    if tower == "clip_image":
        cfg = open_clip.get_model_preprocess_cfg(model)
        size = cfg["size"] if isinstance(cfg["size"], list | tuple) else (cfg["size"], cfg["size"])
        sample = torch.randn(2, 3, *size, generator=torch.Generator().manual_seed(0))
        entry["preprocess"] = json.loads(json.dumps({**cfg, "size": list(size)}))
        name = "pixels"
    elif tower == "clip_text":
        tokenizer = getattr(tokenizer, "untrimmed", tokenizer)  # the graph takes the full context length
        sample = tokenizer(["red running shoes", "a cotton t-shirt with a printed logo"]).cpu()
        entry["context_length"] = int(sample.shape[1])
        name = "tokens"
    else:
        raise ValueError(f"not a CLIP tower: {tower!r}")
    wrapper = Tower(model)
    _torch_export(wrapper, (sample,), path, [name], {name: {0: "batch"}})
    with torch.no_grad():
        expected = wrapper(sample).numpy()
    _check(path, {name: sample.numpy()}, expected)
    return entry


def ensure_clip_onnx(
    clip: ClipModel, tower: str, *, quantized: bool = False, root: Path | None = None, force: bool = False
) -> Path:
    folder = space_dir(clip.space, root)
    export = functools.partial(export_clip, clip, tower)
    fp32 = _ensure(folder, file_name(tower, False), clip.space, export, force, RECIPES["fp32"])
    if not quantized:
        return fp32
    return _ensure(folder, file_name(tower, True), clip.space, _quantized(fp32), force, RECIPES["int8"])


# --- running ------------------------------------------------------------------------------------------


def _check(path: Path, feeds: dict[str, np.ndarray], expected: np.ndarray) -> None:
    """Refuse an export whose graph does not reproduce PyTorch (e.g. a shape the tracer baked in)."""
    got = make_session(path, providers=["CPUExecutionProvider"]).run(None, feeds)[0]
    worst = float(cosine_agreement(got, expected)[0])
    if worst < 0.9999:
        raise EncoderError(f"ONNX export of {path.name} disagrees with PyTorch (cosine {worst:.5f})")


def default_providers() -> list[str]:
    """CUDA first when this onnxruntime build has it, then CPU."""
    import onnxruntime as ort

    available = ort.get_available_providers()
    return [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in available]


def cpu_threads() -> int:
    """Cores this process may use (cgroup/affinity aware where the OS says)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def make_session(
    path: Path, *, providers: list[str] | None = None, threads: int | None = None, spin: bool = True
) -> Any:
    """An InferenceSession with full graph optimisation and one intra-op thread per available core."""
    try:
        import onnxruntime as ort
    except ImportError as exc:
        raise EncoderError("the ONNX backend needs onnxruntime (pip install onnxruntime)") from exc
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads or cpu_threads()
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3
    if not spin:  # idle threads sleep at once instead of spinning: they would take the cores from other models
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        return ort.InferenceSession(str(path), options, providers=providers or default_providers())
    except Exception as exc:  # onnxruntime raises its own exception types for unreadable models
        raise EncoderError(f"cannot open ONNX model {path}: {exc}") from exc


def cosine_agreement(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(min, mean) row-wise cosine between two sets of vectors."""
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} vs {b.shape}")
    if len(a) == 0:
        return 1.0, 1.0
    na = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    nb = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    cos = (na * nb).sum(axis=1)
    return float(cos.min()), float(cos.mean())
