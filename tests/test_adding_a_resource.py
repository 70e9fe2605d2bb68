"""The generated README's "Adding a resource", done as a user would: `items/` copied to `notes/`
and renamed, a migration for its table, and its router included in `app.py`. The project then
passes ruff and mypy, and the tests of everything a resource touches (the new resource's own,
the items', the layering, the migrations), and nothing but `app.py` had to change.

Once per driver, the strategies taken in turn: the package is the same for a driver's three
strategies but for its dependencies, and the template suite runs every bake's whole suite."""

import shutil
from pathlib import Path

import pytest

from .baking import LINT_COMMANDS, combination_id, git, run
from .conftest import Bake

RECIPE_COMBINATIONS = [
    {"db_driver": "asyncpg", "connection_strategy": "pool"},
    {"db_driver": "psycopg", "connection_strategy": "pgbouncer"},
    {"db_driver": "databases", "connection_strategy": "per_request"},
    {"db_driver": "sqlalchemy", "connection_strategy": "pool"},
    {"db_driver": "sqlalchemy_async", "connection_strategy": "per_request"},
]
# What a user writes for the notes table: what 0001 to 0003 made for items, in one revision.
NOTES_MIGRATION = '''"""Create the notes table.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notes",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), primary_key=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.UniqueConstraint("name", name="notes_name_key"),
        sa.CheckConstraint(
            "char_length(description) <= 2000", name="notes_description_length"
        ),
    )
    op.create_index(
        "notes_created_at_id_idx", "notes", [sa.text("created_at DESC"), sa.text("id DESC")]
    )


def downgrade() -> None:
    op.drop_table("notes")
'''
FORMAT_COMMANDS = [("ruff", "format", "."), ("ruff", "check", "--fix", ".")]
SKIPPED_IN_THE_COPY = shutil.ignore_patterns(
    ".venv", ".mypy_cache", ".pytest_cache", ".ruff_cache", "__pycache__"
)


def renamed(text: str) -> str:
    """Items become notes, in every case: `ItemRepository`, `get_items`, `items_name_key`..."""
    for item, note in (("ITEM", "NOTE"), ("Item", "Note"), ("item", "note")):
        text = text.replace(item, note)
    return text


def copy_renamed(source: Path, target: Path) -> None:
    target.mkdir()
    for file in source.rglob("*"):
        if file.is_file() and "__pycache__" not in file.parts:
            copy = target / renamed(file.relative_to(source).as_posix())
            copy.parent.mkdir(parents=True, exist_ok=True)
            copy.write_text(renamed(file.read_text()))


def replaced_once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"app.py no longer has {old!r} once: update the README's recipe"
    return text.replace(old, new)


def add_notes(project: Path, package: str) -> None:
    """The README's four steps."""
    source = project / "src" / package
    copy_renamed(source / "items", source / "notes")
    app = source / "app.py"
    text = replaced_once(app.read_text(), "from . import items\n", "from . import items, notes\n")
    include = "    app.include_router(items.router)\n"
    app.write_text(replaced_once(text, include, include + "    app.include_router(notes.router)\n"))
    (source / "migrations" / "versions" / "0004_create_notes.py").write_text(NOTES_MIGRATION)
    tests = project / "tests"
    (tests / "test_notes.py").write_text(renamed((tests / "test_items.py").read_text()))


def changed_files(project: Path) -> list[str]:
    status = git(project, "status", "--porcelain", "--untracked-files=all")
    assert status.returncode == 0, status.stderr
    return sorted(line[3:] for line in status.stdout.splitlines())


@pytest.mark.project_suite
@pytest.mark.parametrize(
    "context",
    [
        pytest.param(
            context,
            id=combination_id(context),
            marks=pytest.mark.xdist_group(combination_id(context)),
        )
        for context in RECIPE_COMBINATIONS
    ],
)
def test_a_second_resource_is_a_package_a_line_in_the_app_and_a_migration(
    bake, context: dict[str, str], tmp_path: Path
) -> None:
    baked = bake(context)
    project = tmp_path / baked.path.name
    shutil.copytree(baked.path, project, ignore=SKIPPED_IN_THE_COPY)
    package = baked.package

    add_notes(project, package)
    with_notes = Bake(context, project)
    for command in FORMAT_COMMANDS:  # `make format`: the renaming reorders some imports
        with_notes.uv_run(*command)

    new_package = project / "src" / package / "notes"
    notes = [f"src/{package}/notes/{file.name}" for file in new_package.iterdir()]
    assert changed_files(project) == sorted(
        [
            f"src/{package}/app.py",
            *notes,
            f"src/{package}/migrations/versions/0004_create_notes.py",
            "tests/test_notes.py",
        ]
    )
    for command in LINT_COMMANDS:
        with_notes.uv_run(*command)
    suites = ["test_notes.py", "test_items.py", "test_layout.py", "test_migrations.py"]
    if context["db_driver"] in ("sqlalchemy", "sqlalchemy_async"):
        suites.append("test_models.py")  # the notes model and its migration agree
    output = with_notes.uv_run(
        "pytest", "-q", "-rA", "-p", "no:cacheprovider", *(f"tests/{suite}" for suite in suites)
    )
    summary = output.strip().splitlines()[-1]
    assert "passed" in summary, output
    assert "failed" not in summary, output
    assert "skipped" not in summary, output
    assert output.count("PASSED tests/test_notes.py::") >= 20, output
    paths = OPENAPI_PATHS.format(package=package)
    served = run(["uv", "run", "--no-sync", "python", "-c", paths], project)
    assert {"/notes", "/notes/{note_id}", "/items", "/items/{item_id}"} <= set(served.split())


# The paths the app serves, as its OpenAPI document lists them.
OPENAPI_PATHS = "from {package}.app import create_app; print(*create_app().openapi()['paths'])"
