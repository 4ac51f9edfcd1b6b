"""SQL lives in store/ only (DESIGN.md §4): `api`, `scoring`, `training` and the rest call named
store functions.

import-linter forbids the drivers and the ORM in `api` (pyproject.toml), but it sees an outside
package only whole: to it `from sqlalchemy import Engine` (a type hint, allowed) and
`from sqlalchemy import text` look the same. So this test reads the syntax tree of every module
outside store/: from SQLAlchemy it may import the type names `Engine` and `Connection` only, and
it may not reach the database around the store (a driver's cursor, `exec_driver_sql`, `execute`
with a statement, `raw_connection`) nor hold SQL in a string.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OUTSIDE_STORE = ("api", "common", "graph", "models", "scoring", "training")
ALLOWED_FROM_SQLALCHEMY = {"Engine", "Connection"}
TYPE_MODULES = {"sqlalchemy", "sqlalchemy.engine"}
FORBIDDEN_PACKAGES = {"sqlite3", "psycopg", "psycopg2", "sqlmodel", "alembic"}
DRIVER_CALLS = {"exec_driver_sql", "raw_connection", "executemany", "executescript", "cursor"}
DRIVER_ATTRIBUTES = {"driver_connection", "dbapi_connection"}
# SQL as written here: keywords in capitals (prose such as "select a firm from the list" passes).
SQL_TEXT = re.compile(
    r"\b(SELECT\s.+\sFROM\s|INSERT\s+INTO\s|UPDATE\s+\w+\s+SET\s|DELETE\s+FROM\s|PRAGMA\s+\w+|"
    r"BEGIN\s+(IMMEDIATE|DEFERRED|EXCLUSIVE)\b|CREATE\s+(TABLE|INDEX)\s|DROP\s+TABLE\s)",
    re.DOTALL,
)


def sql_findings(source: str) -> list[str]:
    """What in `source` is SQL or reaches the database around the store, one line each."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        where = f"line {getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Import):
            for alias in node.names:
                root = alias.name.split(".")[0]
                if root == "sqlalchemy" or root in FORBIDDEN_PACKAGES:
                    found.append(f"{where}: import {alias.name}")
        elif isinstance(node, ast.ImportFrom) and node.module:
            root = node.module.split(".")[0]
            if root in FORBIDDEN_PACKAGES or (root == "sqlalchemy" and node.module not in TYPE_MODULES):
                found.append(f"{where}: from {node.module} import ...")
            elif root == "sqlalchemy":
                found += [f"{where}: from sqlalchemy import {a.name}" for a in node.names
                          if a.name not in ALLOWED_FROM_SQLALCHEMY]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            name = node.func.attr
            if name in DRIVER_CALLS or (name == "execute" and (node.args or node.keywords)):
                found.append(f"{where}: .{name}(...)")
        elif isinstance(node, ast.Attribute) and node.attr in DRIVER_ATTRIBUTES:
            found.append(f"{where}: .{node.attr}")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL_TEXT.search(node.value):
            found.append(f"{where}: SQL text {node.value[:40]!r}")
    return found


@pytest.mark.parametrize("package", OUTSIDE_STORE)
def test_no_module_outside_store_holds_sql(package: str) -> None:
    modules = sorted((ROOT / package).rglob("*.py"))
    assert modules and (ROOT / package / "__init__.py") in modules  # the package was read
    findings = {
        str(path.relative_to(ROOT)): found
        for path in modules
        if (found := sql_findings(path.read_text(encoding="utf-8")))
    }
    assert findings == {}


@pytest.mark.parametrize(
    "source",
    [
        "from sqlalchemy import select",
        "from sqlalchemy import Engine, text",
        "import sqlalchemy as sa",
        "from sqlalchemy.sql import expression",
        "import sqlite3",
        "from sqlmodel import Session",
        "conn.exec_driver_sql('x')",
        "engine.raw_connection()",
        "conn.execute(stmt)",
        "raw = conn.connection.driver_connection",
        "q = 'SELECT firm_id FROM scores WHERE x = 1'",
        "q = 'PRAGMA wal_checkpoint(PASSIVE)'",
        "q = 'INSERT INTO audit_log VALUES (1)'",
    ],
)
def test_the_check_finds_sql(source: str) -> None:
    assert sql_findings(source)


@pytest.mark.parametrize(
    "source",
    [
        "from sqlalchemy import Engine, Connection",
        "from sqlalchemy.engine import Engine",
        "count, _ = await pipe.execute()",  # Redis: a pipeline, not SQL
        "detail = 'select a firm from the list'",
    ],
)
def test_the_check_lets_type_hints_and_plain_words_pass(source: str) -> None:
    assert sql_findings(source) == []
