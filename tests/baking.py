"""Baking the template and running commands in the result."""

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

TEMPLATE = Path(__file__).resolve().parent.parent
COOKIECUTTER_JSON = json.loads((TEMPLATE / "cookiecutter.json").read_text())
TEMPLATE_KEYS = {key for key in COOKIECUTTER_JSON if not key.startswith("_")}


def offered(key: str) -> list[str]:
    """The choices cookiecutter.json offers for a choice variable."""
    choices: list[str] = COOKIECUTTER_JSON[key]
    return choices


def combinations() -> list[dict[str, str]]:
    """Every driver with every strategy that cookiecutter.json offers."""
    return [
        {"db_driver": driver, "connection_strategy": strategy}
        for driver in offered("db_driver")
        for strategy in offered("connection_strategy")
    ]


def combination_id(context: dict[str, str]) -> str:
    return f"{context['db_driver']}-{context['connection_strategy']}"


def checked_context(extra_context: dict[str, Any]) -> dict[str, Any]:
    """cookiecutter silently ignores unknown keys; a typo here would test nothing."""
    unknown = set(extra_context) - TEMPLATE_KEYS
    assert not unknown, f"not in cookiecutter.json: {sorted(unknown)}"
    return extra_context


def pgbouncer_binary() -> str | None:
    """PgBouncer, which the pgbouncer bakes' suites and the benchmark run; Debian installs it in
    /usr/sbin, which is not on every user's PATH."""
    return shutil.which("pgbouncer") or shutil.which("pgbouncer", path="/usr/sbin:/usr/local/sbin")


def clean_env(**extra: str) -> dict[str, str]:
    """The environment for a command in a baked project: not this repository's virtualenv."""
    env = {key: value for key, value in os.environ.items() if key != "VIRTUAL_ENV"}
    env.update(extra)
    return env


class CommandFailed(RuntimeError):
    """A command in a baked project exited non-zero; the message holds its output."""


def run(command: list[str], cwd: Path, timeout: float = 900, **env: str) -> str:
    """Run a command in a baked project's environment; its output, or CommandFailed with it."""
    result = subprocess.run(
        command,
        cwd=cwd,
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    output = result.stdout + result.stderr
    if result.returncode != 0:
        raise CommandFailed(f"{' '.join(command)} exited {result.returncode} in {cwd}:\n{output}")
    return output
