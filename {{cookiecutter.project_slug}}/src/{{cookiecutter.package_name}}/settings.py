"""Configuration from the environment (and `.env`), validated once at start-up."""

from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .urls import hide_password

# How long past DB_STATEMENT_TIMEOUT the client still waits for the server's answer. The server
# cancels a slow statement itself; the client gives up only on a server that stopped answering.
CLIENT_TIMEOUT_MARGIN = 1.0


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    # postgresql://user:password@host:port/database; empty means "start an embedded PostgreSQL".
    database_url: SecretStr = SecretStr("")
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

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    workers: int = Field(default=1, ge=1)
    log_level: Literal["critical", "error", "warning", "info", "debug"] = "info"

    @field_validator("log_level", mode="before")
    @classmethod
    def _lowercase_level(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @property
    def db_client_timeout(self) -> float:
        """Seconds the client waits for the server's answer before it gives the connection up."""
        return self.db_statement_timeout + CLIENT_TIMEOUT_MARGIN

    @property
    def database_url_for_logs(self) -> str:
        return hide_password(self.database_url.get_secret_value())
