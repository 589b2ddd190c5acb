"""pyproject.toml declares exactly what the code imports, each in the right list, and the README's table
explains every one: a library imported but undeclared works only by accident of another's dependencies,
and one declared but unused is installed on every machine for nothing."""

from __future__ import annotations

import ast
import json
import re
import sys
import tomllib
from collections.abc import Iterator
from functools import cache
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))

# Where each list's imports come from. Code may also import what an earlier list declares: the tests run
# with the runtime dependencies installed, the benchmarks with runtime and dev (`make bench`).
SCOPES = {
    "runtime": ("matcher", "api", "roadshow"),
    "dev": ("tests", "tools", "notebooks"),
    "bench": ("bench",),
}
VISIBLE = {"runtime": ("runtime",), "dev": ("runtime", "dev"), "bench": ("runtime", "dev", "bench")}

# Declared and used, but never imported by name.
USED_WITHOUT_IMPORT = {
    "aiosqlite": "SQLAlchemy loads the driver DATABASE_URL names (sqlite+aiosqlite://)",
    "asyncpg": "SQLAlchemy loads the driver DATABASE_URL names (postgresql+asyncpg://)",
    "ipykernel": "the Python kernel nbclient starts to execute the notebooks",
    "redis": "the client behind Litestar's RedisStore and huey's RedisHuey when REDIS_URL is set",
    "pytest-xdist": "the pytest plugin behind make test's -n (one worker per core)",
    "ruff": "run by make lint",
    "mypy": "run by make lint",
}
# Import names of distributions that may not be installed where this test runs (the bench extra is
# installed only by `make bench`), when the import name differs from the distribution's.
NOT_INSTALLED_IMPORT_NAMES = {"lightfm": "lightfm-next"}


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared() -> dict[str, set[str]]:
    def names(requirements: list[str]) -> set[str]:
        found = (re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", r) for r in requirements)
        return {_normalise(m.group(0)) for m in found if m}

    extras = PYPROJECT["project"]["optional-dependencies"]
    return {
        "runtime": names(PYPROJECT["project"]["dependencies"]),
        "dev": names(extras["dev"]),
        "bench": names(extras["bench"]),
    }


def _sources(folder: str) -> Iterator[tuple[Path, str]]:
    for path in sorted((ROOT / folder).rglob("*.py")):
        yield path, path.read_text(encoding="utf-8")
    for path in sorted((ROOT / folder).rglob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        for cell in cells:
            if cell["cell_type"] == "code":
                lines = "".join(cell["source"]).splitlines()
                yield path, "\n".join(line for line in lines if not line.lstrip().startswith(("%", "!")))


def _top_level_imports(source: str) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def _first_party() -> set[str]:
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")}
    # Converters under data/ that the benchmarks import by path.
    return packages | {p.stem for p in (ROOT / "data").rglob("*.py")}


@cache
def _imported() -> dict[str, dict[str, set[str]]]:
    """scope -> distribution -> the files importing it."""
    installed = packages_distributions()
    local = _first_party() | set(sys.stdlib_module_names)
    result: dict[str, dict[str, set[str]]] = {}
    for scope, folders in SCOPES.items():
        uses: dict[str, set[str]] = {}
        for folder in folders:
            for path, source in _sources(folder):
                for name in _top_level_imports(source) - local:
                    dists = installed.get(name) or [NOT_INSTALLED_IMPORT_NAMES.get(name, name)]
                    for dist in dists:
                        uses.setdefault(_normalise(dist), set()).add(str(path.relative_to(ROOT)))
        result[scope] = uses
    return result


def test_every_import_is_declared_in_its_list() -> None:
    declared, imported = _declared(), _imported()
    undeclared = {
        f"{dist} (imported by {', '.join(sorted(files))}) is not in the {scope} dependencies"
        for scope, uses in imported.items()
        for dist, files in uses.items()
        if not any(dist in declared[visible] for visible in VISIBLE[scope])
    }
    assert not undeclared, sorted(undeclared)


def test_every_declared_dependency_is_used() -> None:
    declared, imported = _declared(), _imported()
    unused = {
        f"{dist} is declared in {scope} but nothing in {', '.join(SCOPES[scope])} imports it"
        for scope, dists in declared.items()
        for dist in dists
        if dist not in imported[scope] and dist not in USED_WITHOUT_IMPORT
    }
    assert not unused, sorted(unused)


def test_the_readme_explains_every_dependency_and_only_those() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Why each dependency is here", 1)[1].split("\n## ", 1)[0]
    named = {
        _normalise(name.strip(" `"))
        for row in table.splitlines()
        if row.startswith("| ") and not row.startswith(("| package", "|---"))
        for name in row.split("|")[1].split(",")
    }
    declared = set().union(*_declared().values())
    assert named == declared, {"in README only": sorted(named - declared), "not in README": sorted(declared - named)}
