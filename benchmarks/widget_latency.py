"""Slider-update latency of every dashboard of the course, headless, against a naive re-plot.

    python benchmarks/widget_latency.py            a table
    python benchmarks/widget_latency.py --json     {"dashboards": {NAME: {"median_ms", "p90_ms",
                                                    "naive_median_ms", "ratio"}}}

"update" is what a slider move costs in the kernel: the in-place redraw plus the PNG sent to the page.
"naive" is what `interactive_output` does for the same figure: a new figure, drawn in full, saved as PNG.
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


def fast_path(repeats: int = 2000) -> dict:
    """The dashboards' one numpy copy (dashboards.common.normal_pdf) against torch's Normal, for one
    curve of 241 points as a dashboard draws it: microseconds per curve, best of 5."""
    import timeit

    from torch.distributions import Normal

    from vaelib.dashboards.common import normal_pdf

    t = np.linspace(-9, 9, 241)
    z = torch.as_tensor(t)
    mean, std = torch.tensor(0.3, dtype=torch.float64), torch.tensor(1.2, dtype=torch.float64)
    runs = {"numpy_normal_pdf_us": lambda: normal_pdf(t, 0.3, 1.2),
            "torch_normal_us": lambda: Normal(mean, std).log_prob(z).exp().numpy()}
    best = {k: min(timeit.repeat(f, number=repeats, repeat=5)) for k, f in runs.items()}
    return {k: round(seconds / repeats * 1e6, 2) for k, seconds in best.items()}


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
    fast = fast_path()
    if args.json:
        print(json.dumps({"dashboards": results, "fast_path": fast}, indent=2))
    else:
        print(f"{'dashboard':<34}{'median ms':>10}{'p90 ms':>9}{'naive ms':>10}{'ratio':>8}  goal")
        for name, r in results.items():
            ok = r["median_ms"] <= GOAL_MS and r["ratio"] >= GOAL_RATIO
            print(f"{name:<34}{r['median_ms']:>10.2f}{r['p90_ms']:>9.2f}{r['naive_median_ms']:>10.1f}"
                  f"{r['ratio']:>7.0f}x  {'met' if ok else 'MISSED'}")
        print(f"({args.moves} moves each, {args.naive_moves} naive re-plots; goal <= {GOAL_MS:g} ms median, "
              f">= {GOAL_RATIO:g}x faster than naive; {args.threads} torch thread(s); "
              f"load average {os.getloadavg()[0]:.1f})")
        print(f"one 241-point density curve: numpy (dashboards.common.normal_pdf) "
              f"{fast['numpy_normal_pdf_us']} µs, torch Normal {fast['torch_normal_us']} µs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
