"""`aisle export-onnx`: write the ONNX files of the text encoder (and of a CLIP model's two towers), then
check each against PyTorch on a few product titles and images."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    import numpy as np

# Product titles in the style of the catalogues aisle ingests (short, brand-heavy, mixed case and units).
SAMPLE_TITLES = [
    "Turtle Check Men Navy Blue Shirt",
    "Peter England Men Party Blue Jeans",
    "Nike Women Revolution 5 Running Shoes",
    "Puma Unisex Black Backpack 25L",
    "Set of 10 Battery Operated Multi LED Train Christmas Lights - Clear Wire",
    "ViewSonic Pro8200 DLP Multimedia Projector",
    "Accent Pillow with Heart Design - Red/Black",
    "KitchenAid 5-Qt. Artisan Stand Mixer, Empire Red",
    "Titan Women Silver Analog Watch",
    "Café crème mug & saucer, set of 2",
    "women's trail running shoes, waterproof",
    'Samsung 55" Class 4K UHD Smart LED TV',
]


def _sample_images() -> list[Any]:
    """A few synthetic photos of different sizes and modes (no data set needed)."""
    from PIL import Image

    images = []
    for i, size in enumerate([(224, 224), (320, 180), (90, 300), (64, 64)]):
        noise = Image.effect_noise(size, 40 + 15 * i).convert("RGB")
        images.append(Image.blend(Image.new("RGB", size, (50 * i, 180 - 40 * i, 90)), noise, 0.45))
    return images


def _row(path: Path, reference: np.ndarray, vectors: np.ndarray) -> dict[str, Any]:
    from aisle.encoders.onnx_export import cosine_agreement

    worst, mean = cosine_agreement(vectors, reference)
    return {"file": str(path), "mb": round(path.stat().st_size / 2**20, 1), "cosine_min": worst, "cosine_mean": mean}


def _text_rows(model: str, int8: bool, out: Path | None, force: bool, max_seq_length: int) -> list[dict[str, Any]]:
    from aisle.encoders.onnx_export import ensure_text_onnx
    from aisle.encoders.onnx_text import OnnxTextEncoder
    from aisle.encoders.text import SentenceTransformerEncoder

    reference = SentenceTransformerEncoder(model, max_seq_length=max_seq_length)
    expected = reference.encode_documents(SAMPLE_TITLES)
    rows = []
    for quantized in (False, True) if int8 else (False,):
        path = ensure_text_onnx(reference.folder, reference.info.space, quantized=quantized, root=out, force=force)
        encoder = OnnxTextEncoder(model, quantized=quantized, max_seq_length=max_seq_length, onnx_dir=out)
        rows.append(_row(path, expected, encoder.encode_documents(SAMPLE_TITLES)))
    return rows


def _clip_rows(spec: str, int8: bool, out: Path | None, force: bool) -> list[dict[str, Any]]:
    from aisle.encoders.clip import ClipImageEncoder, ClipModel, ClipSpec, ClipTextEncoder
    from aisle.encoders.onnx_clip import OnnxClipImageEncoder, OnnxClipTextEncoder
    from aisle.encoders.onnx_export import ensure_clip_onnx

    clip = ClipModel(ClipSpec.parse(spec), device="cpu")
    images = _sample_images()
    expected = {
        "clip_image": ClipImageEncoder(clip).encode_images(images),
        "clip_text": ClipTextEncoder(clip).encode_documents(SAMPLE_TITLES),
    }
    rows = []
    for tower in ("clip_image", "clip_text"):
        for quantized in (False, True) if int8 else (False,):
            path = ensure_clip_onnx(clip, tower, quantized=quantized, root=out, force=force)
            if tower == "clip_image":
                vectors = OnnxClipImageEncoder(spec, quantized=quantized, onnx_dir=out).encode_images(images)
            else:
                text = OnnxClipTextEncoder(spec, quantized=quantized, onnx_dir=out)
                vectors = text.encode_documents(SAMPLE_TITLES)
            rows.append(_row(path, expected[tower], vectors))
    return rows


def export_onnx(
    text_model: Annotated[
        str, typer.Option("--text-model", help="'minilm' or a local sentence-transformers folder.")
    ] = "minilm",
    clip: Annotated[
        str | None, typer.Option("--clip", help="open_clip spec (ARCH:CHECKPOINT or a local-dir folder): both towers.")
    ] = None,
    int8: Annotated[bool, typer.Option("--int8/--no-int8", help="Also write the int8 files.")] = True,
    out: Annotated[
        Path | None, typer.Option("--out", help="Root folder of the files [AISLE_HOME/models/onnx].")
    ] = None,
    max_seq_length: Annotated[int, typer.Option("--max-seq-length", min=8, help="Text truncation, in tokens.")] = 128,
    force: Annotated[bool, typer.Option("--force", help="Export again even where the files exist.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Export encoders to ONNX (text; CLIP towers with --clip) and print each file's agreement with PyTorch."""
    from aisle.encoders.base import EncoderError

    try:
        rows = _text_rows(text_model, int8, out, force, max_seq_length)
        if clip:
            rows += _clip_rows(clip, int8, out, force)
    except EncoderError as exc:
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps({"files": rows}))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="ONNX files: cosine vs PyTorch fp32, per row")
    for column in ("file", "MB", "cosine min", "cosine mean"):
        table.add_column(column, justify="left" if column == "file" else "right")
    for row in rows:
        name = Path(row["file"]).name
        table.add_row(name, f"{row['mb']:.1f}", f"{row['cosine_min']:.4f}", f"{row['cosine_mean']:.4f}")
    console = Console()
    console.print(table)
    for folder in dict.fromkeys(str(Path(row["file"]).parent) for row in rows):
        console.print(f"in {folder}", soft_wrap=True)
