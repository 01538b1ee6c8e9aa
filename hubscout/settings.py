"""One typed settings object for every knob of hubscout.

Environment variables with the HUBSCOUT_ prefix override the embedded defaults; the engines' own
variables (MLFLOW_TRACKING_URI, PREFECT_API_URL, RAY_ADDRESS) are honoured for the production
profile. Experiment parameters live in params.yaml (tracked by DVC), not here.
"""

import os
import re
from functools import cached_property
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from hubscout.errors import ConfigError

DEFAULT_REGISTRY_URL = "http://127.0.0.1:8700"
MIN_TOKEN_CHARACTERS = 16  # a guessable bearer token is no lock
SECRET_SETTINGS = ("registry_token", "registry_read_token")
_DEVICE_PATTERN = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")

# hubscout runs offline by default: no engine may phone home or fetch weights.
OFFLINE_DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "GX_ANALYTICS_ENABLED": "false",
    "DVC_NO_ANALYTICS": "1",
    "RAY_USAGE_STATS_ENABLED": "0",
    "HF_HUB_OFFLINE": "1",
}


def apply_offline_defaults() -> None:
    """Set each offline variable that the environment does not already set."""
    for name, value in OFFLINE_DEFAULTS.items():
        os.environ.setdefault(name, value)


class DataLayout:
    """Where each thing lives under the data dir: the one place that spells these paths."""

    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir

    @property
    def world(self) -> Path:
        """The synthetic world (DVC stage world)."""
        return self.root / "world"

    @property
    def hub(self) -> Path:
        """The starter hub's checkpoints and manifest (DVC stage starter_hub)."""
        return self.root / "hub"

    @property
    def hub_manifest(self) -> Path:
        """The starter hub's manifest: the models trained so far and their checkpoints."""
        return self.hub / "manifest.json"

    @property
    def labels(self) -> Path:
        """Every model's label, one Parquet file per model id (the starter hub's and the
        registered ones alike), recomputed only when stale; local state, not versioned."""
        return self.root / "labels"

    @property
    def pipelines(self) -> Path:
        """Saved reuse pipelines, one folder each (DVC stage pathway_benchmark, or
        `hubscout pathway train`)."""
        return self.root / "pipelines"

    @property
    def benchmarks(self) -> Path:
        """The selection benchmark's tables."""
        return self.root / "benchmarks"

    @property
    def transferability(self) -> Path:
        """The transferability benchmark's tables."""
        return self.root / "transferability"

    @property
    def identification(self) -> Path:
        """The identification benchmark's tables and what it tuned."""
        return self.root / "identification"

    @property
    def specs(self) -> Path:
        """Every model's identification specification, by what determines it (the per-model
        job's, and those the identification stage fitted while choosing the encoders)."""
        return self.root / "specs"

    @property
    def cache(self) -> Path:
        """Content-addressed caches (features)."""
        return self.root / "cache"

    @property
    def prefect_home(self) -> Path:
        """The embedded Prefect server's home (its database and settings)."""
        return self.root / "prefect"

    @property
    def pipeline(self) -> Path | None:
        """The DVC project whose pipeline builds this data dir (the folder above it, when it
        holds dvc.yaml), or None for a data dir that no pipeline builds."""
        project = self.root.resolve().parent
        return project if (project / "dvc.yaml").is_file() else None


