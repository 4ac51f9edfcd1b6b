"""Simulator benchmark: wall time and peak memory at 10,000 firms (median of runs) and 1,000,000.

Targets (issue 3): 10,000 firms x 24 months in < 20 s; 1,000,000 firms with >= 10,000,000
invoices in < 10 minutes and < 12 GiB peak. Each run is a fresh process so peak RSS is its own.

    python -m bench.simulate                 # small size, 3 runs
    python -m bench.simulate --big           # also the million-firm run (parquet)
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time


def _one(n_firms: int, months: int, seed: int, fmt: str, out: str) -> dict[str, float]:
    import resource

    from training.simulator import SimConfig, simulate, write_simulation

    t0 = time.perf_counter()
    res = simulate(SimConfig(n_firms=n_firms, months=months, seed=seed))
    t_sim = time.perf_counter() - t0
    write_simulation(res, out, fmt=fmt)
    total = time.perf_counter() - t0
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "firms": n_firms,
        "simulate_s": round(t_sim, 2),
        "total_s": round(total, 2),
        "peak_gib": round(peak_kib / 2**20, 3),
        "invoices": res.sources["invoices"].rows,
        "orders": res.sources["orders"].rows,
        "shipments": res.sources["shipments"].rows,
        "payments": res.sources["payments"].rows,
    }


def _run(n_firms: int, fmt: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as out:
        cmd = [sys.executable, "-m", "bench.simulate", "--child", str(n_firms), fmt, out]
        done = subprocess.run(cmd, check=True, capture_output=True, text=True)
        return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--big", action="store_true", help="also run 1,000,000 firms once")
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        n, fmt, out = args.child
        print(json.dumps(_one(int(n), 24, 7, fmt, out)))
        return
    small = [_run(10_000, "csv") for _ in range(args.runs)]
    med = statistics.median(r["total_s"] for r in small)
    print(f"10,000 firms x 24 months (csv): median {med:.2f} s over {args.runs} runs "
          f"(target < 20 s); peak {max(r['peak_gib'] for r in small):.2f} GiB; "
          f"invoices {small[0]['invoices']:,}")
    if args.big:
        big = _run(1_000_000, "parquet")
        print(f"1,000,000 firms x 24 months (parquet): {big['total_s']:.1f} s "
              f"(simulate {big['simulate_s']:.1f} s; target < 600 s); peak {big['peak_gib']:.2f} GiB "
              f"(target < 12); invoices {big['invoices']:,}, orders {big['orders']:,}, "
              f"shipments {big['shipments']:,}, payments {big['payments']:,}")


if __name__ == "__main__":
    main()
