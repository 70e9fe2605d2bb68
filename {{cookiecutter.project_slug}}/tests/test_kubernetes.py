"""The Kubernetes manifests (deploy/kubernetes/) agree with the app, its image and its settings,
and the connections they allow fit in what PostgreSQL{% if cookiecutter.connection_strategy == "pgbouncer" %} and PgBouncer accept{% else %} accepts{% endif %}."""

{% if cookiecutter.connection_strategy == "pgbouncer" -%}
import configparser
{% endif -%}
import math
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from httpx import ASGITransport, AsyncClient

from {{ cookiecutter.package_name }}.app import create_app
from {{ cookiecutter.package_name }}.settings import Settings
from {{ cookiecutter.package_name }}.web.health import READINESS_TIMEOUT

PROJECT = Path(__file__).resolve().parent.parent
MANIFESTS = PROJECT / "deploy" / "kubernetes"
SERVICE = "{{ cookiecutter.project_slug }}"
MIGRATE = f"{SERVICE}-migrate"
{%- if cookiecutter.connection_strategy == "pgbouncer" %}
PGBOUNCER = f"{SERVICE}-pgbouncer"
{%- endif %}
# The Secret that holds the database's URLs, which no file here may hold.
DATABASE_SECRET = f"{SERVICE}-database"
KINDS = {
    "Deployment": "apps/v1",
    "Service": "v1",
    "Job": "batch/v1",
    "PodDisruptionBudget": "policy/v1",
    "HorizontalPodAutoscaler": "autoscaling/v2",
}

# PostgreSQL's defaults: set MAX_CONNECTIONS to your server's, less what its other clients hold.
MAX_CONNECTIONS = 100
SUPERUSER_RESERVED_CONNECTIONS = 3
AVAILABLE = MAX_CONNECTIONS - SUPERUSER_RESERVED_CONNECTIONS
POSTGRESQL_TAKES = (
    f"the {AVAILABLE} PostgreSQL takes (max_connections {MAX_CONNECTIONS}, "
    f"{SUPERUSER_RESERVED_CONNECTIONS} reserved for superusers)"
)
# `python -m {{ cookiecutter.package_name }} migrate` (the Job) holds one while it runs.
MIGRATION_CONNECTIONS = 1
{%- if cookiecutter.connection_strategy == "per_request" %}
# Every request in flight holds a connection of its own, and nothing in the service bounds how
# many a worker runs at once: the budget counts on this many.
REQUESTS_IN_FLIGHT_PER_WORKER = 10
{%- endif %}


@pytest.fixture(autouse=True)
def _empty_tables() -> None:
    """These tests read files, and build the app without its database: they need no PostgreSQL
    (conftest.py's fixture of this name would start one)."""


def documents(name: str) -> list[dict[str, Any]]:
    text = (MANIFESTS / name).read_text()
    return [document for document in yaml.safe_load_all(text) if document]


def kustomization() -> dict[str, Any]:
    return documents("kustomization.yaml")[0]


def resources() -> list[dict[str, Any]]:
    """What `kubectl apply -k` applies, but the ConfigMaps it generates."""
    return [document for name in kustomization()["resources"] for document in documents(name)]


def resource(kind: str, name: str) -> dict[str, Any]:
    found = [r for r in resources() if r["kind"] == kind and r["metadata"]["name"] == name]
    assert len(found) == 1, f"{len(found)} {kind} named {name}"
    return found[0]


