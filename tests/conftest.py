"""Fixtures shared by every test package: a migrated database on SQLite and on PostgreSQL.

`db_url` / `engine` are parametrised over both backends. PostgreSQL gets a uniquely named
database per test session (so parallel runs and xdist workers never collide), dropped at the end.
Where no server answers, PostgreSQL tests are skipped with the reason shown, except when
REQUIRE_POSTGRES=1 (CI), where they fail. Tables are emptied between tests. SQLite is a copy
of one migrated template file per test (`sqlite_url` / `sqlite_engine` where only SQLite will do,
`new_sqlite` for fixtures wider than a test). Every test database is made one of these ways:
migrated, never `create_all`.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

DEFAULT_TEST_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def _postgres_admin_url() -> sa.URL:
    url = sa.make_url(os.environ.get("TEST_DATABASE_URL", DEFAULT_TEST_DATABASE_URL))
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return url


def _unavailable(reason: str) -> None:
    if os.environ.get("REQUIRE_POSTGRES") == "1":
        pytest.fail(f"REQUIRE_POSTGRES=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def _postgres_url() -> Iterator[str]:
    from store.db import upgrade

    admin_url = _postgres_admin_url()
    admin = sa.create_engine(
        admin_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3}
    )
    try:
        with admin.connect() as conn:
            conn.execute(sa.text("select 1"))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        first_line = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        _unavailable(f"no PostgreSQL at {admin_url.render_as_string()}: {first_line}")
    name = f"chaincredit_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(scope="session")
def _sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The migrated SQLite template of the session; tests get copies of it, never this file."""
    from store.db import upgrade

    path: Path = tmp_path_factory.mktemp("db") / "chaincredit.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def new_sqlite(_sqlite_url: str) -> Callable[[Path], str]:
    """`new_sqlite(path)`: a copy of the migrated template at `path`, and its URL. For fixtures
    of a wider scope than a test; a test asks for `sqlite_url` or `sqlite_engine`."""
    template = sa.make_url(_sqlite_url).database
    assert template is not None

    def copy(path: Path) -> str:
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(template, path)
        return f"sqlite:///{path}"

    return copy


@pytest.fixture
def sqlite_url(new_sqlite: Callable[[Path], str], tmp_path: Path) -> str:
    """URL of a migrated, empty SQLite file of this test's own (for what only SQLite has)."""
    return new_sqlite(tmp_path / "chaincredit.db")


@pytest.fixture
def sqlite_engine(sqlite_url: str) -> Iterator[Engine]:
    from store.db import make_engine

    eng = make_engine(sqlite_url)
    try:
        yield eng
    finally:
        eng.dispose()


def _empty_all_tables(engine: Engine) -> None:
    """Empty every table of a PostgreSQL test database between tests."""
    names = [n for n in sa.inspect(engine).get_table_names() if n != "alembic_version"]
    if names:
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "TRUNCATE " + ", ".join(f'"{n}"' for n in names) + " RESTART IDENTITY CASCADE"
            )


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """URL of a migrated, empty database on the parametrised backend.

    SQLite: a fresh copy of the migrated file per test (the append-only audit log cannot be
    emptied with DELETE, by design). PostgreSQL: the session's database, emptied."""
    if request.param == "sqlite":
        url: str = request.getfixturevalue("sqlite_url")
        return url
    url = request.getfixturevalue("_postgres_url")
    from store.db import make_engine

    engine = make_engine(url)
    try:
        _empty_all_tables(engine)
    finally:
        engine.dispose()
    return url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on a migrated, empty database; emptied again after the test."""
    from store.db import make_engine

    eng = make_engine(db_url)
    try:
        yield eng
    finally:
        if eng.dialect.name == "postgresql":
            _empty_all_tables(eng)
        eng.dispose()


# --- trained models, MLflow and a loaded simulation, shared by training and scoring tests ------

@pytest.fixture(scope="session")
def outcome() -> Any:
    """One trained outcome per session (a small synthetic point-in-time dataset)."""
    from tests.training.factories import FAST_MODEL, synthetic_dataset
    from training.train import train_and_evaluate

    return train_and_evaluate(synthetic_dataset(), model_params=FAST_MODEL, oot_dates=2)


@pytest.fixture(scope="session")
def mlflow_settings(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A real MLflow tracking store and artifact folder in a temp folder."""
    from training.settings import TrainingSettings

    root: Path = tmp_path_factory.mktemp("mlflow")
    return TrainingSettings(
        mlflow_tracking_uri=f"sqlite:///{root / 'mlflow.db'}",
        mlflow_artifact_root=(root / "artifacts").as_uri(),
        chaincredit_data_dir=root / "var",
        registered_model_name="chaincredit-test",
        experiment_name="chaincredit-test",
    )


@pytest.fixture(scope="session")
def loaded(tmp_path_factory: pytest.TempPathFactory, new_sqlite: Callable[[Path], str]) -> Engine:
    """A small simulation loaded into a migrated SQLite file."""
    from store.db import make_engine
    from store.ingest import ingest_many
    from store.reading import read_paths
    from training.simulator import SimConfig, simulate, write_simulation

    root = tmp_path_factory.mktemp("dbds")
    res = simulate(SimConfig(n_firms=150, months=18, seed=3))
    written = write_simulation(res, root / "sim", fmt="parquet")
    engine = make_engine(new_sqlite(root / "cc.db"))
    files = [p for p in written if p.parent == root / "sim"]
    ingest_many(engine, read_paths(files), uploader="test")
    return engine
