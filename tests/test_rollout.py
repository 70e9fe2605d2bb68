"""A rolling update, proven on this machine: three instances of a bake's service
(`python -m <package>`, each on a port of its own, one database) behind a real HAProxy that
health-checks `/health/ready`, as a Kubernetes Service sends only to ready pods; steady reads
and writes from a pool of clients; each instance in turn gets SIGTERM and, once it has exited,
a new one takes its port. Not one request may fail (every answer 2xx, no connection error), and
every write answered 201 must be in the database at the end.

HAProxy is given no retries: a request it could not hand to an instance would be a failure, so
what keeps the answers whole is the service's drain (readiness failing at once, requests served
for DRAIN_DELAY, then the ones in flight finished), with the settings' defaults."""

import configparser
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from http.client import HTTPConnection
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from .baking import clean_env, combination_id, pgbouncer_binary, run
from .containers import free_port, query, scratch_database, server_on_loopback

# One driver per strategy.
ROLLOUTS = [
    {"db_driver": "asyncpg", "connection_strategy": "pool"},
    {"db_driver": "psycopg", "connection_strategy": "pgbouncer"},
    {"db_driver": "databases", "connection_strategy": "per_request"},
]
INSTANCES = 3
CLIENTS = 6
# Between two requests of a client: a steady load, short of saturating the machine's cores.
THINK_TIME = 0.005
STEADY = 2.0  # seconds of load before the first instance is stopped, and after the last is back
# HAProxy's health checks: every half second; out after 2 failures, back after 2 successes.
CHECK_INTERVAL_MS = 500
HAPROXY = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin:/usr/local/sbin")
# Every loop here stops by itself.
ROLLOUT_DEADLINE = 240


def missing_tool(name: str, install: str) -> None:
    message = f"{name} is not installed ({install})"
    if os.environ.get("CI"):
        pytest.fail(f"{message}: CI must run the rollout")
    pytest.skip(message)


@pytest.fixture(scope="module")
def loopback_server() -> Iterator[str]:
    with server_on_loopback() as url:
        yield url


@dataclass
class Instance:
    """One `python -m <package>` serving on its port."""

    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-20:])


def start_instance(python: Path, package: str, port: int, directory: Path, **env: str) -> Instance:
    log = directory / f"instance-{port}-{time.monotonic_ns()}.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [str(python), "-m", package],
            cwd=directory,  # no .env here: the settings are the environment's and the defaults
            env=clean_env(HOST="127.0.0.1", PORT=str(port), LOG_LEVEL="warning", **env),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    instance = Instance(port, process, log)
    deadline = time.monotonic() + 60
    while not answers_ready(port):
        assert process.poll() is None, f"the instance on {port} exited:\n{instance.tail()}"
        assert time.monotonic() < deadline, (
            f"the instance on {port} is not ready:\n{instance.tail()}"
        )
        time.sleep(0.1)
    return instance


def answers_ready(port: int) -> bool:
    connection = HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", "/health/ready")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


def stop_all(instances: list[Instance]) -> None:
    """SIGTERM to every instance still running, then wait for them: they drain side by side."""
    for instance in instances:
        if instance.process.poll() is None:
            instance.process.terminate()
    for instance in instances:
        stop(instance.process)


def stop(process: subprocess.Popen[bytes]) -> None:
    """End a process this test started, if it still runs."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def haproxy(port: int, instances: list[int], directory: Path) -> Iterator[Path]:
    """HAProxy on a loopback port in front of the instances; its stats socket."""
    stats = directory / "haproxy.sock"
    servers = "\n".join(
        f"    server instance-{number} 127.0.0.1:{instance}"
        for number, instance in enumerate(instances)
    )
    config = directory / "haproxy.cfg"
    config.write_text(
        f"""global
    maxconn 512
    stats socket {stats} mode 600 level user

defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    timeout check 2s
    # No second try: a request HAProxy cannot hand to an instance is answered 503.
    retries 0

frontend service
    bind 127.0.0.1:{port}
    default_backend instances

