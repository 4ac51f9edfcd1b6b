"""Benchmark of the graph engine (issue 4).

1. Speed-up over the networkx references on a 20,000-firm simulated region (median of runs).
2. 1,000,000 firms and 10,000,000 invoices with orders, shipments and payments, already in
   memory as flow frames, to all graph features: wall time and peak resident memory.

The large frames come from the generator below (the simulator is too slow to produce ten
million invoices inside a benchmark): the same columns as the contract, random relationships
with a share of trade to core firms, references on half the documents, late and missing flows.

The large part prints a per-stage table (wall, CPU, resident memory) from the engine's
progress callback, and the peak resident memory of the call itself (frames included; the
kernel's peak mark is reset after generating, so the generator's transients do not count).

    python -m bench.graph                # both parts
    python -m bench.graph --small-only   # part 1
    python -m bench.graph --large-only --firms 1000000 --invoices 10000000
"""

from __future__ import annotations

import argparse
import logging
import resource
import statistics
import time
from collections.abc import Mapping
from datetime import date

import networkx as nx
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

import graph
from graph import reference as ref
from graph.analysis import analyse
from graph.features import compute
from graph.ratings import RATING_GRADES, rating_quality

log = logging.getLogger("bench.graph")
AS_OF = date(2024, 12, 31)


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pd.Series:
    # 64-bit offsets: 5M firms' ids across 50M documents pass the 2 GiB of a 32-bit string array
    arr = pc.utf8_lpad(pc.cast(pa.array(numbers), pa.large_string()), width, "0")
    joined = pc.binary_join_element_wise(pa.scalar(prefix, pa.large_string()), arr,
                                         pa.scalar("", pa.large_string()))
    return pd.Series(pd.array(joined, dtype="str"))


def _dates(days: np.ndarray) -> np.ndarray:
    return days.astype("datetime64[D]").astype("datetime64[ns]")


