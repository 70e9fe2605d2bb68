"""Every combination bakes into one clean project that lints, type-checks and passes its suite."""

import os
import re
import tomllib
from pathlib import Path

import pytest

from .baking import (
    LINT_COMMANDS,
    PROJECT_TEMPLATE,
    REFERENCE_BAKE,
    TEMPLATE_KEYS,
    combinations,
    pgbouncer_binary,
    rendered_hook,
)

# Text that betrays code of another driver or strategy, per choice: none may be in its bakes.
FOREIGN_TO_DRIVER: dict[str, list[str]] = {
    "asyncpg": [r"psycopg", r"\bimport databases\b", r"\bdatabases~=", r"sqlalchemy\.orm"],
    "psycopg": [r"asyncpg", r"\bimport databases\b", r"\bdatabases~=", r"sqlalchemy\.orm"],
    "databases": [r"psycopg", r"sqlalchemy\.orm"],
    "sqlalchemy": [r"asyncpg", r"\bimport databases\b", r"\bdatabases~=", r"AsyncSession"],
    "sqlalchemy_async": [
        r"psycopg",
        r"\bimport databases\b",
        r"\bdatabases~=",
        r"run_in_threadpool",
        r"\.reserved_connection\(",
    ],
}
POOL_OBJECTS = [
    r"DB_POOL_",
    r"db_pool_",
    r"PoolStats",
    r"psycopg[_-]pool",
    r"create_pool\(",
    r"QueuePool",
    r"expire_connections",
]
# Settings only PgBouncer in transaction mode needs.
FOR_PGBOUNCER = [r"(?i)pgbouncer", r"statement_cache_size", r"prepare_threshold", r"connect_query"]
# Startup parameters PgBouncer refuses.
REFUSED_BY_PGBOUNCER = [r"-c statement_timeout", r"\"statement_timeout\":"]
FOREIGN_TO_STRATEGY: dict[str, list[str]] = {
    "pool": [*FOR_PGBOUNCER, r"(?i)per[_-]request"],
    "per_request": [*FOR_PGBOUNCER, *POOL_OBJECTS],
    "pgbouncer": [*REFUSED_BY_PGBOUNCER, r"(?i)per[_-]request"],
}
# Jinja's delimiters (not GitHub Actions' `${{ ... }}` expressions) and cookiecutter variables.
TEMPLATE_SYNTAX = re.compile(r"(?<!\$)\{\{|\{%|%\}|\{#|\bcookiecutter\.[a-z_]")
SKIPPED_DIRS = {".venv", ".git", ".mypy_cache", ".pytest_cache", ".ruff_cache", "__pycache__"}


def project_files(path: Path) -> list[Path]:
    return [
        file
        for file in path.rglob("*")
        if file.is_file() and not SKIPPED_DIRS.intersection(file.relative_to(path).parts)
    ]


def test_the_matrix_covers_every_offered_choice() -> None:
    drivers = {context["db_driver"] for context in combinations()}
    strategies = {context["connection_strategy"] for context in combinations()}

    assert drivers <= set(FOREIGN_TO_DRIVER)
    assert strategies <= set(FOREIGN_TO_STRATEGY)
    assert len(combinations()) == len(drivers) * len(strategies)
    assert {"db_driver", "connection_strategy", "project_name"} <= TEMPLATE_KEYS


def test_no_template_text_is_left(bake, combination) -> None:
    project = bake(combination).path

    leftovers = [
        f"{file.relative_to(project)}: {match.group()}"
        for file in project_files(project)
        for match in [TEMPLATE_SYNTAX.search(file.read_text(errors="replace"))]
        if match
    ]

    assert not leftovers
    # Every version of a file the choice did not take is gone, and the one it took is renamed.
    assert not [path for path in project.rglob("*@*") if ".venv" not in path.parts]
    assert not (project / "_locks").exists()


def test_every_layer_named_in_the_template_is_one_a_choice_applies() -> None:
    hook = rendered_hook("post_gen_project.py")
    applied = {
        layer
        for context in combinations()
        for layer in hook.layers_for(context["db_driver"], context["connection_strategy"])
    }

    named = {hook.split_layer(path.name)[1] for path in PROJECT_TEMPLATE.rglob("*")} - {None}

    assert named, "the template names no layer: the test would prove nothing"
    assert named <= applied, f"a typo? {sorted(named - applied)}"


