"""One typed configuration for aisle, read from `aisle.toml` and `AISLE_*` environment variables.

Precedence (highest first): keyword arguments, environment variables, the TOML file, defaults.
The TOML file is `$AISLE_CONFIG` when set, else `./aisle.toml` when it exists.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import Field, SecretStr
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


def _config_file() -> Path:
    return Path(os.environ.get("AISLE_CONFIG", "aisle.toml"))


def _default_home() -> Path:
    return Path(platformdirs.user_data_dir("aisle", appauthor=False))


class Settings(BaseSettings):
    """Every knob aisle reads. Field `x` is set by `AISLE_X` or by `x = ...` in aisle.toml."""

    model_config = SettingsConfigDict(env_prefix="AISLE_", extra="ignore")

    home: Path = Field(default_factory=_default_home, description="Indexes, models, stores and reports.")
    shared_data: Path | None = Field(
        default=None, description="Folder of the shared data sets (default: ../shared/data when present)."
    )
    demo_data: Path | None = Field(default=None, description="Myntra folder for `aisle demo`.")
    qdrant_url: str | None = Field(default=None, description="Qdrant server; embedded on disk when unset.")
    qdrant_api_key: str | None = None
    qdrant_shards: int | None = Field(default=None, ge=1, description="Shard number for new collections (server).")
    qdrant_replication: int | None = Field(default=None, ge=1, description="Replication factor (server).")
    collection: str = "products"
    ui_api: bool = Field(
        default=False, description="Open Gradio's scripting API (/gradio_api/call/..., /info) beside the UI."
    )

    # shopper identity: signed bearer tokens (JWT) from the shop's login
    auth_secret: SecretStr | None = Field(default=None, description="HS256 shared secret (at least 32 bytes).")
    auth_public_key: Path | None = Field(default=None, description="PEM public key file: RS256 (RSA) or ES256 (EC).")
    auth_jwks: Path | None = Field(default=None, description="JWKS file of RS256/ES256 public keys (by `kid`).")
    auth_issuer: str = Field(default="aisle", description="Required `iss` claim.")
    auth_audience: str = Field(default="aisle", description="Required `aud` claim.")
    auth_leeway_s: int = Field(default=30, ge=0, le=300, description="Clock skew allowed on `exp`/`iat`.")

    # encoders
    text_model: str = Field(default="minilm", description="'minilm' or a local sentence-transformers folder.")
    encoder_backend: Literal["torch", "onnx", "onnx-int8"] = Field(
        default="torch", description="Inference backend for the dense encoders."
    )
    clip_model: str | None = Field(
        default=None, description="open_clip spec: 'ARCH:CHECKPOINT' or a local-dir folder; None: no CLIP."
    )

    # search
    hybrid_weights: dict[str, float] = Field(
        default_factory=lambda: {"bm25": 1.0, "text": 1.0, "image": 0.5, "clip_text": 0.5},
        description="Weighted-RRF weight of each retriever in hybrid mode.",
    )
    rrf_k: int = Field(default=20, ge=1, description="Qdrant's RRF constant (tuned on CrowdFlower dev).")
    prefetch_limit: int = Field(default=100, ge=1, description="Candidates each retriever hands to fusion.")
    attribute_boost: float = Field(default=0.5, ge=0, description="Boost for hits matching recognised attributes.")
    query_cache_size: int = Field(default=4096, ge=0)

    # relevance re-ranking (aisle train-ranker)
    ranker_model: str = Field(
        default="auto",
        description="'auto': AISLE_HOME/models/relevance-ranker when trained; 'off'; or a ranker folder.",
    )
    rerank_top_k: int = Field(default=50, ge=1, description="Candidates the relevance ranker re-scores.")
    rerank_backend: Literal["auto", "torch", "onnx", "onnx-int8"] = Field(
        default="auto", description="Ranker inference: 'auto' is PyTorch on a GPU, int8 ONNX Runtime on CPU."
    )

    # personalisation (behaviour events and the personal ranker)
    events_key: str | None = Field(
        default=None, description="Key that pseudonymises shopper ids (default: AISLE_HOME/keys/events.key, 0600)."
    )
    events_retention_days: int | None = Field(default=365, ge=1, description="Older events are deleted (None: kept).")
    personalize: bool = Field(default=True, description="Re-order results by the shopper's history (given a user).")
    personal_weight: float = Field(
        default=1.0,
        ge=0,
        le=2,
        description="Multiplies the learnt blend's personal weights (0: history never moves a search).",
    )
    personal_candidates: int = Field(default=100, ge=2, description="The top-N relevance results are re-ordered.")

    # assistant (aisle chat)
    assistant_llm: str = Field(
        default="smollm2", description="Local LLM: 'smollm2' (the packaged GGUF), a transformers folder or a .gguf."
    )
    assistant_llm_url: str | None = Field(
        default=None,
        description="OpenAI-compatible base URL (.../v1); when set, a tool-calling agent drives the tools.",
    )
    assistant_llm_model: str = Field(default="gpt-4o-mini", description="Model name sent to the endpoint.")
    assistant_llm_api_key: str | None = None
    assistant_temperature: float = Field(default=0.0, ge=0, le=2, description="0: greedy decoding.")
    assistant_max_tokens: int = Field(default=80, ge=1, le=2048, description="Cap on a reply's new tokens.")
    assistant_guard_retries: int = Field(default=0, ge=0, le=2, description="Regenerations before the template.")
    policy_collection: str = "policies"

    # data-quality thresholds
    max_price: float = Field(default=1_000_000.0, gt=0, description="Prices above this are implausible.")
    max_text_chars: int = Field(default=20_000, gt=0, description="Longer descriptions are truncated.")
    image_check_workers: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1)
    image_roots: list[Path] = Field(
        default_factory=list,
        description="Folders besides the catalogue's own image folder that image paths may point into.",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=_config_file())
        return (init_settings, env_settings, toml)

    @property
    def catalogs_dir(self) -> Path:
        return self.home / "catalogs"

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    @property
    def onnx_dir(self) -> Path:
        return self.home / "models" / "onnx"

    @property
    def reports_dir(self) -> Path:
        return self.home / "reports"

    @property
    def edge_path(self) -> Path:
        """Qdrant Edge's shards, one folder per collection."""
        return self.home / "edge"

    @property
    def legacy_qdrant_path(self) -> Path:
        """Where aisle's old embedded engine (qdrant-client local mode) kept collections: read to say so."""
        return self.home / "qdrant"

    def shared_data_dir(self) -> Path | None:
        """The shared data folder: `AISLE_SHARED_DATA`, else `../shared/data` beside the checkout."""
        if self.shared_data is not None:
            return self.shared_data if self.shared_data.is_dir() else None
        for candidate in (Path.cwd() / ".." / "shared" / "data", _repo_root() / ".." / "shared" / "data"):
            if candidate.is_dir():
                return candidate.resolve()
        return None


def _repo_root() -> Path:
    return Path(__file__).resolve().parents[2]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (read once; tests build their own `Settings(...)`)."""
    return Settings()
