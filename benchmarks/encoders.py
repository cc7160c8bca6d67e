"""Encoder throughput, PyTorch vs ONNX Runtime (fp32 and int8), measured side by side in one run on the same
inputs: MiniLM on CrowdFlower product titles, and a ViT-B-32 CLIP's image tower on Myntra photos and its
text tower on titles. The CLIP weights are random (nothing is downloaded; throughput does not depend on the
values). Every backend gets the same batch size and the same number of threads (torch.get_num_threads()).
Cosines are per row against the PyTorch fp32 CPU vectors. When a CUDA GPU is present, PyTorch on it joins
each group as `torch-cuda` (fp32, same batch sizes); `--no-onnx` leaves the ONNX backends out. The ONNX
backends run batches side by side on 1-thread copies of the model (`onnx_lanes`); `int8-1lane` is MiniLM int8
as one 2-thread session, the way it ran before.

    python -m benchmarks.encoders [--titles 2000] [--images 256] [--clip-texts 256] [--repeats 3] [--no-onnx]
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from aisle.catalog.loaders.crowdflower import load_crowdflower
from benchmarks._common import interleaved, median, shared_data_or_exit


def _titles(data: Path, count: int) -> list[str]:
    rows = load_crowdflower(data / "crowdflower" / "train.csv").rows
    titles = [str(row.fields["title"]).strip() for row in rows]
    return list(dict.fromkeys(t for t in titles if t))[:count]


Group = tuple[int, dict[str, Callable[[], Any]]]  # (items, {backend: () -> vectors})


def _encoders(args: argparse.Namespace, onnx_dir: Path, threads: int) -> dict[str, Group]:
    """Every encoder built, warmed up (and exported) before anything is timed."""
    import torch

    from aisle.encoders.clip import ClipImageEncoder, ClipModel, ClipSpec, ClipTextEncoder
    from aisle.encoders.onnx_clip import OnnxClipImageEncoder, OnnxClipTextEncoder
    from aisle.encoders.onnx_text import OnnxTextEncoder
    from aisle.encoders.text import SentenceTransformerEncoder

    data = shared_data_or_exit()
    titles = _titles(data, args.titles)
    images = sorted((data / "myntra" / "images").glob("*.jpg"))[: args.images]
    clip_texts = titles[: args.clip_texts]
    onnx = {"onnx_dir": onnx_dir, "threads": threads}
    text_options = {"batch_size": args.batch_size, "max_seq_length": 128}
    gpu = torch.cuda.is_available()
    minilm: dict[str, Any] = {"torch": SentenceTransformerEncoder("minilm", device="cpu", **text_options)}
    clip = ClipModel(ClipSpec(args.clip_arch), device="cpu", batch_size=args.image_batch_size)
    image_towers: dict[str, Any] = {"torch": ClipImageEncoder(clip)}
    text_towers: dict[str, Any] = {"torch": ClipTextEncoder(clip)}
    if args.onnx:
        kw = {"batch_size": args.image_batch_size, "providers": ["CPUExecutionProvider"], **onnx}
        for suffix, quantized in (("", False), ("-int8", True)):
            minilm["onnx" + suffix] = OnnxTextEncoder(
                "minilm", quantized=quantized, providers=["CPUExecutionProvider"], **text_options, **onnx
            )
            image_towers["onnx" + suffix] = OnnxClipImageEncoder(args.clip_arch, quantized=quantized, **kw)
            text_towers["onnx" + suffix] = OnnxClipTextEncoder(args.clip_arch, quantized=quantized, **kw)
        minilm["int8-1lane"] = OnnxTextEncoder(  # before onnx_lanes: one session using every thread
            "minilm", quantized=True, providers=["CPUExecutionProvider"], lanes=1, **text_options, **onnx
        )
    if gpu:
        minilm["torch-cuda"] = SentenceTransformerEncoder("minilm", device="cuda", **text_options)
        clip_gpu = ClipModel(ClipSpec(args.clip_arch), device="cuda", batch_size=args.image_batch_size)
        clip_gpu.parts[0].load_state_dict(clip.parts[0].state_dict())  # the same random weights as the CPU copy
        image_towers["torch-cuda"] = ClipImageEncoder(clip_gpu)
        text_towers["torch-cuda"] = ClipTextEncoder(clip_gpu)
    for encoder in [*minilm.values(), *image_towers.values(), *text_towers.values()]:
        encoder.warm_up()  # loads weights, exports the ONNX files on first use
    return {
        "minilm text (titles)": (len(titles), {k: _bind(e.encode_documents, titles) for k, e in minilm.items()}),
        "clip image (photos)": (len(images), {k: _bind(e.encode_images, images) for k, e in image_towers.items()}),
        "clip text (titles)": (
            len(clip_texts),
            {k: _bind(e.encode_documents, clip_texts) for k, e in text_towers.items()},
        ),
    }


def _bind(encode: Callable[[Any], Any], items: list[Any]) -> Callable[[], Any]:
    return lambda: encode(items)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--titles", type=int, default=2000)
    parser.add_argument("--images", type=int, default=256)
    parser.add_argument("--clip-texts", type=int, default=256)
    parser.add_argument("--clip-arch", default="ViT-B-32")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--image-batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--onnx-dir", type=Path, help="Keep the exported files here [a temporary folder].")
    parser.add_argument("--no-onnx", dest="onnx", action="store_false", help="PyTorch backends only")
    args = parser.parse_args()

    import onnxruntime
    import torch

    threads = torch.get_num_threads()
    with tempfile.TemporaryDirectory(prefix="aisle-bench-onnx-") as tmp:
        groups = _encoders(args, args.onnx_dir or Path(tmp), threads)
        load_before = os.getloadavg()[0]
        results = {}
        for group, (count, variants) in groups.items():
            outputs: dict[str, Any] = {}
            timed = {name: _keep(fn, outputs, name) for name, fn in variants.items()}
            results[group] = (count, interleaved(timed, args.repeats), outputs)
        load_after = os.getloadavg()[0]

    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; torch {torch.__version__} and "
        f"onnxruntime {onnxruntime.__version__} with {threads} threads each; median of {args.repeats} interleaved "
        f"runs; 1-min load average {load_before:.1f} before, {load_after:.1f} after"
    )
    if torch.cuda.is_available():
        print(f"GPU: {torch.cuda.get_device_name()}, CUDA {torch.version.cuda}")
    print(
        f"{'encoder':<22} {'items':>6} {'backend':<10} {'median s':>9} {'items/s':>9} {'vs torch':>9} "
        f"{'cos min':>8} {'cos mean':>9}"
    )
    for group, (count, times, outputs) in results.items():
        base = median(times["torch"])
        for name, values in times.items():
            cosines = np.sum(outputs[name] * outputs["torch"], axis=1)
            print(
                f"{group:<22} {count:>6} {name:<10} {median(values):>9.2f} {count / median(values):>9.1f} "
                f"{base / median(values):>8.2f}x {cosines.min():>8.4f} {cosines.mean():>9.5f}"
            )


def _keep(fn: Callable[[], Any], outputs: dict[str, Any], name: str) -> Callable[[], None]:
    def run() -> None:
        outputs[name] = fn()

    return run


if __name__ == "__main__":
    main()