backend instances
    balance roundrobin
    option httpchk
    http-check send meth GET uri /health/ready
    http-check expect status 200
    default-server check inter {CHECK_INTERVAL_MS}ms fall 2 rise 2
{servers}
"""
    )
    log = directory / "haproxy.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [HAPROXY, "-db", "-f", str(config)], stdout=output, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 10
        while set(server_states(stats).values()) != {"UP"}:
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        yield stats
    finally:
        stop(process)


def show_stat(stats: Path) -> list[dict[str, str]]:
    """HAProxy's `show stat`: one row per proxy and server."""
    try:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.connect(str(stats))
            sock.sendall(b"show stat\n")
            answer = b"".join(iter(lambda: sock.recv(65536), b"")).decode()
    except OSError:
        return []
    header, *rows = [line for line in answer.splitlines() if line]
    names = header.removeprefix("# ").split(",")
    return [dict(zip(names, row.split(","), strict=False)) for row in rows]


def server_states(stats: Path) -> dict[str, str]:
    return {
        row["svname"]: row["status"].split()[0]
        for row in show_stat(stats)
        if row["pxname"] == "instances" and row["svname"] not in ("FRONTEND", "BACKEND")
    }


def wait_for_state(stats: Path, server: str, state: str) -> None:
    deadline = time.monotonic() + 30
    while server_states(stats).get(server) != state:
        assert time.monotonic() < deadline, f"{server} is not {state}: {server_states(stats)}"
        time.sleep(0.05)


@contextmanager
def pgbouncer(project: Path, server_url: str) -> Iterator[int]:
    """A real PgBouncer run with the bake's own pgbouncer.ini, but for its addresses and its
    authentication, in front of the server; its port."""
    parts = urlsplit(server_url)
    target = f"host={parts.hostname} port={parts.port or 5432} user={unquote(parts.username or '')}"
    if parts.password:
        target += f" password={unquote(parts.password)}"
    config = configparser.ConfigParser(interpolation=None, inline_comment_prefixes=(";",))
    config.read(project / "pgbouncer" / "pgbouncer.ini")
    config["databases"] = {"*": f"{target} connect_query='SET statement_timeout = ''30s'''"}
    port = free_port()
    config["pgbouncer"].update(
        {
            "listen_addr": "127.0.0.1",
            "listen_port": str(port),
            "unix_socket_dir": "",
            "auth_type": "any",  # a client logs in as the user of the databases line
            "auth_file": "",
            "logfile": "",
            "pidfile": "",
        }
    )
    with tempfile.TemporaryDirectory(prefix="rollout-pgbouncer-") as directory:
        Path(directory).chmod(0o755)  # PgBouncer refuses root: it runs as nobody then
        ini = Path(directory) / "pgbouncer.ini"
        with ini.open("w") as file:
            config.write(file)
        ini.chmod(0o644)
        run_as = ["-u", "nobody"] if os.geteuid() == 0 else []
        log = Path(directory) / "pgbouncer.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                [str(pgbouncer_binary()), *run_as, str(ini)],
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        try:
            deadline = time.monotonic() + 10
            while not accepts(port):
                assert process.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.05)
            yield port
        finally:
            stop(process)


