"""Apply the Alembic migrations from code (the `alembic` command does the same from a shell)."""

from alembic import command
from alembic.config import Config

from .settings import Settings
from .urls import with_scheme

SCRIPT_LOCATION = "{{ cookiecutter.package_name }}:migrations"


def upgrade_to_head(database_url: str) -> None:
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.attributes["database_url"] = database_url
    command.upgrade(config, "head")


def url_to_migrate(config: Config, scheme: str) -> str:
    """The database to migrate, in the scheme SQLAlchemy wants: the one given by
    `upgrade_to_head`, else DATABASE_URL."""
    url = config.attributes.get("database_url") or Settings().database_url.get_secret_value()
    if not url:
        raise SystemExit("DATABASE_URL is not set: say which database to migrate.")
    return with_scheme(str(url), scheme)
