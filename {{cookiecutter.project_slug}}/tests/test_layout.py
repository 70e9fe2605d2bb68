"""The package's layers, from the top down: the app, the resources, the HTTP edge, the database
and serving, the settings, then logs and metrics. A module imports from its own layer or below,
never above (the database never knows a resource), and no two parts import each other."""

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import {{ cookiecutter.package_name }}

PACKAGE = Path({{ cookiecutter.package_name }}.__file__).parent
NAME = PACKAGE.name
RESOURCES = "the resources"
# From the top down. A part is a top-level module or package; one not named is a resource.
LAYERS: list[set[str]] = [
    {"__main__", "app", "migrations"},
    {RESOURCES},
    {"web"},
    {"database", "serving"},
    {"settings"},
    {"observability"},
]


def part_of(module: str) -> str:
    """`{{ cookiecutter.package_name }}.web.errors` is part of `web`."""
    return module.split(".")[1]


def layer_of(part: str) -> int:
    for depth, parts in enumerate(LAYERS):
        if part in parts:
            return depth
    return layer_of(RESOURCES)


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    """The modules of the package that the module at `path` imports."""
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            target = ".".join(part for part in (base, node.module) if part)
            if node.module:
                found.add(target)
            else:  # `from . import items`: modules or packages, by name
                found.update(f"{target}.{alias.name}" for alias in node.names)
    return {name for name in found if name.startswith(f"{NAME}.")}


def imports_between_parts() -> dict[tuple[str, str], list[str]]:
    """(importing part, imported part): the modules that make the import."""
    edges: dict[tuple[str, str], list[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        importer = module_name(path)
        for imported in imported_modules(path):
            if importer.count(".") and part_of(importer) != part_of(imported):
                edges.setdefault((part_of(importer), part_of(imported)), []).append(importer)
    return edges


def test_every_part_has_a_layer_and_items_is_a_resource() -> None:
    modules = {module_name(path) for path in PACKAGE.rglob("*.py")} - {NAME}
    parts = {part_of(module) for module in modules}
    named = set().union(*LAYERS) - {RESOURCES}

    assert "items" in parts - named
    assert named <= parts, f"a layer names a part that is gone: {sorted(named - parts)}"


def test_no_import_runs_up_a_layer() -> None:
    upward = [
        f"{', '.join(modules)} ({importer}) imports {imported}"
        for (importer, imported), modules in imports_between_parts().items()
        if layer_of(imported) < layer_of(importer)
    ]

    assert imports_between_parts(), "no import found: the test would prove nothing"
    assert not upward


def test_no_two_parts_import_each_other() -> None:
    graph: dict[str, set[str]] = {}
    for importer, imported in imports_between_parts():
        graph.setdefault(importer, set()).add(imported)

    try:
        TopologicalSorter(graph).prepare()
    except CycleError as cycle:
        raise AssertionError(f"a cycle: {' -> '.join(cycle.args[1])}") from None