def accepts(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


@dataclass
class Load:
    """Clients that read and write through the load balancer until told to stop; every answer
    counted."""

    port: int
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    answers: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    acknowledged: dict[str, int] = field(default_factory=dict)  # name: id, of every 201

    def run(self, client: int) -> None:
        connection = HTTPConnection("127.0.0.1", self.port, timeout=30)
        deadline = time.monotonic() + ROLLOUT_DEADLINE
        for number in range(1_000_000):
            if self.stop.is_set() or time.monotonic() > deadline:
                break
            method, path, body, expected = self.next_request(client, number)
            try:
                connection.request(
                    method, path, body=body, headers={"Content-Type": "application/json"}
                )
                response = connection.getresponse()
                answer = response.read()
            except (OSError, ValueError) as error:  # http.client's errors are among them
                connection.close()
                connection = HTTPConnection("127.0.0.1", self.port, timeout=30)
                self.count(f"{method} error", f"{method} {path}: {type(error).__name__} {error}")
                continue
            failure = None
            if response.status != expected:
                failure = f"{method} {path}: {response.status} {answer[:100]!r}"
            self.count(f"{method} {response.status}", failure)
            if method == "POST" and response.status == 201:
                item = json.loads(answer)
                with self.lock:
                    self.acknowledged[item["name"]] = item["id"]
            time.sleep(THINK_TIME)
        connection.close()

    def finish(self, clients: list[threading.Thread]) -> None:
        self.stop.set()
        for client in clients:
            client.join(timeout=60)

    def next_request(self, client: int, number: int) -> tuple[str, str, bytes | None, int]:
        """Writes and reads in turn: a new item; one written before; the newest page."""
        if number % 3 == 0:
            body = json.dumps({"name": f"rollout-{client}-{number}", "description": None})
            return "POST", "/items", body.encode(), 201
        with self.lock:
            ids = list(self.acknowledged.values())
        if number % 3 == 1 and ids:
            return "GET", f"/items/{random.choice(ids)}", None, 200
        return "GET", "/items?limit=10", None, 200

    def count(self, answer: str, failure: str | None) -> None:
        with self.lock:
            self.answers[answer] += 1
            if failure is not None:
                self.failures.append(failure)


@pytest.mark.parametrize(
    "rollout",
    [
        pytest.param(c, id=combination_id(c), marks=pytest.mark.xdist_group(combination_id(c)))
        for c in ROLLOUTS
    ],
)
def test_a_rolling_restart_fails_no_request_and_loses_no_write(
    bake, rollout, loopback_server
) -> None:
    if HAPROXY is None:
        missing_tool("HAProxy", "apt-get install haproxy")
    through_pgbouncer = rollout["connection_strategy"] == "pgbouncer"
    if through_pgbouncer and pgbouncer_binary() is None:
        missing_tool("PgBouncer", "apt-get install pgbouncer")
    project = bake(rollout)
    project.sync()
    python = project.path / ".venv" / "bin" / "python"

    with ExitStack() as stack:
        directory = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="rollout-")))
        database = stack.enter_context(scratch_database(loopback_server))
        run(
            [str(python), "-m", project.package, "migrate"],
            directory,
            timeout=120,
            MIGRATION_DATABASE_URL=database,
        )
        service_url = database
        if through_pgbouncer:
            bouncer = stack.enter_context(pgbouncer(project.path, loopback_server))
            service_url = f"postgresql://{urlsplit(database).username}@127.0.0.1:{bouncer}"
            service_url += urlsplit(database).path

        def start(port: int) -> Instance:
            return start_instance(
                python, project.package, port, directory, DATABASE_URL=service_url
            )

        ports = [free_port() for _ in range(INSTANCES)]
        instances: list[Instance] = []
        stack.callback(stop_all, instances)
        for port in ports:
            instances.append(start(port))  # one by one: stopped at the end whatever fails
        balancer = free_port()
        stats = stack.enter_context(haproxy(balancer, ports, directory))
        load = Load(balancer)
        clients = [threading.Thread(target=load.run, args=(n,)) for n in range(CLIENTS)]
        stack.callback(load.finish, clients)

        started = time.monotonic()
        for client in clients:
            client.start()
        time.sleep(STEADY)
        drains = []
        for number, port in enumerate(ports):
            old = instances[number]
            signalled = time.monotonic()
            old.process.send_signal(signal.SIGTERM)
            wait_for_state(stats, f"instance-{number}", "DOWN")
            exit_status = old.process.wait(timeout=30)
            drains.append(time.monotonic() - signalled)
            assert exit_status == 0, f"the instance on {port} exited {exit_status}:\n{old.tail()}"
            instances[number] = start(port)
            wait_for_state(stats, f"instance-{number}", "UP")
        time.sleep(STEADY)
        load.finish(clients)
        took = time.monotonic() - started
        rows = query(database, "SELECT name FROM items")
        stored = {str(name) for (name,) in rows} & set(load.acknowledged)
        per_instance = {
            row["svname"]: row["hrsp_2xx"]
            for row in show_stat(stats)
            if row["pxname"] == "instances" and row["svname"].startswith("instance-")
        }

    requests = sum(load.answers.values())
    summary = (
        f"{combination_id(rollout)}: {requests} requests in {took:.1f} s "
        f"({dict(sorted(load.answers.items()))}), {len(load.failures)} failed; writes "
        f"acknowledged {len(load.acknowledged)}, stored {len(stored)}; {INSTANCES} instances "
        f"replaced, each exited {', '.join(f'{d:.1f}' for d in drains)} s after SIGTERM; "
        f"2xx per instance slot {per_instance}"
    )
    print(summary)
    failed = len(load.failures)
    assert failed == 0, f"{summary}\nthe first failures: {load.failures[:5]}"
    assert len(stored) == len(load.acknowledged), summary
    assert load.answers["POST 201"] > 0, summary
    assert all(int(count) > 0 for count in per_instance.values()), summary
