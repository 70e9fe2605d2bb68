"""A generated project is a git repository with one commit of what was generated, unless it was
generated inside a work tree; without git, generation still succeeds and says so."""

from pathlib import Path

import pytest

from .baking import WITHOUT_GIT_IDENTITY, clean_env, cookiecutter, git


def git_lines(output: str) -> list[str]:
    """The lines of cookiecutter's output that speak of git: the hook says one."""
    return [line for line in output.splitlines() if "git" in line]


def files_on_disk(project: Path) -> set[str]:
    return {
        file.relative_to(project).as_posix()
        for file in project.rglob("*")
        if file.is_file() and ".git" not in file.relative_to(project).parts
    }


@pytest.mark.parametrize(
    ("answers", "author"),
    [
        (
            {"author_name": "Ada Lovelace", "author_email": "ada@example.com"},
            "Ada Lovelace <ada@example.com>",
        ),
        ({"author_name": "", "author_email": ""}, "My Service <>"),
    ],
    ids=["author-answers", "no-author"],
)
def test_outside_a_work_tree_the_project_is_a_repository_with_one_clean_commit(
    tmp_path: Path, answers: dict[str, str], author: str
) -> None:
    # No git identity anywhere, as on a CI machine: the hook must bring its own.
    result = cookiecutter(tmp_path, env=clean_env(**WITHOUT_GIT_IDENTITY), **answers)

    assert result.returncode == 0, result.stderr
    project = tmp_path / "my-service"
    assert git_lines(result.stdout) == [
        "Initialised a git repository on branch main with one commit of the generated files"
    ]
    assert git(project, "rev-parse", "--show-toplevel").stdout.strip() == str(project)
    assert git(project, "branch", "--show-current").stdout.strip() == "main"
    assert git(project, "rev-list", "--count", "HEAD").stdout.strip() == "1"
    assert git(project, "log", "--format=%an <%ae>").stdout.strip() == author
    assert git(project, "status", "--porcelain", "--ignored").stdout == ""
    assert set(git(project, "ls-files").stdout.split()) == files_on_disk(project)


def test_inside_a_work_tree_nothing_is_initialised(tmp_path: Path) -> None:
    monorepo = tmp_path / "monorepo"
    monorepo.mkdir()
    assert git(monorepo, "init", "--quiet").returncode == 0

    result = cookiecutter(monorepo)

    assert result.returncode == 0, result.stderr
    project = monorepo / "my-service"
    assert (project / "pyproject.toml").is_file()
    assert not (project / ".git").exists()
    assert git_lines(result.stdout) == [
        f"Generated inside the git work tree {monorepo}: no repository initialised"
    ]
    # The enclosing repository is left as it was: nothing added, nothing committed.
    assert git(monorepo, "rev-parse", "--verify", "--quiet", "HEAD").returncode != 0
    assert git(monorepo, "status", "--porcelain").stdout == "?? my-service/\n"


def test_without_git_generation_succeeds_and_says_so_in_one_line(tmp_path: Path) -> None:
    no_tools = tmp_path / "bin"
    no_tools.mkdir()

    result = cookiecutter(tmp_path, env=clean_env(PATH=str(no_tools)))

    assert result.returncode == 0, result.stderr
    assert (tmp_path / "my-service" / "pyproject.toml").is_file()
    assert not (tmp_path / "my-service" / ".git").exists()
    assert git_lines(result.stdout) == [
        "git is not installed: the project is not a git repository (run `git init` later)"
    ]