def pod(workload: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = workload["spec"]["template"]["spec"]
    return spec


def container(workload: dict[str, Any]) -> dict[str, Any]:
    [only] = pod(workload)["containers"]
    return dict(only)


def settings_env() -> dict[str, str]:
    """settings.env, as kustomize reads it into the settings ConfigMap."""
    lines = (MANIFESTS / "settings.env").read_text().splitlines()
    pairs = [line.split("=", 1) for line in lines if line.strip() and not line.startswith("#")]
    return {name: value for name, value in pairs}


def shipped_settings() -> Settings:
    """The settings every pod runs with: settings.env over the defaults."""
    return Settings.model_validate({name.lower(): value for name, value in settings_env().items()})


def image_user(dockerfile: Path) -> tuple[int, int]:
    user = re.search(r"^USER (\d+):(\d+)$", dockerfile.read_text(), re.MULTILINE)
    assert user, f"no USER uid:gid in {dockerfile}"
    return int(user[1]), int(user[2])


def pods_at_most(deployment: dict[str, Any], replicas: int) -> int:
    """Replicas, and the pods a rollout starts beside them (maxSurge)."""
    surge = deployment["spec"]["strategy"]["rollingUpdate"]["maxSurge"]
    if isinstance(surge, str):  # a percentage of the replicas, rounded up
        surge = math.ceil(replicas * int(surge.removesuffix("%")) / 100)
    return replicas + int(surge)


def test_every_file_here_is_in_the_kustomization() -> None:
    listed = set(kustomization()["resources"])
    for generator in kustomization()["configMapGenerator"]:
        listed |= {*generator.get("files", []), *generator.get("envs", [])}
    present = {str(path.relative_to(MANIFESTS)) for path in MANIFESTS.rglob("*") if path.is_file()}

    assert present - {"kustomization.yaml"} == listed


def test_the_kustomization_holds_what_the_service_needs() -> None:
    expected = [
        ("Deployment", SERVICE),
        ("Service", SERVICE),
        ("Job", MIGRATE),
        ("PodDisruptionBudget", SERVICE),
        ("HorizontalPodAutoscaler", SERVICE),
{%- if cookiecutter.connection_strategy == "pgbouncer" %}
        ("Deployment", PGBOUNCER),
        ("Service", PGBOUNCER),
        ("PodDisruptionBudget", PGBOUNCER),
{%- endif %}
    ]
    found = [(r["kind"], r["metadata"]["name"]) for r in resources()]

    assert sorted(found) == sorted(expected)
    for r in resources():
        assert r["apiVersion"] == KINDS[r["kind"]], r["metadata"]["name"]
    images = {image["name"] for image in kustomization()["images"]}
    assert {container(r)["image"] for r in resources() if r["kind"] in ("Deployment", "Job")} == (
        images
    )


def test_the_service_the_budget_and_the_autoscaler_are_the_deployments() -> None:
    deployment = resource("Deployment", SERVICE)
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    ports = {port["name"] for port in container(deployment)["ports"]}
    service = resource("Service", SERVICE)
    budget = resource("PodDisruptionBudget", SERVICE)
    target = resource("HorizontalPodAutoscaler", SERVICE)["spec"]["scaleTargetRef"]

    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert service["spec"]["selector"].items() <= labels.items()
    assert {port["targetPort"] for port in service["spec"]["ports"]} <= ports
    assert budget["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert (target["kind"], target["name"]) == ("Deployment", SERVICE)
    # The autoscaler owns the replicas: a number here would be set again by every apply.
    assert "replicas" not in deployment["spec"]


def test_the_probes_and_the_port_are_the_apps() -> None:
    settings = shipped_settings()
    api = container(resource("Deployment", SERVICE))
    ports = {port["name"]: port["containerPort"] for port in api["ports"]}
    paths = create_app(settings).openapi()["paths"]
    exposed = re.search(r"^EXPOSE (\d+)$", (PROJECT / "Dockerfile").read_text(), re.MULTILINE)

    assert api["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    assert api["livenessProbe"]["httpGet"]["path"] == "/health"
    for probe in ("readinessProbe", "livenessProbe"):
        get = api[probe]["httpGet"]
        assert "get" in paths[get["path"]], probe
        assert ports[get["port"]] == settings.port, probe
    assert settings.host == "0.0.0.0"
    assert exposed, "no EXPOSE in the Dockerfile"
    assert int(exposed[1]) == settings.port


async def test_the_liveness_probe_needs_no_database() -> None:
    """Its path answers with no database at all (the app's lifespan, which opens it, not run):
    an outage of the database restarts no pod."""
    path = container(resource("Deployment", SERVICE))["livenessProbe"]["httpGet"]["path"]
    app = create_app(shipped_settings())

    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://pod") as client:
        response = await client.get(path)

    assert response.status_code == 200


def test_the_readiness_probe_outwaits_the_service() -> None:
    """A probe that gives up first would take a working pod out of the Service."""
    probe = container(resource("Deployment", SERVICE))["readinessProbe"]

    assert probe.get("timeoutSeconds", 1) > READINESS_TIMEOUT


def test_a_pod_drains_before_it_is_killed() -> None:
    settings = shipped_settings()
    grace = pod(resource("Deployment", SERVICE))["terminationGracePeriodSeconds"]

    assert grace > settings.drain_timeout
    # Serving on after SIGTERM gives the pod time to leave the Service's endpoints.
    assert settings.drain_delay > 0


def test_every_pod_runs_as_the_images_user_without_privileges() -> None:
    images = [
        (resource("Deployment", SERVICE), PROJECT / "Dockerfile"),
        (resource("Job", MIGRATE), PROJECT / "Dockerfile"),
{%- if cookiecutter.connection_strategy == "pgbouncer" %}
        (resource("Deployment", PGBOUNCER), PROJECT / "pgbouncer" / "Dockerfile"),
{%- endif %}
    ]
    for workload, dockerfile in images:
        name = workload["metadata"]["name"]
        user = pod(workload)["securityContext"]
        process = container(workload)["securityContext"]
        resources = container(workload)["resources"]

        assert (user["runAsUser"], user["runAsGroup"]) == image_user(dockerfile), name
        assert user["runAsNonRoot"] is True, name
        assert process["allowPrivilegeEscalation"] is False, name
        assert process["readOnlyRootFilesystem"] is True, name
        assert process["capabilities"]["drop"] == ["ALL"], name
        for bound in ("requests", "limits"):
            assert set(resources[bound]) == {"cpu", "memory"}, name


def test_the_pods_get_settings_the_app_reads_and_secrets_by_reference() -> None:
    known = {name.upper() for name in Settings.model_fields}
    deployment = resource("Deployment", SERVICE)
    [settings] = [g["name"] for g in kustomization()["configMapGenerator"] if "envs" in g]

    assert set(settings_env()) <= known
    assert container(deployment)["envFrom"] == [{"configMapRef": {"name": settings}}]
    for workload in (deployment, resource("Job", MIGRATE)):
        for variable in container(workload)["env"]:
            assert variable["name"] in known, variable
            assert variable["valueFrom"]["secretKeyRef"]["name"] == DATABASE_SECRET, variable
    for path in MANIFESTS.rglob("*"):
        if path.is_file():  # examples in comments aside, no URL
            lines = path.read_text().splitlines()
            values = [line for line in lines if not line.lstrip().startswith(("#", ";"))]
            assert not re.search(r"postgres(ql)?://", "\n".join(values)), path


def test_the_migrate_job_runs_the_services_image_once() -> None:
    job = resource("Job", MIGRATE)
    migrate = container(job)
    variables = {variable["name"] for variable in migrate["env"]}

    assert migrate["command"] == ["python", "-m", "{{ cookiecutter.package_name }}", "migrate"]
    assert migrate["image"] == container(resource("Deployment", SERVICE))["image"]
    assert "MIGRATION_DATABASE_URL" in variables
{%- if cookiecutter.connection_strategy == "pgbouncer" %}
    # Straight to PostgreSQL: DATABASE_URL names PgBouncer.
    assert "DATABASE_URL" not in variables
{%- endif %}
    assert pod(job)["restartPolicy"] == "Never"
    assert job["spec"]["backoffLimit"] >= 1
    assert job["spec"]["ttlSecondsAfterFinished"] > 0
{%- if cookiecutter.connection_strategy == "pool" %}


def test_the_pools_fit_in_max_connections() -> None:
    """At most maxReplicas pods, plus the one a rollout adds, each with WORKERS pools of
    DB_POOL_MAX_SIZE connections, and the migration's: all within max_connections, less the
    connections reserved for superusers."""
    settings = shipped_settings()
    replicas = resource("HorizontalPodAutoscaler", SERVICE)["spec"]["maxReplicas"]
    pods = pods_at_most(resource("Deployment", SERVICE), replicas)
    wanted = pods * settings.workers * settings.db_pool_max_size + MIGRATION_CONNECTIONS

    assert wanted <= AVAILABLE, (
        f"{pods} pods (maxReplicas {replicas} and a rollout's) x WORKERS {settings.workers} x "
        f"DB_POOL_MAX_SIZE {settings.db_pool_max_size} + {MIGRATION_CONNECTIONS} to migrate = "
        f"{wanted} connections, more than {POSTGRESQL_TAKES}"
    )
{%- elif cookiecutter.connection_strategy == "per_request" %}


def test_the_requests_in_flight_fit_in_max_connections() -> None:
    """At most maxReplicas pods, plus the one a rollout adds, each with WORKERS processes that
    each hold a connection per request in flight, and the migration's: all within
    max_connections, less the connections reserved for superusers."""
    settings = shipped_settings()
    replicas = resource("HorizontalPodAutoscaler", SERVICE)["spec"]["maxReplicas"]
    pods = pods_at_most(resource("Deployment", SERVICE), replicas)
    in_flight = REQUESTS_IN_FLIGHT_PER_WORKER
    wanted = pods * settings.workers * in_flight + MIGRATION_CONNECTIONS

    assert wanted <= AVAILABLE, (
        f"{pods} pods (maxReplicas {replicas} and a rollout's) x WORKERS {settings.workers} x "
        f"{in_flight} requests in flight + {MIGRATION_CONNECTIONS} to migrate = {wanted} "
        f"connections, more than {POSTGRESQL_TAKES}"
    )
{%- else %}


def pgbouncer_ini() -> configparser.ConfigParser:
    config = configparser.ConfigParser(interpolation=None, inline_comment_prefixes=(";",))
    config.read(MANIFESTS / "pgbouncer" / "pgbouncer.ini")
    return config


def test_pgbouncer_runs_the_projects_pgbouncer_ini() -> None:
    """kustomize reads no file outside deploy/kubernetes/: its pgbouncer.ini is a copy."""
    copy = MANIFESTS / "pgbouncer" / "pgbouncer.ini"
    cluster = (MANIFESTS / "pgbouncer" / "kubernetes.ini").read_text()
    pgbouncer = container(resource("Deployment", PGBOUNCER))
    mounts = {mount["name"]: mount["mountPath"] for mount in pgbouncer["volumeMounts"]}

    assert copy.read_text() == (PROJECT / "pgbouncer" / "pgbouncer.ini").read_text(), (
        "deploy/kubernetes/pgbouncer/pgbouncer.ini differs from pgbouncer/pgbouncer.ini: copy "
        "the one you changed over the other"
    )
    assert pgbouncer["command"] == ["pgbouncer", f"{mounts['config']}/kubernetes.ini"]
    assert f"\n%include {mounts['config']}/pgbouncer.ini\n" in cluster
    assert f"\nauth_file = {mounts['users']}/userlist.txt\n" in cluster
    timeout = re.search(r"SET statement_timeout = ''(\d+)s''", cluster)
    assert timeout, "kubernetes.ini sets no statement timeout"
    assert int(timeout[1]) == shipped_settings().db_statement_timeout


def test_the_pools_fit_in_pgbouncer() -> None:
    """At most maxReplicas pods, plus the one a rollout adds, each with WORKERS pools of
    DB_POOL_MAX_SIZE connections to PgBouncer: within one PgBouncer's max_client_conn (the
    Service may send them all to the same one)."""
    settings = shipped_settings()
    replicas = resource("HorizontalPodAutoscaler", SERVICE)["spec"]["maxReplicas"]
    pods = pods_at_most(resource("Deployment", SERVICE), replicas)
    wanted = pods * settings.workers * settings.db_pool_max_size
    available = pgbouncer_ini().getint("pgbouncer", "max_client_conn")

    assert wanted <= available, (
        f"{pods} pods (maxReplicas {replicas} and a rollout's) x WORKERS {settings.workers} x "
        f"DB_POOL_MAX_SIZE {settings.db_pool_max_size} = {wanted} client connections, but "
        f"PgBouncer's max_client_conn is {available}"
    )


def test_pgbouncers_server_connections_fit_in_max_connections() -> None:
    """Every PgBouncer, plus the one a rollout adds, with its server pool (default_pool_size
    and reserve_pool_size), and the migration's: all within max_connections, less the
    connections reserved for superusers."""
    config = pgbouncer_ini()
    pool = config.getint("pgbouncer", "default_pool_size") + config.getint(
        "pgbouncer", "reserve_pool_size"
    )
    deployment = resource("Deployment", PGBOUNCER)
    bouncers = pods_at_most(deployment, deployment["spec"]["replicas"])
    wanted = bouncers * pool + MIGRATION_CONNECTIONS

    assert wanted <= AVAILABLE, (
        f"{bouncers} PgBouncers (replicas and a rollout's) x {pool} server connections "
        f"(default_pool_size + reserve_pool_size) + {MIGRATION_CONNECTIONS} to migrate = "
        f"{wanted} connections, more than {POSTGRESQL_TAKES}"
    )
{%- endif %}
