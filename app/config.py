"""Settings of the service, read from the environment (prefix ``COMMATTR_``) and validated at start."""

from __future__ import annotations

from pathlib import Path

from limits import parse_many
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_FREE_MAIL_DOMAINS = (
    "aol.com",
    "gmail.com",
    "googlemail.com",
    "hotmail.com",
    "icloud.com",
    "live.com",
    "mail.com",
    "me.com",
    "msn.com",
    "outlook.com",
    "proton.me",
    "protonmail.com",
    "yahoo.com",
    "yandex.ru",
    "gmx.de",
    "web.de",
)


RATE_LIMIT_OFF = "off"
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")


class Settings(BaseSettings):
    """Every default works on a laptop with the embedded SQLite database."""

    model_config = SettingsConfigDict(env_prefix="COMMATTR_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default="sqlite:///./var/commattr.db",
        description="SQLAlchemy URL: sqlite:///path or postgresql+psycopg://user:pass@host/db.",
    )
    migration_database_url: str | None = Field(
        default=None,
        description="URL of the role that owns the tables, for `commattr migrate`, the other "
        "commands and the worker (which serves every workspace); default: database_url. On "
        "PostgreSQL, database_url then names a role that owns nothing, which row-level security "
        "holds to the workspace of each request's API key.",
        repr=False,
    )
    host: str = Field(default="127.0.0.1", description="Address `commattr serve` binds to.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port `commattr serve` binds to.")
    log_level: str = Field(
        default="info",
        description="Level of the service's own log lines: debug, info, warning, error.",
    )
    data_dir: Path = Field(
        default=Path("var"),
        description="Folder of the service's own files: the generated encryption key, the demo key.",
    )
    web_workers: int = Field(
        default=1, ge=1, le=64, description="Processes `commattr serve` runs (one per core helps)."
    )
    touchpoint_batch_limit: int = Field(
        default=10_000, ge=1, description="Most touchpoints accepted by one batch call."
    )
    import_record_limit: int = Field(
        default=200_000, ge=1, description="Most records accepted by one CRM file import."
    )
    import_max_bytes: int = Field(
        default=4 * 1024**3,
        ge=1,
        description="Largest file one touchpoint or member import accepts, as sent (gzip or not).",
    )
    import_inline_bytes: int = Field(
        default=4 * 1024**2,
        ge=0,
        description="Imports larger than this run as a job of the worker; smaller ones answer at once.",
    )
    import_row_limit: int = Field(
        default=20_000_000, ge=1, description="Most rows one touchpoint or member import accepts."
    )
    import_batch_rows: int = Field(
        default=20_000, ge=1, description="Rows an import validates and stages at a time."
    )
    free_mail_domains: tuple[str, ...] = Field(
        default=DEFAULT_FREE_MAIL_DOMAINS,
        description="Email domains never used to link a member to an account, for new workspaces.",
    )
    credit_insert_batch: int = Field(
        default=20_000, ge=1, description="Credit rows written per executemany batch."
    )

    encryption_keys: str = Field(
        default="",
        description="Comma-separated Fernet keys for CRM credentials; the first encrypts, all "
        "decrypt (rotation). Empty: a key is kept in `encryption_key_file`.",
        repr=False,
    )
    encryption_key_file: Path | None = Field(
        default=None,
        description="Where the generated key lives when `encryption_keys` is empty; "
        "default `<data_dir>/encryption.key`.",
    )
    crm_test_hosts: tuple[str, ...] = Field(
        default=(),
        description="Extra hosts (host:port) accepted as CRM endpoints, for a local test server.",
    )
    job_lease_seconds: int = Field(
        default=120,
        ge=2,
        description="How long a worker holds a sync run, import or attribution run (and a sync's "
        "connection) without renewing it; it renews every quarter of it while it works, and "
        "another worker takes the job over once a dead worker's lease has run out.",
    )
    job_max_attempts: int = Field(
        default=3,
        ge=1,
        description="Attempts of a sync run, import or attribution run (failures or dead workers in "
        "a row) before it is marked failed.",
    )
    run_retention_days: int = Field(
        default=30,
        ge=0,
        description="Superseded default runs that are not frozen are deleted after this many days.",
    )
    markov_max_order: int = Field(
        default=4, ge=1, le=8, description="Highest Markov order a run may ask for (1-8)."
    )
    markov_max_states: int = Field(
        default=3000,
        ge=10,
        le=20_000,
        description="Most states of an exact Markov fit (each removal solves a dense system).",
    )
    max_body_bytes: int = Field(
        default=1_048_576,
        ge=1024,
        description="Largest request body, in bytes, outside the bulk routes; larger is a 413.",
    )
    max_bulk_body_bytes: int = Field(
        default=134_217_728,
        ge=1024,
        description="Largest body of the bulk routes (CRM import, touchpoint, member and "
        "exchange-rate batches), in bytes; larger is a 413.",
    )
    key_rotation_grace_seconds: int = Field(
        default=86_400,
        ge=0,
        le=30 * 86_400,
        description="How long a rotated API key keeps working beside its replacement.",
    )
    rate_limit_per_key: str = Field(
        default="600/minute",
        description="Requests one API key may make (`limits` notation: `600/minute`, "
        "`20/second`), counted per server process; `off` for no limit.",
    )
    rate_limit_failed_auth: str = Field(
        default="20/minute",
        description="Failed authentications one client address may have before its requests "
        "answer 429 (`limits` notation), counted per server process; `off` for no limit.",
    )
    api_docs: bool = Field(
        default=True,
        description="Serve /docs, /redoc and /openapi.json (from local files); false: none of them.",
    )
    worker_poll_seconds: float = Field(
        default=5.0, gt=0, description="Pause of `commattr worker` when there is nothing to do."
    )

    @field_validator("database_url", "migration_database_url")
    @classmethod
    def _known_backend(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if value.startswith(("postgresql://", "postgres://")):
            # the driver this package ships (psycopg 3), not SQLAlchemy's default psycopg2
            return "postgresql+psycopg://" + value.split("://", 1)[1]
        if not value.startswith(("sqlite://", "postgresql+psycopg://")):
            raise ValueError(
                "must be a sqlite:///path or postgresql+psycopg://user:pass@host/db URL"
            )
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        if value.lower() not in LOG_LEVELS:
            raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}")
        return value.lower()

    @field_validator("crm_test_hosts")
    @classmethod
    def _host_and_port(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for host in value:
            name, _, port = host.rpartition(":")
            if not name or not port.isdigit():
                raise ValueError(f"{host!r} is not host:port")
        return value

    @field_validator("rate_limit_per_key", "rate_limit_failed_auth")
    @classmethod
    def _one_rate_limit(cls, value: str) -> str:
        if value.strip().lower() == RATE_LIMIT_OFF:
            return RATE_LIMIT_OFF
        try:
            parsed = parse_many(value)
        except ValueError:
            parsed = []
        if len(parsed) != 1 or parsed[0].amount < 1:
            raise ValueError(f"must be {RATE_LIMIT_OFF} or one limit such as 600/minute")
        return value.strip()

    def as_owner(self) -> Settings:
        """These settings with the tables' owner's URL: migrations, the commands and the worker."""
        if self.migration_database_url is None:
            return self
        return self.model_copy(update={"database_url": self.migration_database_url})

    def key_file(self) -> Path:
        """The generated encryption key's file: the setting, else in the data folder."""
        return self.encryption_key_file or self.data_dir / "encryption.key"

    def sqlite_path(self) -> Path | None:
        """The database file of a file-backed SQLite URL, so its folder can be created."""
        prefix = "sqlite:///"
        if self.database_url.startswith(prefix) and ":memory:" not in self.database_url:
            return Path(self.database_url.removeprefix(prefix))
        return None