def generate(n_firms: int, n_invoices: int, seed: int = 0) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    t = np.datetime64(AS_OF, "D").astype(np.int64)
    firm_ids = _ids("9150010", np.arange(n_firms), 11)
    core = rng.random(n_firms) < 0.01
    firms = pd.DataFrame({
        "firm_id": firm_ids,
        "is_core": core,
        "external_rating": pd.Series(np.asarray(RATING_GRADES, dtype=object)[rng.integers(0, 10, n_firms)],
                                     dtype="str").where(core, None),
        "founded_on": _dates(t - rng.integers(100, 8000, n_firms)),
    })
    n_pairs = max(n_invoices // 3, 1)
    cores = np.flatnonzero(core)
    seller = rng.integers(0, n_firms, n_pairs)
    buyer = np.where(rng.random(n_pairs) < 0.4, cores[rng.integers(0, cores.size, n_pairs)],
                     rng.integers(0, n_firms, n_pairs))
    buyer = np.where(buyer == seller, (buyer + 1) % n_firms, buyer)
    pair = rng.integers(0, n_pairs, n_invoices)
    s, b = seller[pair], buyer[pair]
    day = t - rng.integers(0, 730, n_invoices)
    total = np.round(rng.lognormal(11, 1.2, n_invoices), 2)
    minor = np.round(total * 100).astype(np.int64)
    terms = rng.choice(np.array([30, 60, 90]), n_invoices)
    has_ref = rng.random(n_invoices) < 0.5
    num = np.arange(n_invoices)
    order_ids = _ids("PO", num, 9)
    sid, bid = firm_ids.take(s).reset_index(drop=True), firm_ids.take(b).reset_index(drop=True)
    cny = pd.Series(["CNY"] * 1, dtype="str").repeat(n_invoices).reset_index(drop=True)
    invoices = pd.DataFrame({
        "invoice_id": _ids("I", num, 10), "seller_id": sid, "buyer_id": bid,
        "issue_date": _dates(day), "net_minor": np.round(minor / 1.13).astype(np.int64),
        "net_cny": np.round(total / 1.13, 2), "total_minor": minor, "total_cny": total,
        "payable_minor": minor, "payable_cny": total, "currency": cny,
        "kind": pd.Series(["normal"], dtype="str").repeat(n_invoices).reset_index(drop=True),
        "original_invoice_id": pd.Series([None] * n_invoices, dtype="str"),
        "order_id": order_ids.where(has_ref, None),
        "due_date": _dates(day + terms),
    })
    orders = pd.DataFrame({
        "order_id": order_ids, "buyer_id": bid, "seller_id": sid,
        "order_date": _dates(day - rng.integers(0, 30, n_invoices)),
        "amount_minor": minor, "amount_cny": total, "currency": cny, "payment_terms_days": terms,
    })
    shipped = rng.random(n_invoices) < 0.9
    ship_ref = rng.random(n_invoices) < 0.5
    sh = np.flatnonzero(shipped)
    shipments = pd.DataFrame({
        "shipment_id": _ids("W", sh, 10), "shipper_id": sid.take(sh).reset_index(drop=True),
        "consignee_id": bid.take(sh).reset_index(drop=True),
        "order_id": order_ids.take(sh).where(ship_ref[sh], None).reset_index(drop=True),
        "ship_date": _dates(day[sh] + rng.integers(-5, 6, sh.size)),
        "goods_value_minor": minor[sh], "goods_value_cny": total[sh], "currency": cny.take(sh).reset_index(drop=True),
    })
    paid = rng.random(n_invoices) < 0.85
    pp = np.flatnonzero(paid)
    pay_day = day[pp] + terms[pp] + np.round(rng.normal(0, 20, pp.size)).astype(np.int64)
    cite = rng.random(pp.size) < 0.5
    payments = pd.DataFrame({
        "payment_id": _ids("P", pp, 10), "payer_id": bid.take(pp).reset_index(drop=True),
        "payee_id": sid.take(pp).reset_index(drop=True), "paid_on": _dates(pay_day),
        "amount_minor": minor[pp], "amount_cny": total[pp], "currency": cny.take(pp).reset_index(drop=True),
        "invoice_id": invoices["invoice_id"].take(pp).where(cite, None).reset_index(drop=True),
    })
    ev = rng.choice(n_firms, max(n_firms // 100, 1), replace=False)
    events = pd.DataFrame({"firm_id": firm_ids.take(ev).reset_index(drop=True),
                           "event_date": _dates(t - rng.integers(0, 730, ev.size)),
                           "kind": "default_90dpd"})
    return {"firms": firms, "orders": orders, "invoices": invoices, "shipments": shipments,
            "payments": payments, "credit_events": events}


def reference_run(frames: Mapping[str, pd.DataFrame], as_of: date) -> float:
    """The networkx reference algorithms over the same edges; returns seconds."""
    p = graph.GraphParams()
    edges = graph.build_edges(frames, as_of)
    t0 = time.process_time()
    g = graph.to_networkx(edges)
    firms = frames["firms"]
    g.add_nodes_from(firms["firm_id"])
    core = firms[firms["is_core"]]
    quality = dict(zip(core["firm_id"], rating_quality(core["external_rating"]), strict=True))
    ref.pagerank(g)
    for v in g.nodes:
        ref.hhi(g, v, True)
        ref.hhi(g, v, False)
    ref.transmission(g, quality, p.transmission_decay, p.max_tier, up=True)
    ref.transmission(g, quality, p.transmission_decay, p.max_tier, up=False)
    ref.tiers(g, list(quality), p.max_tier)
    sales = edges.groupby("seller_id")["verified_cny"].sum()
    w = ref.impact_weights(g, sales.to_dict())
    ref.exposure_to_largest_core(g, w, set(quality))
    recent = nx.DiGraph()
    for s, b, d in g.edges(data=True):
        if s not in quality and b not in quality and d["invoiced_cny"] > 0:
            recent.add_edge(s, b, a=d["invoiced_cny"])
    ref.cycles(recent, "a", p.cycle_amount_tolerance, p.cycle_max_length)
    return time.process_time() - t0


def small(n_firms: int, runs: int) -> None:
    from training.simulator import SimConfig, simulate

    res = simulate(SimConfig(n_firms=n_firms, months=24, seed=1))
    n_inv = len(res.frames["invoices"])
    total, algos, slow = [], [], []
    for _ in range(runs):  # interleaved, so both see the same machine load
        t0 = time.process_time()
        a = analyse(res.frames, res.end)
        t1 = time.process_time()
        compute(a)
        t2 = time.process_time()
        total.append(t2 - t0)
        algos.append(t2 - t1)
        slow.append(reference_run(res.frames, res.end))
    f, a_med, s = statistics.median(total), statistics.median(algos), statistics.median(slow)
    print(f"small (CPU seconds, medians of {runs}): {n_firms} firms, {n_inv} invoices; "
          f"build_features {f:.2f} s of which graph algorithms + features {a_med:.2f} s "
          f"(runs {', '.join(f'{x:.2f}' for x in algos)}); networkx reference algorithms "
          f"{s:.2f} s (runs {', '.join(f'{x:.2f}' for x in slow)}); speed-up on the algorithms "
          f"{s / a_med:.1f}x, over the whole build_features {s / f:.1f}x")


def _rss_gib(field: str) -> float:
    """VmHWM (peak) or VmRSS (current) of this process in GiB, from /proc/self/status."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 2**20
    return float("nan")


def _reset_peak() -> bool:
    """Reset the kernel's peak-RSS mark, so the peak measured is that of build_features
    (frames included), not of the generator's transient arrays."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def large(n_firms: int, n_invoices: int) -> None:
    t0 = time.perf_counter()
    frames = generate(n_firms, n_invoices)
    gen = time.perf_counter() - t0
    sizes = ", ".join(f"{k} {len(v):,}" for k, v in frames.items())
    frames_gib = sum(int(v.memory_usage(deep=True).sum()) for v in frames.values()) / 2**30
    reset = _reset_peak()
    print(f"large: generated in {gen:.1f} s ({sizes}); frames {frames_gib:.2f} GiB, "
          f"RSS {_rss_gib('VmRSS'):.2f} GiB, generator peak "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB"
          f"{' (peak mark reset)' if reset else ''}")
    rows: list[tuple[str, float, float, float]] = []
    clock = [time.perf_counter(), time.process_time()]
    current = [""]

    def progress(stage: str, frac: float) -> None:
        now, cpu = time.perf_counter(), time.process_time()
        if current[0]:
            rows.append((current[0], now - clock[0], cpu - clock[1], _rss_gib("VmRSS")))
        clock[0], clock[1], current[0] = now, cpu, stage
        log.info("%-14s %3.0f%%  RSS %.2f GiB", stage, 100 * frac, _rss_gib("VmRSS"))

    t0, c0 = time.perf_counter(), time.process_time()
    feats = graph.build_features(frames, AS_OF, progress=progress)
    took, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak = _rss_gib("VmHWM") if reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"{'stage':<16}{'wall s':>9}{'CPU s':>9}{'RSS GiB':>9}")
    for stage, w, c, r in rows:
        print(f"{stage:<16}{w:>9.1f}{c:>9.1f}{r:>9.2f}")
    print(f"{'total':<16}{took:>9.1f}{cpu:>9.1f}")
    print(f"large: build_features {took:.1f} s wall, {cpu:.1f} s CPU for {len(feats):,} firms x "
          f"{feats.shape[1]} features; peak RSS during the call {peak:.2f} GiB (frames included)")
    with open("/proc/loadavg") as f:
        print(f"load average: {f.read().split()[:3]}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--firms", type=int, default=1_000_000)
    ap.add_argument("--invoices", type=int, default=10_000_000)
    ap.add_argument("--small-firms", type=int, default=20_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--small-only", action="store_true")
    ap.add_argument("--large-only", action="store_true")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if not args.large_only:
        small(args.small_firms, args.runs)
    if not args.small_only:
        large(args.firms, args.invoices)


if __name__ == "__main__":
    main()
