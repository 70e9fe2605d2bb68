"""Configuration from the environment (and `.env`), validated once at start-up."""

from typing import Literal, Self

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .observability.logs import LogFormat

# How a drain ends, within DRAIN_TIMEOUT: the database gets DATABASE_CLOSE_TIMEOUT seconds to
# close, then the process EXIT_TIME seconds to exit (Python's own teardown takes a second on a
# busy machine, and with WORKERS > 1 the supervisor exits after the workers).
DATABASE_CLOSE_TIMEOUT = 1
EXIT_TIME = 2
# How long past DB_STATEMENT_TIMEOUT the client still waits for the server's answer. The server
# cancels a slow statement itself; the client gives up only on a server that stopped answering.
CLIENT_TIMEOUT_MARGIN = 1.0


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    # postgresql://user:password@host:port/database; empty means "start an embedded PostgreSQL".
    database_url: SecretStr = SecretStr("")
    # Where migrations connect when it is not DATABASE_URL: straight to PostgreSQL when the app
    # goes through a pooler, or as a role that may change the schema.
    migration_database_url: SecretStr = SecretStr("")
    # Seconds a migration waits for a lock on a table before it gives up: queued behind a long
    # transaction, it would otherwise hold up every query on that table until it got the lock.
    migration_lock_timeout: float = Field(default=3.0, gt=0)
    # Seconds one statement of a migration may run (0: no limit). Raise it for a long backfill.
    migration_statement_timeout: float = Field(default=600.0, ge=0)
{%- if cookiecutter.connection_strategy != "per_request" %}
    # Per process: replicas x WORKERS x DB_POOL_MAX_SIZE must stay below max_connections.
    db_pool_min_size: int = Field(default=2, ge=0)
    db_pool_max_size: int = Field(default=10, ge=1)
    # Seconds a request waits for a free connection before it is answered 503.
    db_pool_timeout: float = Field(default=5.0, gt=0)
{%- endif %}
    # Seconds to open a connection, and seconds a statement may run before the server cancels it.
    db_connect_timeout: float = Field(default=5.0, gt=0)
    db_statement_timeout: float = Field(default=30.0, gt=0)
    # A streaming replica of DATABASE_URL's server for one-statement reads; empty: none.
    database_replica_url: SecretStr = SecretStr("")
    # Seconds of replay lag beyond which reads go to the primary.
    db_replica_max_lag: float = Field(default=5.0, gt=0)
    # Seconds between the checks of the replica's replay position (and state).
    db_replica_check_interval: float = Field(default=1.0, gt=0)
{%- if cookiecutter.connection_strategy != "per_request" %}
    # The replica's pool, per process. No connection is opened ahead by default: the service
    # starts, and reads go to the primary, while the replica is down.
    db_replica_pool_min_size: int = Field(default=0, ge=0)
    db_replica_pool_max_size: int = Field(default=10, ge=1)
{%- endif %}
{%- if cookiecutter.connection_strategy == "pgbouncer" and cookiecutter.db_driver in ["asyncpg", "databases"] %}
    # Statements asyncpg keeps prepared on the server, per connection. PgBouncer before 1.21
    # cannot pass prepared statements on in transaction mode: 0 (unnamed statements, parsed each
    # time) is what it needs. With PgBouncer 1.21+ and its max_prepared_statements set, raise it
    # (asyncpg's own default is 100) to spare each statement a round trip.
    db_statement_cache_size: int = Field(default=0, ge=0)
{%- endif %}

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    workers: int = Field(default=1, ge=1)
    log_level: Literal["critical", "error", "warning", "info", "debug"] = "info"
    # "json": one JSON object per line, for a log collector; "text": readable lines.
    log_format: LogFormat = "text"
    # Serve Prometheus metrics on /metrics.
    metrics_enabled: bool = True
    # Traces go over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set: OpenTelemetry's SDK reads it
    # and the other OTEL_* variables from the environment itself (observability/tracing.py).
    # Unhandled errors are reported to Sentry when SENTRY_DSN is set.
    sentry_dsn: SecretStr = SecretStr("")
    sentry_environment: str = ""
    # The share of requests Sentry traces itself (0: none).
    sentry_traces_sample_rate: float = Field(default=0.0, ge=0, le=1)

    # Bytes a request body may have; a larger one is answered 413 without being read.
    max_request_body_bytes: int = Field(default=1024 * 1024, ge=0)
    # On SIGTERM, /health/ready answers 503 at once and requests are still served for
    # DRAIN_DELAY seconds, so that load balancers stop sending; then the service stops listening.
    # The process exits within DRAIN_TIMEOUT seconds of the signal, cutting short what still runs.
    drain_delay: int = Field(default=5, ge=0)
    drain_timeout: int = Field(default=20, ge=1)

    @field_validator("log_level", "log_format", mode="before")
    @classmethod
    def _lowercase(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @property
    def url_to_migrate(self) -> str:
        return (
            self.migration_database_url.get_secret_value() or self.database_url.get_secret_value()
        )

    def for_replica(self) -> Self:
        """These settings with the replica as the database{% if cookiecutter.connection_strategy != "per_request" %}, and its pool's sizes{% endif %}."""
        return self.model_copy(
            update={
                "database_url": self.database_replica_url,
{%- if cookiecutter.connection_strategy != "per_request" %}
                "db_pool_min_size": self.db_replica_pool_min_size,
                "db_pool_max_size": self.db_replica_pool_max_size,
{%- endif %}
            }
        )

    @model_validator(mode="after")
    def _drain_leaves_time_to_finish(self) -> Self:
        reserve = DATABASE_CLOSE_TIMEOUT + EXIT_TIME
        if self.drain_timeout < self.drain_delay + 1 + reserve:
            raise ValueError(
                f"DRAIN_TIMEOUT must be at least DRAIN_DELAY + {1 + reserve}: a second for the "
                f"requests in flight, {DATABASE_CLOSE_TIMEOUT} to close the database and "
                f"{EXIT_TIME} to exit"
            )
        return self

    @property
    def db_client_timeout(self) -> float:
        """Seconds the client waits for the server's answer before it gives the connection up."""
        return self.db_statement_timeout + CLIENT_TIMEOUT_MARGIN


def load_settings() -> Settings:
    """The settings from the environment and `.env`; one that is wrong stops the process with a
    line that names it, rather than a traceback."""
    try:
        return Settings()
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in problem['loc']).upper() or 'settings'}: "
            f"{problem['msg']}"
            for problem in error.errors()
        )
        raise SystemExit(f"invalid settings: {problems}") from None
