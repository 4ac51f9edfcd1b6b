"""`make bench`: run every benchmark in turn, each in its own process (so peak memory is its own).

`python -m bench ingest graph` runs a chosen few; extra arguments after `--` go to each.
"""

from __future__ import annotations

import subprocess
import sys
import time

ALL = ("ingest", "simulate", "graph", "train", "serve", "preload", "spark")


def main(argv: list[str]) -> int:
    extra: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, extra = argv[:cut], argv[cut + 1 :]
    names = argv or list(ALL)
    failed = []
    for name in names:
        print(f"\n=== bench.{name} ===", flush=True)
        started = time.perf_counter()
        rc = subprocess.call([sys.executable, "-m", f"bench.{name}", *extra])
        print(f"=== bench.{name}: exit {rc} after {time.perf_counter() - started:.0f} s ===", flush=True)
        if rc != 0:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
