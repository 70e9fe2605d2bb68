"""What the prompts accept and refuse, through the real `cookiecutter` command."""

import ast
import tomllib
from pathlib import Path

import pytest

from .baking import cookiecutter, run

BAD_INPUTS = [
    ({"package_name": "1service"}, "package_name '1service' must be a lowercase Python identifier"),
    ({"package_name": "my-service"}, "package_name 'my-service' must be a lowercase Python"),
    ({"package_name": "My_Service"}, "package_name 'My_Service' must be a lowercase Python"),
    ({"package_name": "class"}, "package_name 'class' is a Python keyword"),
    ({"package_name": "fastapi"}, "package_name 'fastapi' would shadow a module"),
    ({"project_slug": "my service"}, "project_slug 'my service' must be kebab-case"),
    ({"project_slug": "My-Service"}, "project_slug 'My-Service' must be kebab-case"),
    ({"project_slug": "-service"}, "project_slug '-service' must be kebab-case"),
    ({"author_email": "not-an-email"}, "author_email 'not-an-email' is not an email address"),
]


@pytest.mark.parametrize(
    ("context", "message"), BAD_INPUTS, ids=[next(iter(c.values())) for c, _ in BAD_INPUTS]
)
def test_bad_input_is_refused_with_one_clear_line(
    tmp_path: Path, context: dict[str, str], message: str
) -> None:
    result = cookiecutter(tmp_path, **context)

    assert result.returncode != 0
    # cookiecutter adds its own report of the failed hook; ours is the line that says what to do.
    errors = [
        line
        for line in result.stderr.splitlines()
        if line.startswith("ERROR: ") and "hook" not in line
    ]
    assert len(errors) == 1, result.stderr
    assert message in errors[0]
    assert list(tmp_path.iterdir()) == [], "a refused project must leave nothing on disk"


@pytest.mark.parametrize(
    ("key", "value"), [("db_driver", "mysql"), ("connection_strategy", "sometimes")]
)
def test_a_choice_that_is_not_offered_is_refused(tmp_path: Path, key: str, value: str) -> None:
    result = cookiecutter(tmp_path, **{key: value})

    assert result.returncode != 0
    assert value in result.stderr
    assert list(tmp_path.iterdir()) == []


HOSTILE = "O'Brien \"\"\" ''' \\ $(touch pwned) \u00e9"


def test_text_answers_reach_the_project_verbatim_and_inject_nothing(tmp_path: Path) -> None:
    result = cookiecutter(
        tmp_path,
        project_name="Hostile Service",
        description=HOSTILE,
        author_name=HOSTILE,
    )

    assert result.returncode == 0, result.stderr
    project = tmp_path / "hostile-service"
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    assert pyproject["project"]["description"] == HOSTILE
    assert pyproject["project"]["authors"][0]["name"] == HOSTILE
    assert not (project / "pwned").exists()
    # The package's docstring carries the description, as valid Python.
    init = (project / "src" / "hostile_service" / "__init__.py").read_text()
    assert ast.get_docstring(ast.parse(init), clean=False) == HOSTILE


def test_derived_names_follow_the_project_name(tmp_path: Path) -> None:
    result = cookiecutter(tmp_path, project_name="Billing  API v2")

    assert result.returncode == 0, result.stderr
    assert (tmp_path / "billing-api-v2" / "src" / "billing_api_v2" / "app.py").is_file()


def test_the_shipped_lock_fits_a_project_of_any_name(tmp_path: Path) -> None:
    """Every bake ships the uv.lock of its combination; the project's own name in it is the
    slug asked for, so `uv sync --locked` works from the first commit."""
    result = cookiecutter(tmp_path, project_name="Billing API", db_driver="sqlalchemy")

    assert result.returncode == 0, result.stderr
    project = tmp_path / "billing-api"
    lock = tomllib.loads((project / "uv.lock").read_text())
    assert {"name": "billing-api", "version": "0.1.0"}.items() <= next(
        package for package in lock["package"] if package.get("source") == {"editable": "."}
    ).items()
    run(["uv", "lock", "--check"], project)
