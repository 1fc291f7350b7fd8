"""The one typed settings object. Built once at the edge (CLI, app factory) and passed down."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Every knob, read from ``FORECOURT_*`` environment variables (or ``.env``).

    An unset service URL means "embedded": PostgreSQL via pgserver under ``home``,
    Milvus Lite under ``home``, Celery tasks run in-process.
    """

    model_config = SettingsConfigDict(env_prefix="FORECOURT_", env_file=".env", extra="ignore")

    home: Path = Field(Path("var"), description="Directory for embedded services and artefacts")
    database_url: str | None = Field(None, description="PostgreSQL URL; unset = embedded pgserver")
    embedded_database: str = Field(
        "forecourt",
        pattern=r"^[a-z_][a-z0-9_]*$",
        description="Database name on the embedded server",
    )
    milvus_uri: str | None = Field(None, description="Milvus URI; unset = Milvus Lite file")
    milvus_index: str | None = Field(
        None,
        pattern="^(FLAT|IVF_FLAT|HNSW)$",
        description="ANN index of new collections; unset = FLAT on Milvus Lite, HNSW on a server",
    )
    milvus_search_timeout_s: int = Field(
        5, gt=0, description="Seconds an API search in Milvus may take, retries included (then 503)"
    )
    milvus_server_above: int = Field(
        200_000,
        ge=0,
        description="Vehicles on sale above which `forecourt demo` starts the standalone Milvus"
        " server (`server` extra) instead of Milvus Lite, when FORECOURT_MILVUS_URI is unset",
    )
    broker_url: str | None = Field(None, description="Celery broker; unset = tasks in-process")
    result_backend_url: str | None = Field(
        None, description="Celery result backend; unset = the broker's URL when it is Redis"
    )
    feature_schema: str = Field(
        "vehicles", description="Built-in feature schema name or path to a TOML schema file"
    )
    data_dir: Path = Field(
        REPO_ROOT.parent / "shared" / "data", description="Where the real datasets live"
    )
    import_batch_rows: int = Field(100_000, gt=0, description="Rows per COPY batch on import")
    usd_to_eur: float = Field(0.92, gt=0, description="Rate for catalogues priced in USD")
    profile_alpha: float = Field(10.0, gt=0, description="Dirichlet concentration of the prior")
    profile_shrink: float = Field(3.0, gt=0, description="Pseudo-weight of the global mean/std")
    profile_half_life_days: float = Field(7.0, gt=0, description="Recency half-life of events")
    profile_window_days: float = Field(30.0, gt=0, description="Events before as_of in a profile")
    profile_type_weights: tuple[float, float, float] | None = Field(
        None, description="view,bookmark,contact weights (JSON list); unset = inverse shares"
    )

    artifact_dir: Path | None = Field(
        None, description="Where trained model artefacts are saved; unset = <home>/artefacts"
    )
    train_epochs: int = Field(20, gt=0, description="Most training epochs (early stopping)")
    train_dim: int = Field(64, gt=0, description="Embedding size (the Milvus vector size)")
    train_negatives: int = Field(1, gt=0, description="Sampled negatives per interaction")
    train_sampler: str = Field(
        "uniform", pattern="^(uniform|popularity|hard)$", description="Negative sampler"
    )
    train_val_fraction: float = Field(
        0.1, gt=0, lt=1, description="Share of the latest events kept for validation"
    )
    train_max_examples: int = Field(
        2_000_000, gt=0, description="Most interactions per training run (latest kept)"
    )

    ingest_token: str | None = Field(
        None, description="Bearer token for ingestion writes (the admin token also works)"
    )
    admin_token: str | None = Field(None, description="Bearer token for /v1/admin endpoints")
    serve_candidates: int = Field(200, gt=0, le=5000, description="Milvus candidates per query")
    serve_max_k: int = Field(100, gt=0, description="Largest k a request may ask for")
    serve_exclude_viewed: bool = Field(
        False, description="Also leave out vehicles the user viewed (contacted ones always)"
    )
    serve_max_batch: int = Field(1000, gt=0, description="Most records per ingestion request")
    serve_model_ttl_s: float = Field(
        1.0, ge=0, description="How often serving re-reads which model version is active"
    )
    serve_embedding_cache: int = Field(
        1_000_000, ge=0,
        description="ItemNet embeddings each API process keeps, by vehicle version (~0.4 KB each)",
    )  # fmt: skip

    worker_concurrency: int = Field(2, gt=0, description="Task processes per Celery worker")
    worker_time_limit_s: int = Field(
        6 * 3600, gt=0, description="Hard limit on one task run (training the longest)"
    )
    worker_max_retries: int = Field(
        3, ge=0, description="Retries of a task after a transient database/Milvus error"
    )
    retrain_gate_tolerance: float = Field(
        0.0, ge=0, description="How much lower validation precision@k a new version may score"
    )
    gc_keep_versions: int = Field(
        2, ge=0, description="Published versions kept besides the active one (for rollback)"
    )
    beat_profile_refresh_s: float = Field(300, gt=0, description="Incremental profile refresh")
    beat_catalogue_sync_s: float = Field(300, gt=0, description="Re-embed changed vehicles")
    beat_profile_rebuild_s: float = Field(86_400, gt=0, description="Full profile rebuild")
    beat_retrain_s: float = Field(7 * 86_400, gt=0, description="Retrain pipeline")
    beat_gc_s: float = Field(86_400, gt=0, description="Old collections and artefacts")

    @property
    def result_backend(self) -> str | None:
        if self.result_backend_url:
            return self.result_backend_url
        broker = self.broker_url or ""
        return broker if broker.startswith(("redis://", "rediss://")) else None

    @property
    def milvus(self) -> str:
        """The Milvus URI: a server if set, else the Milvus Lite file under ``home``."""
        return self.milvus_uri or str((self.home / "milvus.db").resolve())

    @property
    def artefacts(self) -> Path:
        return self.artifact_dir or self.home / "artefacts"

    @property
    def embedded_pgdata(self) -> Path:
        return self.home / "postgres"

    @property
    def rejects_dir(self) -> Path:
        return self.home / "rejects"