class Settings(BaseSettings):
    """Resolved configuration. Construct with `Settings()`; pass keywords to override in code."""

    model_config = SettingsConfigDict(env_prefix="HUBSCOUT_", frozen=True, populate_by_name=True)

    data_dir: Path = Field(
        default=Path("data"), description="Where the world, the hub, caches and databases live."
    )
    database_url: str | None = Field(
        default=None,
        description="Registry database; default: a SQLite file in the data directory.",
    )
    mlflow_tracking_uri: str | None = Field(
        default=None,
        validation_alias=AliasChoices("HUBSCOUT_MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_URI"),
        description="MLflow tracking URI; default: sqlite:///<data dir>/mlflow.db.",
    )
    prefect_api_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("HUBSCOUT_PREFECT_API_URL", "PREFECT_API_URL"),
        description="Prefect API; default: Prefect's ephemeral API, started on demand.",
    )
    ray_address: str | None = Field(
        default=None,
        validation_alias=AliasChoices("HUBSCOUT_RAY_ADDRESS", "RAY_ADDRESS"),
        description="Ray cluster address; default: a local Ray started on demand.",
    )
    ray_gpus_per_job: float = Field(
        default=0.5,
        gt=0,
        le=1,
        description="Share of a GPU each per-model Ray job asks for where the cluster has GPUs.",
    )  # two jobs per GPU; not measured (no GPU here)
    device: str = Field(default="auto", description="auto, cpu, cuda or cuda:N.")
    batch_size: int = Field(default=256, gt=0, description="Images per forward pass.")
    registry_url: str | None = Field(
        default=None,
        description="The registry service the CLI asks (none: select, rank and identify read "
        f"the registry database here; the models commands ask {DEFAULT_REGISTRY_URL}).",
    )
    registry_token: SecretStr | None = Field(
        default=None,
        description="Bearer token of the registry's write endpoints (unset: writes closed; "
        f"at least {MIN_TOKEN_CHARACTERS} characters, no spaces).",
    )
    registry_read_token: SecretStr | None = Field(
        default=None,
        description="A token that opens reads only, when reads are closed (the write token "
        "opens them too).",
    )
    registry_open_reads: bool = Field(
        default=True, description="Whether the registry answers reads without a token."
    )
    registry_allowed_hosts: list[str] = Field(
        default_factory=lambda: ["127.0.0.1", "localhost", "[::1]"],
        description="Host headers the registry answers (['*']: any); other hosts get 400.",
    )
    registry_cors_origins: list[str] = Field(
        default_factory=list,
        description="Browser origins allowed to call the registry (none: no CORS headers, and "
        "uploads from another origin are refused).",
    )
    registry_select_per_minute: int = Field(
        default=1200, gt=0, description="Selections one client may ask per minute (429 past it)."
    )
    registry_uploads_per_minute: int = Field(
        default=60, gt=0, description="Uploads to /identify and /rank one client may send a minute."
    )
    registry_source_roots: list[Path] = Field(
        default_factory=list,
        description="Directories local checkpoints may be registered from (default: data dir).",
    )
    registry_max_request_bytes: int = Field(
        default=1_048_576, gt=0, description="Largest request body the registry accepts."
    )
    registry_max_upload_bytes: int = Field(
        default=64 * 1_048_576,
        gt=0,
        description="Largest upload to /identify and /rank (example images, datasets).",
    )
    registry_max_decoded_bytes: int = Field(
        default=256 * 1_048_576,
        gt=0,
        description="Largest decoded size of an upload (the arrays of an .npz, the unpacked "
        "files of a zip, the pixels of the images), checked before it is decoded.",
    )
    registry_max_identify_pixels: int = Field(
        default=16_777_216,
        gt=0,
        description="Pixels of all the example images of one /identify, together.",
    )
    registry_max_rank_examples: int = Field(
        default=20_000, gt=0, description="Labeled examples one /rank may score."
    )
    registry_max_rank_models: int = Field(
        default=64, gt=0, description="Models one /rank may score (name some with `models`)."
    )
    registry_loaded_models: int = Field(
        default=8, gt=0, description="Models the service keeps loaded between queries (LRU)."
    )
    registry_database_wait_seconds: float = Field(
        default=2.0,
        gt=0,
        le=30,
        description="How long a request waits for a busy database before it answers 503.",
    )
    registry_allow_downloads: bool = Field(
        default=False,
        description="Whether sources that download weights when processed (open_clip "
        "pretrained tags) may be registered; off in the offline profile.",
    )

    nightly_cron: str = Field(
        default="0 2 * * *", description="When the nightly re-labeling runs (cron, UTC)."
    )
    worker_flow_runs: int = Field(
        default=2, gt=0, description="Flow runs the worker executes at once."
    )

    @field_validator("device")
    @classmethod
    def _check_device(cls, value: str) -> str:
        if not _DEVICE_PATTERN.match(value):
            raise ValueError(f"device must be auto, cpu, cuda or cuda:N, not {value!r}")
        return value

    @field_validator("registry_token", "registry_read_token")
    @classmethod
    def _check_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        token = value.get_secret_value()
        if not token.strip():
            raise ValueError(
                "the registry token is set but empty, which would open every write to a blank "
                "credential: set a random token (e.g. `openssl rand -hex 24`) or unset it to "
                "close writes"
            )
        if len(token) < MIN_TOKEN_CHARACTERS or any(
            c.isspace() or not c.isprintable() for c in token
        ):
            raise ValueError(
                f"the registry token must have at least {MIN_TOKEN_CHARACTERS} printable "
                "characters and no spaces: set a random one (e.g. `openssl rand -hex 24`)"
            )
        return value

    @field_validator("data_dir")
    @classmethod
    def _absolute_data_dir(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @cached_property
    def layout(self) -> DataLayout:
        """The paths under the data dir."""
        return DataLayout(self.data_dir)

    @cached_property
    def registry_database_url(self) -> str:
        """SQLAlchemy URL of the registry database."""
        return self.database_url or f"sqlite:///{self.data_dir / 'registry.db'}"

    @cached_property
    def source_roots(self) -> list[Path]:
        """Where registered local checkpoints may live: the configured roots, else the data
        dir."""
        return list(self.registry_source_roots) or [self.data_dir]

    @cached_property
    def mlflow_uri(self) -> str:
        """MLflow tracking URI (SQLite in the data dir by default; file stores are refused)."""
        return self.mlflow_tracking_uri or f"sqlite:///{self.data_dir / 'mlflow.db'}"

    @cached_property
    def mlflow_artifact_dir(self) -> Path:
        """Local artifact root used when MLflow runs embedded."""
        return self.data_dir / "mlflow-artifacts"

    @cached_property
    def cache_dir(self) -> Path:
        """Content-addressed caches (features, labels)."""
        return self.layout.cache

    @cached_property
    def profile(self) -> str:
        """'embedded' when no production engine is configured, 'production' when all are."""
        production = [
            self.database_url,
            self.mlflow_tracking_uri,
            self.prefect_api_url,
            self.ray_address,
        ]
        configured = sum(value is not None for value in production)
        if configured == 0:
            return "embedded"
        return "production" if configured == len(production) else "mixed"

    def resolved_device(self) -> str:
        """The torch device to use: CUDA when present unless overridden."""
        if self.device != "auto":
            return self.device
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment and `overrides`, or a ConfigError naming the bad knob
    (its HUBSCOUT_ variable and its value) instead of pydantic's multi-line report."""
    try:
        return Settings(**overrides)
    except ValidationError as error:
        first = error.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "settings"
        reason = str(first["msg"]).removeprefix("Value error, ")
        given = repr(first.get("input"))
        secret = field in SECRET_SETTINGS  # never echoed back
        raise ConfigError(
            f"setting {field} (HUBSCOUT_{field.upper()} or --{field.replace('_', '-')}): "
            + (reason if secret or given in reason else f"{reason}; got {given}")
        ) from error
