"""`geoai-grade`: the autograder's command line.

Exit codes: 0 success, 1 a check found problems, 2 bad usage or missing input.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from autograder.hidden_data import HIDDEN_DATA_DIR

REPO_ROOT = Path(__file__).resolve().parent.parent


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


def _notebooks(args: argparse.Namespace) -> int:
    from autograder.notebooks import build_all

    changed = build_all(check=args.check)
    if args.check:
        for phase in changed:
            print(f"OUT OF DATE: {phase} (its .ipynb differs from its .src.py source)")
        print("notebooks match their sources" if not changed else "run `geoai-grade notebooks` to rebuild")
        return 1 if changed else 0
    print(f"rebuilt {changed}" if changed else "notebooks already match their sources")
    return 0


def _phases(value: str | None) -> list[str] | None:
    from autograder.notebooks import PHASES

    if value in (None, "all"):
        return None
    phase = value if value.startswith("phase") else f"phase{value}"
    if phase not in PHASES:
        raise ValueError(f"unknown phase {value!r}; choose from {', '.join(PHASES)} or all")
    return [phase]


def _release(args: argparse.Namespace) -> int:
    from autograder.course import Course
    from autograder.release import ReleaseError, build_release

    try:
        release = build_release(Course(Path(args.course).resolve()), _phases(args.phase), progress=_say)
    except ReleaseError as exc:
        _say(f"geoai-grade release: {exc}")
        return 1
    for folder in sorted(p for p in release.iterdir() if p.is_dir()):
        print(folder)
    return 0


def _solutions(args: argparse.Namespace) -> int:
    from autograder.solutions import SolutionRunError, build_solutions

    try:
        seconds = build_solutions(Path(args.out), epochs=args.epochs, phases=_phases(args.phase), progress=_say)
    except SolutionRunError as exc:
        _say(f"geoai-grade solutions: {exc}")
        return 1
    for phase, s in seconds.items():
        print(f"{phase}\t{s:.0f} s\t{Path(args.out) / phase}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="geoai-grade",
        description="Autograder of the GeoAI Week 4 exercise: builds the assignment notebooks, the student "
        "release and the worked solutions, and manages the hidden evaluation data the hidden tests use.",
        epilog="Exit codes: 0 ok, 1 a check found problems, 2 bad usage or missing input.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser("hidden-data", help="generate (or --check) the hidden evaluation scene",
                       description="Generate the hidden evaluation scene (another seed and AOI than the student "
                       "fixtures): rasters, polygons and 8-band labelled patches. Never release this folder.")
    p.add_argument("--out", default=str(HIDDEN_DATA_DIR), help="folder to write (default: %(default)s)")
    p.add_argument("--check", action="store_true", help="regenerate in a temporary folder and compare with --out")
    p.set_defaults(func=_hidden_data)

    p = sub.add_parser("notebooks", help="rebuild the assignment notebooks from their .src.py sources",
                       description="Rebuild assignments/<phase>/*.ipynb from the jupytext sources beside them "
                       "(see assignments/AUTHORING.md). --check only reports notebooks that differ (exit 1).")
    p.add_argument("--check", action="store_true", help="report out-of-date notebooks instead of rewriting them")
    p.set_defaults(func=_notebooks)

    p = sub.add_parser("release", help="generate the student release with nbgrader and audit it",
                       description="Run nbgrader generate_assignment for each phase, add the data each phase needs "
                       "and a requirements.txt, then audit the release: no solutions, hidden tests, geoai_ref, "
                       "hidden data or text sources may leave. Exit 1 if the audit finds a leak.")
    p.add_argument("--phase", default="all", help="4a, 4b, 4c or all (default: all)")
    p.add_argument("--course", default=str(REPO_ROOT), help="nbgrader course folder (default: %(default)s; the "
                   "release goes to COURSE/release and the gradebook to COURSE/gradebook)")
    p.set_defaults(func=_release)

    p = sub.add_parser("solutions", help="execute the worked solutions into solutions/",
                       description="Execute each phase's instructor notebook without its hidden tests in a folder "
                       "holding the phase's data; the executed notebook and the deliverables it wrote stay there. "
                       "Exit 1 if a cell fails or writes to stderr.")
    p.add_argument("--out", default=str(REPO_ROOT / "solutions"), help="folder to write (default: %(default)s)")
    p.add_argument("--phase", default="all", help="4a, 4b, 4c or all (default: all)")
    p.add_argument("--epochs", type=int, default=None,
                   help="epoch budget (default: the notebooks' own, 50 with early stopping)")
    p.set_defaults(func=_solutions)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (FileNotFoundError, ValueError, RuntimeError) as exc:
        _say(f"geoai-grade: {exc}")
        return 2


if __name__ == "__main__":
    sys.exit(main())
