"""`geoai-grade`: the autograder's command line.

Exit codes: 0 success, 1 a check found problems, 2 bad usage or missing input.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from autograder.hidden_data import HIDDEN_DATA_DIR


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _hidden_data(args: argparse.Namespace) -> int:
    from geoai_ref.synth.build import build_hidden
    from geoai_ref.synth.verify import compare_generations, manifest_problems

    out = Path(args.out)
    if args.check:
        problems = manifest_problems(out)
        with tempfile.TemporaryDirectory() as tmp:
            build_hidden(Path(tmp), progress=_say)
            problems += compare_generations(out, Path(tmp))
        for p in problems:
            print(f"DIFFERS: {p}")
        print("hidden data reproduce" if not problems else f"{len(problems)} difference(s)")
        return 1 if problems else 0
    for p in build_hidden(out, progress=_say):
        print(p)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="geoai-grade",
        description="Autograder of the GeoAI Week 4 exercise. Grading commands arrive with the autograder "
        "itself; this version manages the hidden evaluation data the hidden tests use.",
        epilog="Exit codes: 0 ok, 1 a check found problems, 2 bad usage or missing input.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser("hidden-data", help="generate (or --check) the hidden evaluation scene",
                       description="Generate the hidden evaluation scene (another seed and AOI than the student "
                       "fixtures): rasters, polygons and 8-band labelled patches. Never release this folder.")
    p.add_argument("--out", default=str(HIDDEN_DATA_DIR), help="folder to write (default: %(default)s)")
    p.add_argument("--check", action="store_true", help="regenerate in a temporary folder and compare with --out")
    p.set_defaults(func=_hidden_data)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (FileNotFoundError, ValueError) as exc:
        _say(f"geoai-grade: {exc}")
        return 2


if __name__ == "__main__":
    sys.exit(main())
