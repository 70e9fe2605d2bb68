import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest

from .baking import (
    SERVER_PASS_BAKES,
    TEMPLATE,
    checked_context,
    combination_id,
    combinations,
    run,
)
from .containers import remove_storage, storage_root


def pytest_configure(config: pytest.Config) -> None:
    """Bake outside /tmp/pytest-of-<user>. Run as root, a bake's embedded PostgreSQL runs as
    another user, from binaries in the bake's .venv; pytest makes its tree owner-only again
    whenever any pytest session starts (the bakes' own suites among them), and the server would
    lose its binaries mid-run. One directory per checkout, emptied by pytest at each run."""
    if config.option.basetemp is None:
        checkout = hashlib.sha256(str(TEMPLATE).encode()).hexdigest()[:8]
        basetemp = Path(tempfile.gettempdir()) / f"template-tests-{checkout}"
        config.option.basetemp = str(basetemp)
        # A run stopped halfway leaves image containers mounted there, which pytest cannot empty.
        if storage_root(basetemp).exists():
            remove_storage(storage_root(basetemp))


class Bake:
    """A baked project, synced once and shared by the tests of its combination."""

    def __init__(self, context: dict[str, str], path: Path) -> None:
        self.context = context
        self.path = path
        self.package = path.name.replace("-", "_")
        self._synced = False

    def sync(self) -> None:
        if not self._synced:
            run(["uv", "sync", "--locked", "--quiet"], self.path)
            self._synced = True

    def uv_run(self, *command: str, timeout: float = 900, **env: str) -> str:
        self.sync()
        return run(["uv", "run", "--no-sync", *command], self.path, timeout=timeout, **env)


@pytest.fixture(scope="session")
def bake(cookies_session: Any) -> Any:
    """Bake a combination (once per session and worker)."""
    bake_cache: dict[str, Bake] = {}

    def _bake(context: dict[str, str]) -> Bake:
        key = combination_id(context)
        if key not in bake_cache:
            result = cookies_session.bake(extra_context=checked_context(dict(context)))
            assert result.exit_code == 0, result.exception
            bake_cache[key] = Bake(context, Path(result.project_path))
        return bake_cache[key]

    return _bake


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests that take `combination` run once for every combination, grouped per worker."""
    if "combination" in metafunc.fixturenames:
        metafunc.parametrize(
            "combination",
            [
                pytest.param(
                    context,
                    id=combination_id(context),
                    marks=pytest.mark.xdist_group(combination_id(context)),
                )
                for context in combinations()
            ],
        )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Against a given server (TEST_DATABASE_URL), the projects' suites run for the bakes of
    SERVER_PASS_BAKES only (baking.py says why); the others are deselected, and counted so."""
    if not os.environ.get("TEST_DATABASE_URL"):
        return
    left_out = [item for item in items if not in_the_server_pass(item)]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = [item for item in items if in_the_server_pass(item)]


def in_the_server_pass(item: pytest.Item) -> bool:
    if getattr(item, "originalname", None) != "test_the_projects_own_suite_passes":
        return True
    combination = item.callspec.params["combination"]  # type: ignore[attr-defined]
    return (combination["db_driver"], combination["connection_strategy"]) in SERVER_PASS_BAKES


def pytest_sessionfinish(session: pytest.Session) -> None:
    """The controller (or a run without workers) removes the image tests' storage, once every
    worker is done with it."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return
    root = storage_root(session.config._tmp_path_factory.getbasetemp())
    if root.exists():
        remove_storage(root)
