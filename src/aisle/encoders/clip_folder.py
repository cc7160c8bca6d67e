"""Portable CLIP folders whose text tower is a Hugging Face model (aisle's catalogue-trained CLIP).

open_clip's `local-dir:` layout names an HF text tower by a path (`text_cfg.hf_model_name`), which would tie
the folder to the machine it was trained on. aisle's folders instead carry the text model's `config.json` and
tokenizer files themselves and store the marker `FOLDER_MARKER` for the path; loading puts the folder's own
path back. The weights (both towers) are in `open_clip_model.safetensors`, so nothing else is read.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from aisle.encoders.base import EncoderError

FOLDER_MARKER = "aisle:this-folder"  # hf_model_name / hf_tokenizer_name: "the folder this config is in"
CONFIG = "open_clip_config.json"
WEIGHTS = "open_clip_model.safetensors"
_TEXT_FILES = (
    "config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
    "merges.txt",
    "sentencepiece.bpe.model",
    "spiece.model",
)


def read_config(folder: Path) -> dict[str, Any]:
    path = folder / CONFIG
    if not path.is_file():
        raise EncoderError(f"CLIP folder lacks {CONFIG}: {folder}")
    return dict(json.loads(path.read_text()))


def is_portable_hf_folder(folder: Path) -> bool:
    """True for a folder saved by `save_portable_folder` (its text tower resolves to the folder itself)."""
    try:
        text_cfg = read_config(folder)["model_cfg"].get("text_cfg", {})
    except (EncoderError, KeyError, json.JSONDecodeError):
        return False
    return text_cfg.get("hf_model_name") == FOLDER_MARKER


def save_portable_folder(
    model: Any,
    model_cfg: dict[str, Any],
    folder: Path,
    *,
    text_source: Path,
    preprocess_cfg: dict[str, Any] | None = None,
) -> Path:
    """Save `model` (an open_clip CustomTextCLIP with an HF text tower built from `text_source`) so that it
    loads anywhere: the text model's config and tokenizer files are copied in, and the config names the
    folder by `FOLDER_MARKER` instead of `text_source`."""
    from safetensors.torch import save_model

    folder.mkdir(parents=True, exist_ok=True)
    for name in _TEXT_FILES:
        if (text_source / name).is_file():
            shutil.copy(text_source / name, folder / name)
    if not (folder / "config.json").is_file():
        raise EncoderError(f"the text tower folder {text_source} has no config.json")
    cfg = json.loads(json.dumps(model_cfg))
    cfg["text_cfg"].update(hf_model_name=FOLDER_MARKER, hf_tokenizer_name=FOLDER_MARKER, hf_model_pretrained=False)
    config = {"model_cfg": cfg, "preprocess_cfg": preprocess_cfg or {}}
    (folder / CONFIG).write_text(json.dumps(config, indent=2) + "\n")
    save_model(model, str(folder / WEIGHTS))
    return folder


def load_portable_folder(folder: Path, device: str) -> tuple[Any, Any, Any]:
    """(model, eval image transform, tokenizer) of a folder saved by `save_portable_folder`."""
    import open_clip
    from open_clip.model import CustomTextCLIP
    from safetensors.torch import load_model

    config = read_config(folder)
    cfg = json.loads(json.dumps(config["model_cfg"]))
    cfg["text_cfg"].update(hf_model_name=str(folder), hf_tokenizer_name=str(folder), hf_model_pretrained=False)
    cfg.pop("custom_text", None)
    try:
        model = CustomTextCLIP(**cfg)
        load_model(model, str(folder / WEIGHTS), device="cpu")
    except Exception as exc:  # torch / safetensors / transformers raise many types for a broken folder
        raise EncoderError(f"cannot load the CLIP folder {folder}: {exc}") from exc
    model = model.to(device).eval()
    from open_clip.transform import PreprocessCfg, merge_preprocess_dict

    pre = merge_preprocess_dict(
        PreprocessCfg(size=cfg["vision_cfg"].get("image_size", 224)), config.get("preprocess_cfg", {})
    )
    open_clip.set_model_preprocess_cfg(model, pre)  # what open_clip's own loader records (ONNX export reads it)
    preprocess = open_clip.image_transform(
        pre["size"],
        is_train=False,
        mean=pre["mean"],
        std=pre["std"],
        resize_mode=pre["resize_mode"],
        interpolation=pre["interpolation"],
        fill_color=pre["fill_color"],
    )
    tokenizer = open_clip.get_tokenizer(f"local-dir:{folder}")
    return model, preprocess, TrimmedTokenizer(tokenizer, int(model.text.config.pad_token_id or 0))


class TrimmedTokenizer:
    """open_clip's HFTokenizer, minus the padding columns past the longest text of a batch: the HF tower masks
    padding out, so the vectors are the same, and short titles and queries encode several times faster."""

    def __init__(self, tokenizer: Any, pad_id: int) -> None:
        self.tokenizer, self.pad_id = tokenizer, pad_id
        self.untrimmed = tokenizer  # fixed-shape consumers (ONNX export) take the full context length
        self.context_length = getattr(tokenizer, "context_length", None)

    def __call__(self, texts: Any, context_length: int | None = None) -> Any:
        ids = self.tokenizer(texts) if context_length is None else self.tokenizer(texts, context_length)
        if ids.shape[0] == 0:
            return ids
        used = (ids != self.pad_id).any(dim=0).nonzero()
        keep = int(used.max()) + 1 if used.numel() else 1
        return ids[:, :keep]
