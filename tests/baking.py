"""Baking the template and running commands in the result."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import jinja2

TEMPLATE = Path(__file__).resolve().parent.parent
COOKIECUTTER_JSON = json.loads((TEMPLATE / "cookiecutter.json").read_text())
TEMPLATE_KEYS = {key for key in COOKIECUTTER_JSON if not key.startswith("_")}
PROJECT_TEMPLATE = TEMPLATE / "{{cookiecutter.project_slug}}"
# What every bake must pass, and what its CI workflow runs: `uv run <command>` in the project.
LINT_COMMANDS = [("ruff", "check", "."), ("ruff", "format", "--check", "."), ("mypy",)]
# git as on a fresh CI machine: no user name or email configured anywhere.
WITHOUT_GIT_IDENTITY = {"GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}


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


COOKIECUTTER = [sys.executable, "-m", "cookiecutter", "--no-input"]


def cookiecutter(
    output_dir: Path, env: dict[str, str] | None = None, **context: str
) -> subprocess.CompletedProcess[str]:
    """The real `cookiecutter` command, without prompts, in an environment like clean_env()."""
    arguments = [f"{key}={value}" for key, value in checked_context(context).items()]
    return subprocess.run(
        [*COOKIECUTTER, "--output-dir", str(output_dir), str(TEMPLATE), *arguments],
        capture_output=True,
        text=True,
        env=env if env is not None else clean_env(),
        timeout=120,
        check=False,
    )


def git(directory: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    """A git command in a directory, with git as a fresh machine has it (no identity)."""
    return subprocess.run(
        ["git", *arguments],
        cwd=directory,
        env=clean_env(**WITHOUT_GIT_IDENTITY),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def rendered_hook(name: str, **answers: str) -> ModuleType:
    """A hook rendered with the default answers (and these), imported as a module without
    running its main()."""
    context = {
        key: value[0] if isinstance(value, list) else value  # a choice's default is its first
        for key, value in COOKIECUTTER_JSON.items()
        if key in TEMPLATE_KEYS
    }
    source = jinja2.Environment().from_string((TEMPLATE / "hooks" / name).read_text())
    module = ModuleType(name.removesuffix(".py"))
    exec(compile(source.render(cookiecutter=context | answers), name, "exec"), module.__dict__)
    return module


# The bake that runs every test of its own; the others leave out what runs no code of theirs:
# - their tests marked driver_independent (a trace collector or Sentry failing, what is loaded
#   when neither is set, how a read is routed to a replica), on any server;
# - against a given server, their slow tests (a fault injected, processes started). Every bake
#   runs those on the embedded server; what the server changes for a slow test (its scratch
#   databases, the backends a test terminates, the PgBouncer in front of it) is the tests' own
#   code, the same for every driver and strategy. The reference bake is the one with the most
#   of that code: a PgBouncer started in front of the given server.
# Running them for all fifteen bakes, twice for the slow ones, would take CI past its time budget
# on two cores.
REFERENCE_BAKE = ("asyncpg", "pgbouncer")

# Against a given server (CI's second pass, selected by `pytest_collection_modifyitems` in
# conftest.py), one bake per driver, every strategy among them: what a given server changes is
# the URL each driver connects with and the tests' own code, and every bake has run all its
# tests on the embedded server before. All fifteen a second time took CI past its time budget.
SERVER_PASS_BAKES = {
    REFERENCE_BAKE,
    ("psycopg", "pool"),
    ("databases", "per_request"),
    ("sqlalchemy", "per_request"),
    ("sqlalchemy_async", "pool"),
}
