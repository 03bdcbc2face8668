"""Benchmark: the reference runs (fast and full profiles) and seconds per training epoch.

    .venv/bin/python bench/reference.py [--profiles fast full] [--out runs/bench]

For each profile it runs `geoai-ref run --phase all --profile P --allow-random-init` in a
subprocess and records wall time and that process's own peak resident memory. From the
run's metrics files it reads the measured seconds per epoch of every ResNet-50 and SimpleCNN
trained, so the two architectures are compared in the same run on the same data.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from autograder.paths import REPO

# Runs the CLI in a fresh process and reports that process's own peak RSS (KiB) on its last stderr line.
CHILD = ("import resource, sys; from geoai_ref.cli import main; rc = main(sys.argv[1:]); "
         "print('peak_rss_kib', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr); "
         "sys.exit(rc)")


def epoch_seconds(out: Path) -> dict[str, list[float]]:
    """Seconds per epoch (first epoch excluded: it includes graph tracing) by architecture."""
    seconds: dict[str, list[float]] = {"ResNet-50": [], "SimpleCNN": []}
    m4a = json.loads((out / "reports/phase4a_metrics.json").read_text())
    seconds["ResNet-50"] += m4a["result"]["training"]["seconds_per_epoch"][1:]
    for rel, arch in (("reports/phase4b_ablation_study.json", "ResNet-50"),
                      ("phase4c_outputs/evaluation_results.json", "SimpleCNN")):
        for config in json.loads((out / rel).read_text())["configurations"]:
            seconds[arch] += config["training"]["seconds_per_epoch"][1:]
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", nargs="+", default=["fast", "full"], choices=["fast", "full"])
    parser.add_argument("--out", default=str(REPO / "runs" / "bench"))
    args = parser.parse_args()
    rows = []
    for profile in args.profiles:
        out = Path(args.out) / profile
        argv = ["run", "--phase", "all", "--profile", profile, "--allow-random-init", "--out", str(out)]
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", CHILD, *argv], check=True, cwd=REPO, capture_output=True,
                              text=True)
        wall = time.perf_counter() - start
        peak_kib = int(done.stderr.strip().splitlines()[-1].split()[-1])
        rows.append((profile, wall, peak_kib / 1024, epoch_seconds(out)))
    print(f"{'profile':8} {'wall s':>8} {'peak RSS MiB':>13}   {'s/epoch ResNet-50 (median, n)':>30}   "
          f"{'s/epoch SimpleCNN (median, n)':>30}   ratio")
    for profile, wall, peak, seconds in rows:
        resnet, cnn = seconds["ResNet-50"], seconds["SimpleCNN"]
        r, c = statistics.median(resnet) if resnet else float("nan"), statistics.median(cnn) if cnn else float("nan")
        print(f"{profile:8} {wall:8.1f} {peak:13.0f}   {r:22.3f} ({len(resnet):3d})   {c:22.3f} ({len(cnn):3d})   "
              f"{r / c:5.1f}x")


if __name__ == "__main__":
    main()
