"""Shape the generated tree for the chosen driver and connection strategy.

The template keeps what every variant shares in the project tree itself and
what differs in layers under ``_variants/``: each layer is a folder that
mirrors the project tree. The layers the choice needs are copied over the
shared tree in order (a later layer's file replaces an earlier one's), then
``_variants/`` is removed, so only the chosen variant is left.
"""

import json
import shutil
import sys
from pathlib import Path

DB_DRIVER = json.loads(r'''{{ cookiecutter.db_driver | tojson }}''')
CONNECTION_STRATEGY = json.loads(r'''{{ cookiecutter.connection_strategy | tojson }}''')

VARIANTS = Path("_variants")
# One uv.lock per combination (refreshed by `python -m scripts.relock`), so that a project is
# locked from its first commit: `uv sync --locked`, image builds and CI need no resolution first.
LOCKS = VARIANTS / "locks"

# The manifest: which layers each driver owns, applied in this order.
LAYERS_BY_DRIVER: dict[str, tuple[str, ...]] = {
    "asyncpg": ("async", "on-asyncpg", "asyncpg"),
    "psycopg": ("async", "psycopg"),
    "databases": ("async", "on-asyncpg", "databases"),
    "sqlalchemy": ("sqlalchemy",),
}
# Then the strategy's layers, each followed by its driver-specific part (`<driver>-<layer>`)
# where the template has one. "pooled" is what the two strategies with a pool share.
LAYERS_BY_STRATEGY: dict[str, tuple[str, ...]] = {
    "pool": ("pooled",),
    "per_request": ("per_request",),
    "pgbouncer": ("pooled", "pgbouncer"),
}


def layers_for(driver: str, strategy: str) -> list[str]:
    """The layers to apply, in order; a strategy layer or its driver part may be absent."""
    layers = list(LAYERS_BY_DRIVER[driver])
    for layer in LAYERS_BY_STRATEGY[strategy]:
        layers += [name for name in (layer, f"{driver}-{layer}") if (VARIANTS / name).is_dir()]
    return layers


def apply_layer(layer: Path, project: Path) -> None:
    shutil.copytree(layer, project, dirs_exist_ok=True)


def place_lock_file(driver: str, strategy: str, project: Path) -> None:
    lock = LOCKS / f"{driver}-{strategy}.uv.lock"
    if lock.is_file():  # absent only while `scripts.relock` makes the first one of a combination
        shutil.copyfile(lock, project / "uv.lock")


def remove_variants() -> None:
    shutil.rmtree(VARIANTS)


def main() -> int:
    project = Path.cwd()
    for layer in layers_for(DB_DRIVER, CONNECTION_STRATEGY):
        apply_layer(VARIANTS / layer, project)
    place_lock_file(DB_DRIVER, CONNECTION_STRATEGY, project)
    remove_variants()
    return 0


if __name__ == "__main__":
    sys.exit(main())
