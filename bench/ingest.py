"""Ingest benchmark (issue 2 "How good"): invoice CSV -> read + validate + store, per backend.

    python -m bench.ingest [--rows 1000000] [--runs 3] [--skip-postgres]

Writes N invoice rows (valid USCCs) to a CSV, then, each in a fresh child process so that peak
memory is that of the work alone: `chaincredit load`'s path (store.reading.read_paths then
store.ingest.ingest_many, one transaction) into PostgreSQL and into SQLite, and a plain COPY of
the same file into a bare all-text PostgreSQL table, the limit no loader can beat. Median of the
runs; prints rows/s, peak RSS and the ratio of each loader to the plain COPY.
Targets: PostgreSQL >= 150,000 rows/s, SQLite >= 75,000 rows/s, peak RSS < 2 GiB.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import sqlalchemy as sa

TARGETS = {"postgres": 150_000.0, "sqlite": 75_000.0}
RSS_LIMIT_BYTES = 2 * 1024**3
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
COLUMNS = ("invoice_id", "seller_id", "buyer_id", "issue_date", "net", "tax", "total", "currency",
           "kind", "order_id", "due_date", "line_count")


def write_invoices(path: Path, rows: int, *, firms: int = 20_000, seed: int = 7) -> None:
    """N invoices among `firms` firms, as `chaincredit load` reads them (money as decimal text)."""
    from store.uscc import make_uscc

    rng = np.random.default_rng(seed)
    ids = np.array([make_uscc(f"91500000{i:09d}") for i in range(firms)], dtype=object)
    seller = rng.integers(0, firms, rows)
    buyer = (seller + rng.integers(1, firms, rows)) % firms
    net = rng.integers(1_000, 50_000_000, rows)
    tax = (net * 13 + 50) // 100
    total = net + tax
    day0 = np.datetime64("2023-01-01")
    issue = day0 + rng.integers(0, 730, rows).astype("timedelta64[D]")
    due = issue + np.timedelta64(60, "D")

    def money(minor: np.ndarray) -> pa.Array:
        units = pa.array(minor // 100).cast(pa.string())
        cents = pa.array(minor % 100 + 100).cast(pa.string())
        import pyarrow.compute as pc

        return pc.binary_join_element_wise(units, pc.utf8_slice_codeunits(cents, 1, 3), ".")

    table = pa.table(
        {
            "invoice_id": pa.array(np.char.add("INV", np.arange(rows).astype("U12")).astype(object)),
            "seller_id": pa.array(ids[seller]),
            "buyer_id": pa.array(ids[buyer]),
            "issue_date": pa.array(issue.astype("datetime64[D]"), type=pa.date32()),
            "net": money(net),
            "tax": money(tax),
            "total": money(total),
            "currency": pa.array(np.full(rows, "CNY", dtype=object)),
            "kind": pa.array(np.full(rows, "normal", dtype=object)),
            "order_id": pa.array(np.char.add("PO", (np.arange(rows) // 3).astype("U12")).astype(object)),
            "due_date": pa.array(due.astype("datetime64[D]"), type=pa.date32()),
            "line_count": pa.array(rng.integers(1, 20, rows)),
        }
    )
    pacsv.write_csv(table, path, write_options=pacsv.WriteOptions(quoting_style="none"))


CHILD_LOAD = textwrap.dedent(
    """
    import json, resource, sys, time
    from pathlib import Path
    import sqlalchemy as sa
    from store.db import make_engine
    from store.ingest import ingest_many
    from store.reading import read_paths

    url, path = sys.argv[1], Path(sys.argv[2])
    engine = make_engine(url)
    t0 = time.perf_counter()
    uploads = read_paths([path])
    t1 = time.perf_counter()
    assert not any(u.errors for u in uploads), uploads[0].errors[:5]
    results = ingest_many(engine, uploads, uploader="bench")
    t2 = time.perf_counter()
    with engine.connect() as conn:
        stored = conn.execute(sa.text("select count(*) from invoices")).scalar_one()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"read_s": t1 - t0, "store_s": t2 - t1, "total_s": t2 - t0,
                      "inserted": sum(r.inserted for r in results), "stored": stored,
                      "rss": rss}))
    """
)

CHILD_COPY = textwrap.dedent(
    """
    import json, resource, sys, time
    import psycopg
    url, path, columns = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
    with psycopg.connect(url) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_bare")
        conn.execute("CREATE TABLE bench_bare (" + ", ".join(c + " text" for c in columns) + ")")
        conn.commit()
        t0 = time.perf_counter()
        with conn.cursor() as cur, cur.copy("COPY bench_bare FROM STDIN (FORMAT csv, HEADER true)") as cp:
            with open(path, "rb") as fh:
                while block := fh.read(1 << 20):
                    cp.write(block)
        conn.commit()
        t1 = time.perf_counter()
        stored = conn.execute("select count(*) from bench_bare").fetchone()[0]
        conn.execute("DROP TABLE bench_bare")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"total_s": t1 - t0, "stored": stored, "rss": rss}))
    """
)


def _child(code: str, *args: str) -> dict[str, float]:
    repo = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(repo)}
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          cwd=repo, env=env, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"benchmark child failed:\n{done.stderr[-3000:]}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _fresh_postgres(admin_url: str) -> tuple[str, sa.Engine]:
    from store.db import upgrade

    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"chaincredit_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    return url, admin


def _truncate(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("TRUNCATE invoices, batches")
        conn.exec_driver_sql("CHECKPOINT")
    engine.dispose()


def _psycopg_url(url: str) -> str:
    return sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def run(rows: int, runs: int, pg_url: str | None) -> list[dict[str, object]]:
    from store.db import upgrade

    out: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="chaincredit-bench-") as tmp:
        csv_path = Path(tmp) / "invoices.csv"
        t0 = time.perf_counter()
        write_invoices(csv_path, rows)
        print(f"wrote {rows:,} invoices ({csv_path.stat().st_size / 1e6:.0f} MB) in "
              f"{time.perf_counter() - t0:.1f} s; load average {os.getloadavg()[0]:.1f}",
              file=sys.stderr)
        header = csv_path.open(encoding="utf-8").readline().strip()

        def record(name: str, samples: list[dict[str, float]]) -> None:
            med = statistics.median(s["total_s"] for s in samples)
            out.append({"name": name, "seconds": med, "rows_per_s": rows / med,
                        "rss": max(s["rss"] for s in samples),
                        "read_s": statistics.median(s.get("read_s", float("nan")) for s in samples)})
            print(f"{name}: median {med:.2f} s over {len(samples)} run(s)", file=sys.stderr)

        if pg_url is not None:
            url, admin = _fresh_postgres(pg_url)
            try:
                copies = [_child(CHILD_COPY, _psycopg_url(url), str(csv_path), header)
                          for _ in range(runs)]
                record("postgres plain COPY (limit)", copies)
                loads = []
                for _ in range(runs):
                    _truncate(url)
                    loads.append(_child(CHILD_LOAD, url, str(csv_path)))
                    assert loads[-1]["stored"] == rows
                record("postgres load", loads)
            finally:
                name = sa.make_url(url).database
                with admin.connect() as conn:
                    conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                admin.dispose()
        loads = []
        for i in range(runs):
            db = Path(tmp) / f"bench{i}.db"
            upgrade(f"sqlite:///{db}")
            loads.append(_child(CHILD_LOAD, f"sqlite:///{db}", str(csv_path)))
            assert loads[-1]["stored"] == rows
            for p in Path(tmp).glob(f"bench{i}.db*"):
                p.unlink()
        record("sqlite load", loads)
    return out


def report(results: list[dict[str, object]], rows: int) -> str:
    limit = next((r for r in results if "COPY" in str(r["name"])), None)
    lines = [f"{'':30} {'seconds':>8} {'rows/s':>10} {'read+validate s':>15} {'peak RSS':>9} "
             f"{'vs COPY':>8} {'target':>8}"]
    for r in results:
        rate = float(r["rows_per_s"])  # type: ignore[arg-type]
        ratio = f"{rate / float(limit['rows_per_s']):.2f}" if limit else "-"  # type: ignore[arg-type]
        backend = "postgres" if "postgres" in str(r["name"]) else "sqlite"
        target = "" if "COPY" in str(r["name"]) else (
            "met" if rate >= TARGETS[backend] else f"<{TARGETS[backend] / 1000:.0f}k")
        read = float(r["read_s"])  # type: ignore[arg-type]
        lines.append(
            f"{r['name']:30} {float(r['seconds']):8.2f} {rate:10,.0f} "  # type: ignore[arg-type]
            f"{'' if np.isnan(read) else f'{read:.2f}':>15} "
            f"{float(r['rss']) / 2**20:7.0f}MB {ratio:>8} {target:>8}"  # type: ignore[arg-type]
        )
    worst = max(float(r["rss"]) for r in results)  # type: ignore[arg-type]
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    lines.append(f"rows: {rows:,}; peak RSS {'under' if worst < RSS_LIMIT_BYTES else 'OVER'} 2 GiB; "
                 f"load average at the end (1, 5, 15 min): {load} on {os.cpu_count()} CPUs")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--database-url", default=os.environ.get("TEST_DATABASE_URL", DEFAULT_PG),
                        help="PostgreSQL server to benchmark (a scratch database is created there)")
    args = parser.parse_args(argv)
    results = run(args.rows, args.runs, None if args.skip_postgres else args.database_url)
    print(report(results, args.rows))


if __name__ == "__main__":
    main()
