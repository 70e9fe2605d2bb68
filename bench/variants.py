"""The variants: every combination cookiecutter.json offers, baked and synced in a work dir."""

from dataclasses import dataclass
from pathlib import Path

from cookiecutter.main import cookiecutter

from tests.baking import TEMPLATE, checked_context, combination_id, combinations, run

PACKAGE = "my_service"  # the template's default package name, which every bake keeps


@dataclass(frozen=True)
class Variant:
    driver: str
    strategy: str

    @property
    def id(self) -> str:
        return combination_id(self.context)

    @property
    def context(self) -> dict[str, str]:
        return {"db_driver": self.driver, "connection_strategy": self.strategy}


def offered_variants() -> list[Variant]:
    return [Variant(c["db_driver"], c["connection_strategy"]) for c in combinations()]


def chosen_variants(ids: str | None) -> list[Variant]:
    """The variants named in a comma-separated list (all of them if None), in the template's
    order; a name the template does not offer is an error that lists the ones it does."""
    offered = offered_variants()
    if not ids:
        return offered
    wanted = {name.strip() for name in ids.split(",") if name.strip()}
    unknown = wanted - {variant.id for variant in offered}
    if unknown:
        raise SystemExit(
            f"unknown variant(s) {', '.join(sorted(unknown))}; "
            f"the template offers {', '.join(v.id for v in offered)}"
        )
    return [variant for variant in offered if variant.id in wanted]


@dataclass(frozen=True)
class Bake:
    variant: Variant
    path: Path

    def uv_run(self, *command: str, **env: str) -> str:
        return run(["uv", "run", "--no-sync", *command], self.path, **env)

    def command(self, *command: str) -> list[str]:
        """A command line that runs in this bake's environment from any directory."""
        return ["uv", "run", "--no-sync", "--project", str(self.path), *command]

    def sync(self) -> None:
        run(["uv", "sync", "--locked", "--quiet"], self.path)

    def migrate(self, database_url: str) -> None:
        self.uv_run("alembic", "upgrade", "head", DATABASE_URL=database_url)


def bake(variant: Variant, work_dir: Path) -> Bake:
    """Generate the variant's project, as `cookiecutter --no-input` would."""
    project = cookiecutter(
        str(TEMPLATE),
        no_input=True,
        output_dir=str(work_dir / variant.id),
        extra_context=checked_context(variant.context),
    )
    return Bake(variant, Path(project))
