"""Every bake's Kubernetes manifests (deploy/kubernetes/) build as `kubectl apply -k` builds them,
and are valid, unknown fields refused, against the schemas of the oldest and the newest
Kubernetes release the Kubernetes project supports; offline (kubernetes-validate ships them)."""

import re
import sys
from pathlib import Path

import yaml

from .baking import run

# The template's own environment, which holds kubectl and kubernetes-validate.
TOOLS = Path(sys.executable).parent
MANIFESTS = "deploy/kubernetes"
# The Kubernetes releases supported upstream when kubernetes-validate 1.37.0 came out.
KUBERNETES_VERSIONS = ("1.35.0", "1.37.0")
PASSED = re.compile(r"^INFO (\S+) passed for resource (\S+) against version (\S+)$")


def validate(project: Path, *files: str) -> list[tuple[str, str, str]]:
    """kubernetes-validate in strict mode: what passed, as (file, kind/name, version). A kind it
    has no schema for is only a warning to it (exit status 0): here it fails."""
    versions = [f"--kubernetes-version={number}" for number in KUBERNETES_VERSIONS]
    output = run([str(TOOLS / "kubernetes-validate"), "--strict", *versions, *files], project)
    lines = output.splitlines()
    passed = [match.groups() for line in lines if (match := PASSED.match(line))]
    assert len(passed) == len(lines), output
    return passed


def test_kubectl_builds_the_manifests_and_they_are_valid(bake, combination, tmp_path) -> None:
    project = bake(combination).path
    built = tmp_path / "built.yaml"

    run([str(TOOLS / "kubectl"), "kustomize", MANIFESTS, f"--output={built}"], project)
    passed = validate(project, str(built))

    resources = [r for r in yaml.safe_load_all(built.read_text()) if r]
    names = {f"{r['kind'].lower()}/{r['metadata']['name']}" for r in resources}
    assert len(passed) == len(resources) * len(KUBERNETES_VERSIONS)
    assert {name for _, name, _ in passed} == names
    assert {checked for _, _, checked in passed} == {
        number.rpartition(".")[0] for number in KUBERNETES_VERSIONS
    }
    kinds = sorted(r["kind"] for r in resources)
    if combination["connection_strategy"] == "pgbouncer":  # and PgBouncer's own
        expected = ["ConfigMap", "Deployment", "PodDisruptionBudget", "Service"] * 2
    else:
        expected = ["ConfigMap", "Deployment", "PodDisruptionBudget", "Service"]
    assert kinds == sorted([*expected, "HorizontalPodAutoscaler", "Job"])


def test_every_manifest_file_is_valid_on_its_own(bake, combination) -> None:
    """Each file the kustomization lists, as written (a user may apply one with -f)."""
    project = bake(combination).path
    kustomization = yaml.safe_load((project / MANIFESTS / "kustomization.yaml").read_text())
    files = [f"{MANIFESTS}/{name}" for name in kustomization["resources"]]
    on_disk = {str(path.relative_to(project)) for path in (project / MANIFESTS).rglob("*.yaml")}

    passed = validate(project, *files)

    assert on_disk - set(files) == {f"{MANIFESTS}/kustomization.yaml"}
    assert {file for file, _, _ in passed} == set(files)