def test_nothing_foreign_to_the_choice_is_left(bake, combination) -> None:
    project = bake(combination).path
    patterns = (
        FOREIGN_TO_DRIVER[combination["db_driver"]]
        + FOREIGN_TO_STRATEGY[combination["connection_strategy"]]
    )

    found = [
        f"{file.relative_to(project)}: {pattern}"
        for file in project_files(project)
        for pattern in patterns
        if re.search(pattern, file.read_text(errors="replace"))
    ]

    assert not found


# A Markdown link to a file of the project, with an optional #anchor.
RELATIVE_LINK = re.compile(r"\]\((?!https?:|mailto:)([^)#\s]*)(#[^)\s]*)?\)")


def heading_anchors(markdown: str) -> set[str]:
    """The anchors GitHub gives the file's headings."""
    return {
        "#" + re.sub(r"[^\w\- ]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
        for line in markdown.splitlines()
        if line.startswith("#")
    }


def test_every_link_in_the_documentation_leads_somewhere(bake, combination) -> None:
    project = bake(combination).path
    pages = [project / "README.md", *sorted((project / "docs").glob("*.md"))]

    broken = []
    for page in pages:
        for target, anchor in RELATIVE_LINK.findall(page.read_text()):
            linked = (page.parent / target).resolve() if target else page
            if not linked.is_file():
                broken.append(f"{page.relative_to(project)}: {target}")
            elif anchor and anchor not in heading_anchors(linked.read_text()):
                broken.append(f"{page.relative_to(project)}: {target}{anchor}")

    assert len(pages) > 1
    assert not broken


def test_project_metadata(bake, combination) -> None:
    project = bake(combination)

    pyproject = tomllib.loads((project.path / "pyproject.toml").read_text())

    assert pyproject["project"]["name"] == "my-service"
    assert (project.path / "src" / project.package / "__main__.py").is_file()
    for expected in [
        "README.md",
        "Makefile",
        ".env.example",
        ".gitignore",
        "alembic.ini",
        "uv.lock",
    ]:
        assert (project.path / expected).is_file(), expected
    assert ".pgdata/" in (project.path / ".gitignore").read_text().splitlines()


@pytest.mark.parametrize("command", LINT_COMMANDS, ids=" ".join)
def test_lint_passes(bake, combination, command: tuple[str, ...]) -> None:
    bake(combination).uv_run(*command)


def selection(combination: dict[str, str], against_a_server: bool) -> str | None:
    """The tests a bake runs (a -m expression; None: all of them). Against TEST_DATABASE_URL,
    never those that freeze or stop a server of their own (the embedded run has done them), nor
    those that run the same code whatever the server."""
    reference = (combination["db_driver"], combination["connection_strategy"]) == REFERENCE_BAKE
    if against_a_server:
        if reference:
            return "not own_server and not driver_independent"
        return "not own_server and not slow"
    return None if reference else "not driver_independent"


@pytest.mark.project_suite
def test_the_projects_own_suite_passes(bake, combination) -> None:
    if combination["connection_strategy"] == "pgbouncer" and not pgbouncer_binary():
        message = "PgBouncer is not installed (apt-get install pgbouncer)"
        if os.environ.get("CI"):
            pytest.fail(f"{message}: CI must run the pgbouncer bakes through a real one")
        pytest.skip(f"{message}: the pgbouncer bakes' suites would skip their tests")
    # Against a given server, as the generated CI's server job does.
    against_a_server = bool(os.environ.get("TEST_DATABASE_URL"))
    chosen = selection(combination, against_a_server)
    output = bake(combination).uv_run(
        "pytest", "-q", "-p", "no:cacheprovider", *(["-m", chosen] if chosen else []), timeout=1800
    )

    summary = output.strip().splitlines()[-1]
    print(f"{combination}: {summary}")
    assert re.search(r"\d+ passed", summary), output
    assert "skipped" not in summary, output
    assert ("deselected" in summary) == (chosen is not None), output
