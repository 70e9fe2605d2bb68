"""Apply the Alembic migrations from code (the `alembic` command does the same from a shell)."""

from alembic import command
from alembic.config import Config

SCRIPT_LOCATION = "{{ cookiecutter.package_name }}:migrations"


def upgrade_to_head(database_url: str) -> None:
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.attributes["database_url"] = database_url
    command.upgrade(config, "head")
