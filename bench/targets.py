"""What gets measured: the variants, and the references they are compared with."""

from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path

from .variants import PACKAGE, Bake

REFERENCE_APPS = Path(__file__).resolve().parent / "reference_apps"


class Kind(StrEnum):
    VARIANT = "variant"
    # A variant served with other settings (e.g. its access log on), to show what they cost.
    VARIANT_WITH_SETTINGS = "variant with settings"
    HAND_WRITTEN = "hand-written"
    HTTP_CEILING = "http-ceiling"
    DB_CEILING = "db-ceiling"


@dataclass(frozen=True)
class Target:
    id: str
    kind: Kind
    label: str
    bake: Bake  # whose environment it runs in
    driver: str | None = None
    strategy: str | None = None
    database_url: str | None = None  # its own database; None for the HTTP ceiling
    env: tuple[tuple[str, str], ...] = ()  # settings over the benchmark's own
    control_of: str | None = None  # an A/A control: the same app as that target, measured apart

    @property
    def is_variant(self) -> bool:
        return self.kind in (Kind.VARIANT, Kind.VARIANT_WITH_SETTINGS)

    @property
    def is_http(self) -> bool:
        return self.kind is not Kind.DB_CEILING

    @property
    def behind_pgbouncer(self) -> bool:
        return self.strategy == "pgbouncer"

    @property
    def command(self) -> list[str]:
        if self.is_variant:
            return self.bake.command("python", "-m", PACKAGE)
        # -P: the apps' directory must not be on sys.path, where asyncpg.py shadows asyncpg.
        script = {
            Kind.HAND_WRITTEN: f"{self.driver}.py",
            Kind.HTTP_CEILING: "no_database.py",
            Kind.DB_CEILING: "db_ceiling.py",
        }[self.kind]
        return self.bake.command("python", "-P", str(REFERENCE_APPS / script))

    @property
    def ready_path(self) -> str:
        """Answers 200 once the app serves: the variants' readiness probe; for the references,
        which have nothing else, a seeded item."""
        return "/health/ready" if self.is_variant else "/items/1"


def variant_target(bake: Bake, database_url: str) -> Target:
    variant = bake.variant
    return Target(
        id=variant.id,
        kind=Kind.VARIANT,
        label=variant.id,
        bake=bake,
        driver=variant.driver,
        strategy=variant.strategy,
        database_url=database_url,
    )


# What observing requests costs: each variant again with its access log on (LOG_LEVEL=info, one
# line per request to a file), and with its metrics off.
OBSERVABILITY_SETTINGS = {
    "access log": (("LOG_LEVEL", "info"),),
    "no metrics": (("METRICS_ENABLED", "false"),),
}


def observability_twins(variant: Target) -> list[Target]:
    return [
        replace(
            variant,
            id=f"{variant.id}+{name.replace(' ', '-')}",
            kind=Kind.VARIANT_WITH_SETTINGS,
            label=f"{variant.label}, {name}",
            env=env,
        )
        for name, env in OBSERVABILITY_SETTINGS.items()
    ]


def replica_twin(variant: Target, replica_url: str, pool_size: int) -> Target:
    """The variant reading from a streaming replica of its database (``--replica``)."""
    return replace(
        variant,
        id=f"{variant.id}+replica",
        kind=Kind.VARIANT_WITH_SETTINGS,
        label=f"{variant.label}, reading from a replica",
        env=(
            ("DATABASE_REPLICA_URL", replica_url),
            ("DB_REPLICA_POOL_MIN_SIZE", str(pool_size)),
            ("DB_REPLICA_POOL_MAX_SIZE", str(pool_size)),
            # One check at start-up, none during the loads: a check a second is no request's
            # cost, and under callgrind it would be counted into the requests.
            ("DB_REPLICA_CHECK_INTERVAL", "3600"),
        ),
    )


def driver_references(bake: Bake, database_url: str) -> list[Target]:
    """The driver's hand-written app and its read rate without HTTP, on one database."""
    driver = bake.variant.driver
    return [
        Target(
            id=f"db-ceiling-{driver}",
            kind=Kind.DB_CEILING,
            label=f"{driver}, no HTTP (DB ceiling)",
            bake=bake,
            driver=driver,
            database_url=database_url,
        ),
        Target(
            id=f"hand-written-{driver}",
            kind=Kind.HAND_WRITTEN,
            label=f"hand-written {driver} app",
            bake=bake,
            driver=driver,
            database_url=database_url,
        ),
    ]


def aa_control(target: Target) -> Target:
    """The same app measured as a second target: the difference between the two is what the
    machine's noise alone makes, and no verdict can be finer than that."""
    return replace(
        target,
        id=f"{target.id}+control",
        label=f"{target.label}, again (A/A control)",
        control_of=target.id,
    )


def http_ceiling(bake: Bake) -> Target:
    return Target(
        id="http-ceiling",
        kind=Kind.HTTP_CEILING,
        label="no database (HTTP ceiling)",
        bake=bake,
    )
