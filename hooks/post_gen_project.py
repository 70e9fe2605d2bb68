"""Shape the generated tree for the chosen driver and connection strategy, then make it a git
repository.

The template writes what every variant shares once, and what differs beside it, as versions of
the same file whose names carry the layer they belong to: ``database/core@asyncpg-pooled.py``
is ``database/core.py`` for asyncpg with a pool, ``items/router@sqlalchemy.py`` is
``items/router.py`` for SQLAlchemy. A choice applies layers in order (the manifest below); of
a name's versions, the one whose layer comes last wins, over the shared file if there is one,
and versions of layers not applied are removed. A folder can carry a layer too
(``pgbouncer@pgbouncer/``): it is kept, or removed, whole.

The project then becomes a git repository with one commit of what was generated, unless it was
generated inside an existing work tree (a monorepo), or by cruft (see ``RENDERED_BY_CRUFT``).
Without git, generation still succeeds and says so.
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

PROJECT_NAME = json.loads(r'''{{ cookiecutter.project_name | tojson }}''')
AUTHOR_NAME = json.loads(r'''{{ cookiecutter.author_name | tojson }}''')
AUTHOR_EMAIL = json.loads(r'''{{ cookiecutter.author_email | tojson }}''')
DB_DRIVER = json.loads(r'''{{ cookiecutter.db_driver | tojson }}''')
CONNECTION_STRATEGY = json.loads(r'''{{ cookiecutter.connection_strategy | tojson }}''')
# cruft adds `_commit` (the template commit it renders) to the context. `cruft update` renders
# the old and the new template into directories of its own and diffs them: a .git there would be
# diffed too. And `cruft create` writes .cruft.json after this hook: a commit here would miss it.
RENDERED_BY_CRUFT = json.loads(r'''{{ cookiecutter._commit | default("") | tojson }}''') != ""

# Between a name and the layer its version belongs to: `core@asyncpg-pooled.py`.
LAYER_MARK = "@"
# One uv.lock per combination (refreshed by `python -m scripts.relock`), so that a project is
# locked from its first commit: `uv sync --locked`, image builds and CI need no resolution first.
LOCKS = Path("_locks")

# The manifest: which layers each driver owns, applied in this order.
LAYERS_BY_DRIVER: dict[str, tuple[str, ...]] = {
    "asyncpg": ("async", "on-asyncpg", "asyncpg"),
    "psycopg": ("async", "on-psycopg", "psycopg"),
    "databases": ("async", "on-asyncpg", "databases"),
    "sqlalchemy": ("on-psycopg", "orm", "sqlalchemy"),
    "sqlalchemy_async": ("async", "on-asyncpg", "orm", "sqlalchemy_async"),
}
# Then the strategy's layers, each followed by its driver-specific part (`<driver>-<layer>`).
# "pooled" is what the two strategies with a pool share.
LAYERS_BY_STRATEGY: dict[str, tuple[str, ...]] = {
    "pool": ("pooled",),
    "per_request": ("per_request",),
    "pgbouncer": ("pooled", "pgbouncer"),
}


def layers_for(driver: str, strategy: str) -> list[str]:
    """The layers to apply, in order."""
    layers = list(LAYERS_BY_DRIVER[driver])
    for layer in LAYERS_BY_STRATEGY[strategy]:
        layers += [layer, f"{driver}-{layer}"]
    return layers


def split_layer(name: str) -> tuple[str, str | None]:
    """A file name without its layer, and the layer: `core@asyncpg-pooled.py` is `core.py` of
    `asyncpg-pooled`; a shared file has no layer."""
    stem, mark, rest = name.partition(LAYER_MARK)
    if not mark:
        return name, None
    layer, dot, extension = rest.partition(".")
    return f"{stem}{dot}{extension}", layer


def remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


def keep_the_chosen_versions(directory: Path, layers: list[str]) -> None:
    """In `directory` and below, the version of each name that the layers choose, under the
    name itself; every other version removed."""
    rank = {layer: position for position, layer in enumerate(layers)}
    chosen: dict[str, tuple[int, Path]] = {}
    for entry in sorted(directory.iterdir()):
        name, layer = split_layer(entry.name)
        position = -1 if layer is None else rank.get(layer)
        if position is None:
            remove(entry)  # a layer this choice does not apply
            continue
        if name in chosen:
            kept_position, kept = chosen[name]
            if kept_position > position:
                remove(entry)
                continue
            remove(kept)
        chosen[name] = (position, entry)
    for name, (_, entry) in chosen.items():
        if entry.name != name:
            entry = entry.rename(directory / name)
        if entry.is_dir() and not entry.is_symlink():
            keep_the_chosen_versions(entry, layers)


def place_lock_file(driver: str, strategy: str, project: Path) -> None:
    lock = LOCKS / f"{driver}-{strategy}.uv.lock"
    if lock.is_file():  # absent only while `scripts.relock` makes the first one of a combination
        shutil.copyfile(lock, project / "uv.lock")
    shutil.rmtree(LOCKS)


def git(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *arguments], capture_output=True, text=True, check=False)


def enclosing_work_tree() -> str | None:
    """The top of the git work tree the project was generated in, if any."""
    result = git("rev-parse", "--show-toplevel")
    return result.stdout.strip() if result.returncode == 0 else None


def commit_identity() -> list[str]:
    """The author answers as git options for one command: a fresh machine (CI) has no git
    identity, and the user's git configuration is not ours to change."""
    return ["-c", f"user.name={AUTHOR_NAME or PROJECT_NAME}", "-c", f"user.email={AUTHOR_EMAIL}"]


def commit_everything() -> subprocess.CompletedProcess[str]:
    """One commit of the generated files. Neither the user's hooks (core.hooksPath) nor commit
    signing run here: generation must not wait for a passphrase or fail on someone's hook."""
    added = git("add", "--all")
    if added.returncode != 0:
        return added
    message = (
        f"Generate {PROJECT_NAME} from cookiecutter-fastapi-postgres "
        f"(db_driver={DB_DRIVER}, connection_strategy={CONNECTION_STRATEGY})"
    )
    return git(
        *commit_identity(),
        "-c",
        "commit.gpgsign=false",
        "commit",
        "--quiet",
        "--no-verify",
        "--message",
        message,
    )


def initialise_repository() -> str:
    """Make the project a git repository with one commit; one line that says what was done."""
    if shutil.which("git") is None:
        return "git is not installed: the project is not a git repository (run `git init` later)"
    work_tree = enclosing_work_tree()
    if work_tree is not None:
        return f"Generated inside the git work tree {work_tree}: no repository initialised"
    result = git("init", "--quiet", "--initial-branch=main")
    if result.returncode == 0:
        result = commit_everything()
    if result.returncode != 0:
        reason = (result.stderr.strip().splitlines() or ["no reason given"])[-1]
        return f"git failed, so the project has no first commit: {reason}"
    return "Initialised a git repository on branch main with one commit of the generated files"


def main() -> int:
    project = Path.cwd()
    place_lock_file(DB_DRIVER, CONNECTION_STRATEGY, project)
    keep_the_chosen_versions(project, layers_for(DB_DRIVER, CONNECTION_STRATEGY))
    if not RENDERED_BY_CRUFT:
        print(initialise_repository())
    return 0


if __name__ == "__main__":
    sys.exit(main())
