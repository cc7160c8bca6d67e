"""The training loop: contrastive (soft targets from title similarity, or open_clip's ClipLoss), AdamW +
warm-up and cosine, bf16 mixed precision on a GPU or a CPU with bf16 matrix units, deterministic seeds, and
image<->text recall on the held-out products after every epoch."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from aisle.encoders.clip_training.data import augment, normalise
from aisle.encoders.clip_training.loss import SoftTargetClipLoss
from aisle.encoders.clip_training.model import BuiltModel

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TrainConfig:
    """Everything that shapes the trained model (part of the cache key of a trained folder)."""

    epochs: int = 8
    batch_size: int = 256
    image_size: int = 48
    width: int = 16  # ModifiedResNet stem width (the image tower of a locked-text model)
    layers: tuple[int, ...] = (1, 1, 1, 1)
    embed_dim: int = 256  # the shared space's width with text_proj="mlp" ("identity": the text model's own)
    text_proj: str = "identity"  # "identity": the image tower learns the locked MiniLM's space; "mlp": a new one
    context_length: int = 32
    lr: float = 2e-3
    text_lr: float = 2e-3
    weight_decay: float = 0.1
    warmup_fraction: float = 0.1
    val_fraction: float = 0.05
    crop_scale: tuple[float, float] = (0.9, 1.0)  # light: the index holds these very photos, uncropped
    jitter: float = 0.15
    target_temperature: float | None = 0.03  # soft targets from title similarity (loss.py); None: one-hot
    seed: int = 0
    init: str | None = None  # an open_clip spec to fine-tune; None: locked MiniLM + new image tower

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class TrainResult:
    epochs: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    device: str = "cpu"
    precision: str = "fp32"


def mixed_precision(device: str) -> str | None:
    """bf16 where bf16 matrix multiplies are native (CUDA, or a CPU with AVX-512 BF16 / AMX, where oneDNN
    runs the image tower's convolutions about 1.6-2x faster than fp32), else None (fp32)."""
    import torch

    if device.startswith("cuda"):
        return "bf16"
    return "bf16" if device == "cpu" and torch.ops.mkldnn._is_mkldnn_bf16_supported() else None


def recall_at(image_f: Any, text_f: Any, ks: Sequence[int] = (1, 5, 10)) -> dict[str, float]:
    """Image->text and text->image recall@k where pair i matches i (normalised features)."""
    import torch

    sims = image_f @ text_f.T
    target = torch.arange(sims.shape[0], device=sims.device)
    out: dict[str, float] = {}
    for name, matrix in (("i2t", sims), ("t2i", sims.T)):
        ranks = (matrix > matrix[target, target].unsqueeze(1)).sum(dim=1)
        for k in ks:
            out[f"{name}_r@{k}"] = round(float((ranks < k).float().mean()), 4)
    return out


class Trainer:
    """One training run over pixels (uint8 [N,3,S,S]) and either pooled title features (locked text) or token
    ids (end-to-end), with train/val index lists."""

    def __init__(
        self,
        built: BuiltModel,
        config: TrainConfig,
        pixels: np.ndarray,
        text_inputs: Any,
        train_idx: Sequence[int],
        val_idx: Sequence[int],
        device: str,
    ) -> None:
        import torch

        self.built, self.config, self.device = built, config, device
        self.model = built.model.to(device)
        self.pixels = torch.from_numpy(np.ascontiguousarray(pixels))
        self.text_inputs = text_inputs if isinstance(text_inputs, torch.Tensor) else torch.from_numpy(text_inputs)
        self.train_idx, self.val_idx = list(train_idx), list(val_idx)
        self.precision = mixed_precision(device)
        self.channels_last = device == "cpu"  # oneDNN's fast convolution layout (fp32 and bf16 alike)
        self.generator = torch.Generator().manual_seed(config.seed)

    def _text_features(self, rows: Any) -> Any:
        inputs = self.text_inputs[rows].to(self.device)
        if self.built.locked_text:
            return self.model.text.proj(inputs)
        return self.model.encode_text(inputs)

    def _image_features(self, pixels: Any) -> Any:
        import torch

        x = normalise(pixels, self.built.mean, self.built.std)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return self.model.encode_image(x)

    def _optimizer(self) -> Any:
        import torch

        decay, no_decay, text = [], [], []
        for name, param in self.model.named_parameters():
            if not param.requires_grad:
                continue
            if name.startswith("text."):
                text.append(param)
            elif param.ndim < 2 or "logit_scale" in name or "bias" in name:
                no_decay.append(param)
            else:
                decay.append(param)
        groups = [
            {"params": decay, "weight_decay": self.config.weight_decay, "lr": self.config.lr},
            {"params": no_decay, "weight_decay": 0.0, "lr": self.config.lr},
            {"params": text, "weight_decay": self.config.weight_decay, "lr": self.config.text_lr},
        ]
        return torch.optim.AdamW([g for g in groups if g["params"]], betas=(0.9, 0.98), eps=1e-6)

    def validate(self) -> dict[str, float]:
        import torch
        import torch.nn.functional as F

        if not self.val_idx:
            return {}
        self.model.eval()
        rows = torch.tensor(self.val_idx)
        image_f, text_f = [], []
        with torch.inference_mode(), self._autocast():
            for start in range(0, len(rows), 256):
                chunk = rows[start : start + 256]
                pixels = self.pixels[chunk].to(self.device).float() / 255.0
                image_f.append(F.normalize(self._image_features(pixels).float(), dim=-1))
                text_f.append(F.normalize(self._text_features(chunk).float(), dim=-1))
        self.model.train()
        return recall_at(torch.cat(image_f), torch.cat(text_f))

    def _autocast(self) -> Any:
        import contextlib

        import torch

        if self.precision == "bf16":
            return torch.autocast(self.device.split(":")[0], dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def run(self, on_epoch: Callable[[dict[str, Any]], None] | None = None) -> TrainResult:
        import torch
        from open_clip.loss import ClipLoss
        from tqdm import tqdm

        config = self.config
        torch.manual_seed(config.seed)
        loss_fn = ClipLoss() if config.target_temperature is None else SoftTargetClipLoss(config.target_temperature)
        optimizer = self._optimizer()
        batch = min(config.batch_size, max(2, len(self.train_idx)))
        steps_per_epoch = max(1, len(self.train_idx) // batch)
        total = steps_per_epoch * config.epochs
        warmup = max(1, int(config.warmup_fraction * total))
        base_lrs = [g["lr"] for g in optimizer.param_groups]
        result = TrainResult(device=self.device, precision=self.precision or "fp32")
        started = time.perf_counter()
        if self.channels_last:
            self.model.visual.to(memory_format=torch.channels_last)
        self.model.train()
        if self.built.locked_text:
            self.model.text.transformer.eval()  # frozen: no dropout in what the projection sees
        step = 0
        for epoch in range(1, config.epochs + 1):
            epoch_started = time.perf_counter()
            order = torch.tensor(self.train_idx)[torch.randperm(len(self.train_idx), generator=self.generator)]
            losses = []
            bar = tqdm(range(steps_per_epoch), desc=f"epoch {epoch}/{config.epochs}", unit="step", leave=False)
            for i in bar:
                rows = order[i * batch : (i + 1) * batch]
                factor = (step + 1) / warmup if step < warmup else 0.5 * (1 + math.cos(math.pi * step / total))
                for group, base in zip(optimizer.param_groups, base_lrs, strict=True):
                    group["lr"] = base * factor
                pixels = augment(
                    self.pixels[rows].to(self.device), self.generator, scale=config.crop_scale, jitter=config.jitter
                )
                with self._autocast():
                    image_f = torch.nn.functional.normalize(self._image_features(pixels), dim=-1)
                    text_f = torch.nn.functional.normalize(self._text_features(rows), dim=-1)
                    loss = loss_fn(image_f.float(), text_f.float(), self.model.logit_scale.exp())
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                with torch.no_grad():
                    self.model.logit_scale.clamp_(0, math.log(100))
                losses.append(loss.item())
                bar.set_postfix(loss=f"{losses[-1]:.3f}")
                step += 1
            record = {
                "epoch": epoch,
                "loss": round(float(np.mean(losses)), 4),
                "val": self.validate(),
                "seconds": round(time.perf_counter() - epoch_started, 1),
            }
            result.epochs.append(record)
            log.info("epoch %d: loss %.4f val %s (%.0fs)", epoch, record["loss"], record["val"], record["seconds"])
            if on_epoch is not None:
                on_epoch(record)
        result.seconds = round(time.perf_counter() - started, 1)
        self.model.visual.to(memory_format=torch.contiguous_format)  # what saving and ONNX export expect
        self.model.eval()
        return result
