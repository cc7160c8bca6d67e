"""The catalogue CLIP's model: open_clip's CustomTextCLIP with a locked Hugging Face text tower (the packaged
MiniLM) and a small image tower trained from scratch, or any open_clip model to fine-tune (`--init`)."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from aisle.encoders.base import EncoderError

log = logging.getLogger(__name__)
MEAN = (0.48145466, 0.4578275, 0.40821073)  # open_clip's OPENAI_DATASET_MEAN / STD
STD = (0.26862954, 0.26130258, 0.27577711)


@dataclass(frozen=True, slots=True)
class BuiltModel:
    model: Any
    model_cfg: dict[str, Any]
    tokenizer: Any
    mean: tuple[float, ...]
    std: tuple[float, ...]
    image_size: int
    locked_text: bool  # True: the text transformer is frozen and its pooled features are computed once
    text_source: Path | None  # the HF text folder (locked-text models), copied into the saved folder


TEXT_PROJECTIONS = ("identity", "mlp")


def text_width(text_folder: Path) -> int:
    """The hidden size of a Hugging Face text model folder (MiniLM: 384)."""
    return int(json.loads((text_folder / "config.json").read_text())["hidden_size"])


def locked_text_cfg(
    *,
    embed_dim: int,
    image_size: int,
    width: int,
    layers: Sequence[int],
    text_folder: Path,
    context_length: int,
    text_proj: str,
) -> dict[str, Any]:
    """A ModifiedResNet image tower (open_clip's `vision_cfg` with a `layers` list) and an HF text tower.

    `text_proj="identity"`: no text projection at all (open_clip's `nn.Identity` when the widths match), so the
    shared space is the locked text model's own; `"mlp"`: a trained MLP maps the text features into it."""
    if text_proj not in TEXT_PROJECTIONS:
        raise EncoderError(f"unknown text projection {text_proj!r}: use one of {', '.join(TEXT_PROJECTIONS)}")
    if text_proj == "identity":
        embed_dim = text_width(text_folder)
    return {
        "embed_dim": embed_dim,
        "custom_text": True,
        "vision_cfg": {"image_size": image_size, "layers": list(layers), "width": width},
        "text_cfg": {
            "hf_model_name": str(text_folder),
            "hf_tokenizer_name": str(text_folder),
            "hf_proj_type": None if text_proj == "identity" else text_proj,
            "hf_pooler_type": "mean_pooler",
            "context_length": context_length,
        },
    }


def build_locked_text(
    *,
    embed_dim: int,
    image_size: int,
    width: int,
    layers: Sequence[int],
    context_length: int,
    seed: int,
    text_proj: str,
) -> BuiltModel:
    """A new CustomTextCLIP: pretrained MiniLM text transformer (locked), random image tower and projections."""
    import open_clip
    import torch
    from open_clip.model import CustomTextCLIP

    from aisle.encoders.text import minilm_path

    folder = minilm_path()
    cfg = locked_text_cfg(
        embed_dim=embed_dim,
        image_size=image_size,
        width=width,
        layers=layers,
        text_folder=folder,
        context_length=context_length,
        text_proj=text_proj,
    )
    torch.manual_seed(seed)
    kwargs = {k: v for k, v in cfg.items() if k != "custom_text"}
    model = CustomTextCLIP(**kwargs)  # AutoModel.from_pretrained(folder): a local folder, nothing downloads
    model.lock_text_tower(unlocked_layers=0, freeze_layer_norm=True)
    tokenizer = open_clip.tokenizer.HFTokenizer(str(folder), context_length=context_length)
    return BuiltModel(model, cfg, tokenizer, MEAN, STD, image_size, True, folder)


def build_from_init(spec_text: str, seed: int) -> BuiltModel:
    """An existing open_clip model ('ARCH:CHECKPOINT' or a CLIP folder) to fine-tune end to end."""
    import torch

    from aisle.encoders.clip import ClipModel, ClipSpec
    from aisle.encoders.clip_folder import is_portable_hf_folder, read_config

    spec = ClipSpec.parse(spec_text)
    torch.manual_seed(seed)
    model, preprocess, tokenizer = ClipModel(spec, device="cpu").parts
    if spec.model.startswith("local-dir:"):
        folder = Path(spec.model.removeprefix("local-dir:"))
        config = read_config(folder)
        cfg, pre = config["model_cfg"], config.get("preprocess_cfg", {})
        if is_portable_hf_folder(folder):  # continue training a catalogue CLIP: keep its locked text tower
            model.lock_text_tower(unlocked_layers=0, freeze_layer_norm=True)
            size = int(cfg["vision_cfg"].get("image_size", 224))
            mean, std = tuple(pre.get("mean") or MEAN), tuple(pre.get("std") or STD)
            return BuiltModel(model, cfg, tokenizer, mean, std, size, True, folder)
    else:
        import open_clip

        cfg = open_clip.get_model_config(spec.model)
        pre = {}
    if cfg is None:
        raise EncoderError(f"no open_clip config for {spec_text!r}")
    size = cfg["vision_cfg"].get("image_size", 224)
    size = int(size[0] if isinstance(size, list | tuple) else size)
    mean, std = tuple(pre.get("mean") or MEAN), tuple(pre.get("std") or STD)
    return BuiltModel(model.train(), json.loads(json.dumps(cfg)), tokenizer, mean, std, size, False, None)


def pooled_text_features(built: BuiltModel, titles: Sequence[str], device: str, batch_size: int = 256) -> np.ndarray:
    """The locked text transformer's pooled features of every title, computed once (float32 [N, width]):
    training then only runs the text projection on them."""
    import torch
    from tqdm import tqdm

    text = built.model.text
    text.eval()
    out = []
    for start in tqdm(range(0, len(titles), batch_size), desc="title features", disable=len(titles) < 2000):
        tokens = built.tokenizer(list(titles[start : start + batch_size])).to(device)
        with torch.inference_mode():
            mask = (tokens != text.config.pad_token_id).long()
            keep = max(1, int(mask.sum(dim=1).max()))  # padding past the longest title changes nothing: drop it
            tokens, mask = tokens[:, :keep], mask[:, :keep]
            hidden = text.transformer(input_ids=tokens, attention_mask=mask)
            out.append(text.pooler(hidden, mask).float().cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, 1), np.float32)


def tokenize_all(built: BuiltModel, titles: Sequence[str]) -> Any:
    """Token ids of every title (end-to-end fine-tuning encodes them each step)."""
    import torch

    return torch.cat([built.tokenizer(list(titles[s : s + 1024])) for s in range(0, len(titles), 1024)])
