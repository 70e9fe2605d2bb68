"""Template updates with cruft: a project created from an earlier commit of this repository is
updated to the commit checked out here, with no conflict, and then passes its lint and tests.

cruft clones the template's repository, so this test sees the template as of HEAD, not the
working tree: commit a change to the template before expecting this test to see it."""

import json
import os
import re
import sys
from pathlib import Path

import pytest

from .baking import LINT_COMMANDS, TEMPLATE, git, run
from .conftest import Bake

# main before issue 10: no CI workflow, no pre-commit, no git repository from the post-generation
# hook. The update brings new files and changed ones, and runs the new hook in cruft's renders.
EARLIER_COMMIT = "5c9adffdb63b809f6d39c8d160b4b9b37cbdb923"
# One combination is enough: cruft, the hooks and the layers work the same way for all twelve.
# The defaults, what `--no-input` gives, are what most projects are; no PgBouncer needed.
ANSWERS = {"db_driver": "asyncpg", "connection_strategy": "pool"}
# What the team adds to its project between the two commits: it must survive the update.
OWN_FILE = "docs/runbook.md"


def template_head() -> str:
    """HEAD of the template's repository, once its history is known to reach EARLIER_COMMIT;
    under CI a history that does not (a shallow clone) fails the test instead of skipping it."""
    head = git(TEMPLATE, "rev-parse", "HEAD")
    reaches = git(TEMPLATE, "merge-base", "--is-ancestor", EARLIER_COMMIT, "HEAD")
    if head.returncode == 0 and reaches.returncode == 0:
        return head.stdout.strip()
    shallow = git(TEMPLATE, "rev-parse", "--is-shallow-repository").stdout.strip() == "true"
    reason = (
        "the clone is shallow: `git fetch --unshallow`"
        if shallow
        else "the template is not a git clone holding that commit"
    )
    message = f"template updates start from commit {EARLIER_COMMIT}, which is missing ({reason})"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def cruft(*arguments: str, cwd: Path) -> str:
    return run([sys.executable, "-m", "cruft", *arguments], cwd, timeout=300)


def cruft_create(commit: str, output_dir: Path) -> Path:
    """`cruft create` of the template at a commit, with ANSWERS; the project's directory."""
    output_dir.mkdir()
    answers = ["--no-input", "--extra-context", json.dumps(ANSWERS)]
    cruft("create", str(TEMPLATE), "--checkout", commit, *answers, cwd=output_dir)
    return output_dir / "my-service"


def commit_everything(project: Path, message: str) -> None:
    for arguments in (
        ["add", "--all"],
        ["-c", "user.name=Team", "-c", "user.email=team@example.com", "commit", "-qm", message],
    ):
        result = git(project, *arguments)
        assert result.returncode == 0, result.stderr


def tree(project: Path, *left_out: str) -> dict[str, bytes]:
    """Every file of a project and its content, but git's own and the ones left out."""
    return {
        path: file.read_bytes()
        for file in project.rglob("*")
        if file.is_file()
        and ".git" not in file.relative_to(project).parts
        and (path := file.relative_to(project).as_posix()) not in left_out
    }


def test_a_project_from_an_earlier_commit_updates_cleanly_and_passes(tmp_path: Path) -> None:
    head = template_head()
    project = cruft_create(EARLIER_COMMIT, tmp_path / "created")
    # As the template's README says to do after `cruft create`.
    assert git(project, "init", "--quiet", "--initial-branch=main").returncode == 0
    commit_everything(project, "Generate the service")
    (project / OWN_FILE).parent.mkdir()
    (project / OWN_FILE).write_text("# Runbook\n")
    commit_everything(project, "Our runbook")

    cruft("update", "--checkout", head, "--skip-apply-ask", cwd=project)

    assert git(project, "ls-files", "--unmerged").stdout == "", "the update left conflicts"
    assert not list(project.rglob("*.rej")), "the update left rejected hunks"
    assert json.loads((project / ".cruft.json").read_text())["commit"] == head
    # Updated, the project is what a project created at HEAD is, plus the team's own file.
    fresh = cruft_create(head, tmp_path / "fresh")
    assert not (fresh / ".git").exists(), "the hook must leave cruft's renders uncommitted"
    assert tree(project, ".cruft.json", OWN_FILE) == tree(fresh, ".cruft.json")
    assert (project / OWN_FILE).read_text() == "# Runbook\n"

    updated = Bake(ANSWERS, project)
    for command in LINT_COMMANDS:
        updated.uv_run(*command)
    output = updated.uv_run("pytest", "-q", "-p", "no:cacheprovider", timeout=1800)
    summary = output.strip().splitlines()[-1]
    assert re.search(r"\d+ passed", summary), output
    assert "skipped" not in summary, output
