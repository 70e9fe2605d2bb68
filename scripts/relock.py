"""Refresh the uv.lock that every combination ships with: ``uv run python -m scripts.relock``.

Each combination is baked with the template's defaults, locked with ``uv lock`` (which keeps the
versions of the shipped lock where they still satisfy pyproject.toml; ``--upgrade`` takes the newest
allowed), and its lock written back to ``_locks/<driver>-<strategy>.uv.lock`` with the
project's own name left for cookiecutter to fill in. The template's tests sync every bake with
``uv sync --locked``, so a lock that no longer matches its pyproject.toml fails them.
"""

import argparse
import re
import sys
import tempfile
from pathlib import Path

from cookiecutter.main import cookiecutter

from tests.baking import TEMPLATE, checked_context, combination_id, combinations, run

LOCKS = TEMPLATE / "{{cookiecutter.project_slug}}" / "_locks"
DEFAULT_SLUG = "my-service"
SLUG_IN_TEMPLATE = "{{ cookiecutter.project_slug }}"


def lock_path(context: dict[str, str]) -> Path:
    return LOCKS / f"{combination_id(context)}.uv.lock"


def with_slug_left_to_fill(lock: str) -> str:
    """The lock names the project itself once, as ``name = "<slug>"``."""
    templated, count = re.subn(
        rf'^name = "{DEFAULT_SLUG}"$', f'name = "{SLUG_IN_TEMPLATE}"', lock, flags=re.MULTILINE
    )
    assert count == 1, f"expected the project's own name once in the lock, found {count}"
    return templated


def relock(context: dict[str, str], work_dir: Path, *, upgrade: bool) -> bool:
    """Lock one combination; whether its shipped lock changed."""
    project = Path(
        cookiecutter(
            str(TEMPLATE),
            no_input=True,
            output_dir=str(work_dir / combination_id(context)),
            extra_context=checked_context(context),
        )
    )
    run(["uv", "lock", "--quiet", *(["--upgrade"] if upgrade else [])], project)
    lock = with_slug_left_to_fill((project / "uv.lock").read_text())
    target = lock_path(context)
    changed = not target.exists() or target.read_text() != lock
    if changed:
        target.write_text(lock)
    return changed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upgrade", action="store_true", help="take the newest allowed versions")
    arguments = parser.parse_args()
    LOCKS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="relock-") as work_dir:
        for context in combinations():
            changed = relock(context, Path(work_dir), upgrade=arguments.upgrade)
            print(f"{combination_id(context)}: {'updated' if changed else 'unchanged'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
