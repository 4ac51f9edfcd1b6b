"""pyproject.toml says the truth: runtime code imports only declared runtime dependencies, and
every declared runtime dependency is imported by runtime code (or is named below with why)."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNTIME_PACKAGES = ("api", "common", "graph", "models", "scoring", "spark", "store", "training")
# distribution name -> the import names it provides
IMPORT_NAMES = {
    "scikit-learn": {"sklearn"},
    "psycopg": {"psycopg"},
    "pydantic-settings": {"pydantic_settings"},
    "prometheus-client": {"prometheus_client"},
    "pyarrow": {"pyarrow"},
}
# declared but reached only through another library, on purpose
INDIRECT: dict[str, str] = {}
# the `redis` extra, imported only when REDIS_URL is set; the `spark` extra, imported only by
# spark/ (which only `--engine spark` and export/import load)
OPTIONAL_IMPORTS = {"redis", "pyspark"}


def _declared(extra: str | None = None) -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = project["dependencies"] if extra is None else project["optional-dependencies"][extra]
    return {re.split(r"[\[<>=!~ ]", r, maxsplit=1)[0].lower() for r in reqs}


def _imported() -> set[str]:
    names: set[str] = set()
    ours = set(RUNTIME_PACKAGES)
    for package in RUNTIME_PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    names.update(a.name.split(".")[0] for a in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    names.add(node.module.split(".")[0])
    return {n for n in names if n not in ours and n not in sys.stdlib_module_names}


def _import_names(dist: str) -> set[str]:
    return IMPORT_NAMES.get(dist, {dist.replace("-", "_")})


def test_runtime_imports_are_declared() -> None:
    provided = set().union(*(_import_names(d) for d in _declared()))
    undeclared = _imported() - provided - OPTIONAL_IMPORTS
    assert not undeclared, f"runtime code imports undeclared packages: {sorted(undeclared)}"


def test_declared_runtime_dependencies_are_used() -> None:
    imported = _imported()
    unused = {d for d in _declared() if not (_import_names(d) & imported) and d not in INDIRECT}
    assert not unused, f"declared but never imported by runtime code: {sorted(unused)}"


def test_optional_imports_have_their_extra() -> None:
    assert "redis" in _declared("redis")
    assert "pyspark" in _declared("spark")
