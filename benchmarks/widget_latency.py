"""What a slider move costs in the kernel: every dashboard of the course, headless, against a naive re-plot.

    python benchmarks/widget_latency.py            a table
    python benchmarks/widget_latency.py --json     {"dashboards": {NAME: {"median_ms", "p90_ms",
                                                    "naive_median_ms", "ratio"}}}

"update" is what a slider move costs in the kernel: the in-place redraw plus the PNG sent to the page
(harness.dashboards.time_update at seeded random slider positions). "naive" is what `interactive_output`
does for the same figure: a new figure, drawn in full, saved as PNG (harness.dashboards.naive_update).
The rest of a key press, in a browser, is benchmarks/browser_latency.py's.
Goal on a 2-core machine: every dashboard <= 8 ms median and >= 4x faster than its naive re-plot.
"""

import argparse
import json
import os
import sys

os.environ.setdefault("MPLBACKEND", "Agg")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from harness.dashboards import time_update  # noqa: E402
from vaelib.dashboards import all_dashboards  # noqa: E402

GOAL_MS, GOAL_RATIO = 8.0, 4.0


def measure(factory, moves: int, naive_moves: int) -> dict:
    dash = factory()
    time_update(dash, 10, seed=1)  # warm-up: first draws fill matplotlib's caches
    fast = time_update(dash, moves, seed=2)
    naive = time_update(dash, naive_moves, naive=True, seed=3)
    median, naive_median = float(np.median(fast)), float(np.median(naive))
    return {"median_ms": round(median, 2), "p90_ms": round(float(np.percentile(fast, 90)), 2),
            "naive_median_ms": round(naive_median, 1), "ratio": round(naive_median / median, 1)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    ap.add_argument("--moves", type=int, default=200, help="slider moves timed per dashboard (>= 100)")
    ap.add_argument("--naive-moves", type=int, default=20, help="naive re-plots timed per dashboard")
    ap.add_argument("--only", default="", help="time only the dashboards whose name contains this")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch CPU threads (default 1: the dashboards' tensors are tiny, and spare "
                         "threads only spin against each other on a shared machine)")
    args = ap.parse_args(argv)
    if args.moves < 100 or args.naive_moves < 1 or args.threads < 1:
        ap.error("--moves must be >= 100, --naive-moves >= 1 and --threads >= 1")
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    results = {name: measure(f, args.moves, args.naive_moves)
               for name, f in all_dashboards().items() if args.only in name}
    if args.json:
        print(json.dumps({"dashboards": results}, indent=2))
    else:
        print(f"{'dashboard':<34}{'median ms':>10}{'p90 ms':>9}{'naive ms':>10}{'ratio':>8}  goal")
        for name, r in results.items():
            ok = r["median_ms"] <= GOAL_MS and r["ratio"] >= GOAL_RATIO
            print(f"{name:<34}{r['median_ms']:>10.2f}{r['p90_ms']:>9.2f}{r['naive_median_ms']:>10.1f}"
                  f"{r['ratio']:>7.0f}x  {'met' if ok else 'MISSED'}")
        print(f"({args.moves} moves each, {args.naive_moves} naive re-plots; goal <= {GOAL_MS:g} ms median, "
              f">= {GOAL_RATIO:g}x faster than naive; {args.threads} torch thread(s); "
              f"load average {os.getloadavg()[0]:.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
