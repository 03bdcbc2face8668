"""`geoai-ref`: the reference implementation's command line.

A thin layer over the library: library errors (:mod:`geoai_ref.errors`) become exit codes here, and only
here: 0 success, 1 a check found problems, 2 bad usage or missing input, 3 an outside resource is
unavailable (Earth Engine, ImageNet weights), 70 a bug of the kit.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

from geoai_ref.errors import EXIT_OK, MissingInput, ProblemsFound, Unavailable, UsageError, run_command
from geoai_ref.phase import PHASE_HELP, phase_argument
from geoai_ref.recipes import PROFILES, RECIPES

EXIT_PROBLEMS, EXIT_UNAVAILABLE = ProblemsFound.exit_code, Unavailable.exit_code


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _check_reproduction(out: Path, build: Callable[[Path], object], what: str, with_model: bool = False) -> int:
    """Regenerate into a temporary folder, print every difference with ``out``; exit 1 if there is any."""
    from geoai_ref.synth.verify import reproduction_lines, reproduction_problems

    problems = reproduction_problems(out, build, with_model=with_model, progress=_say)
    print("\n".join(reproduction_lines(problems, what)))
    return EXIT_PROBLEMS if problems else EXIT_OK


def _fixtures(args: argparse.Namespace) -> int:
    from geoai_ref.synth.course_build import build_course_data, build_tiny, ensure_rasters
    from geoai_ref.synth.course_scene import DEFAULT_SEED as COURSE_SCENE_SEED

    out = Path(args.out)
    if args.rasters:
        for p in ensure_rasters(out, progress=_say):
            print(p)
        return EXIT_OK

    def build(folder: Path) -> list[Path]:
        return build_course_data(folder, Path(args.polygons), seed=args.seed, train_model=not args.no_model,
                                 progress=_say)

    if args.check:
        return _check_reproduction(out, build, "fixtures", with_model=not args.no_model)
    paths = build(out)
    if args.seed == COURSE_SCENE_SEED:
        paths += build_tiny(out / "tiny")
    for p in paths:
        print(p)
    return EXIT_OK


def _course_config(args: argparse.Namespace) -> int:
    from geoai_ref.course import REAL_COURSE

    print(REAL_COURSE.to_json(Path(args.out)))
    return EXIT_OK


def _course_data(args: argparse.Namespace) -> int:
    from geoai_ref.course import COURSE, load_course_config
    from geoai_ref.synth.course_build import build_course_data

    course = load_course_config(Path(args.course)) if args.course else COURSE
    out, polygons = Path(args.out), Path(args.polygons)

    def build(folder: Path) -> list[Path]:
        return build_course_data(folder, polygons, course, args.seed, train_model=not args.no_model,
                                 cloud_hole=not args.no_cloud, progress=_say)

    if args.check:
        return _check_reproduction(out, build, "the course data")
    for p in build(out):
        print(p)
    return EXIT_OK


def _sensor_probe(args: argparse.Namespace) -> int:
    from geoai_ref.sensor_probe import probe_folder

    results = {split: r.to_dict() for split, r in probe_folder(Path(args.data), seed=args.seed).items()}
    for split, r in results.items():
        scores = ", ".join(f"{name} {100 * acc:.1f} %" for name, acc in r["accuracy"].items())
        sizes = f"{r['n_train']} / {r['n_val']}" if split == "week3" else f"5 folds of whole polygons, {r['n_val']}"
        _say(f"{split} ({sizes}; majority class {100 * r['majority_share']:.1f} %): {scores}")
    text = json.dumps(results, indent=1)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(text + "\n")
    print(text)
    return EXIT_OK


def _pipeline(args: argparse.Namespace) -> int:
    from geoai_ref.pipeline import run_data_pipeline

    result = run_data_pipeline(Path(args.data), Path(args.out))
    report = result.report
    _say("")
    for a in report["alignment"]:
        _say(("ok    " if a["passed"] else "FAIL  ") + a["message"])
    qc = report["quality_control"]
    _say(f"{'ok    ' if qc['ok'] else 'FAIL  '}quality control of the 8-band stack "
         f"({qc['nodata_pixels']} nodata pixels under cloud)")
    for name, s in report["splits"].items():
        _say(("ok    " if s["ok"] else "FLAG  ") + f"split {name}" + ("" if s["ok"] else ": " + s["problems"][0]))
    _say("\nwritten:")
    for p in result.files:
        print(p)
    failed = not all(a["passed"] for a in report["alignment"]) or not qc["ok"]
    return EXIT_PROBLEMS if failed else EXIT_OK


def _earthengine(args: argparse.Namespace) -> int:
    from affine import Affine
    from rasterio.crs import CRS

    from geoai_ref.grids import Grid
    from geoai_ref.sources.earthengine import download_sources

    aoi_path = Path(args.aoi)
    if not aoi_path.is_file():
        raise MissingInput(f"{aoi_path} not found: pass --aoi with an AOI GeoJSON that has an s2_grid property "
                           "(the fixtures' data/external/aoi.geojson is one)")
    try:
        aoi = json.loads(aoi_path.read_text())
        grid_spec = aoi["features"][0]["properties"]["s2_grid"]
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise UsageError(f"{aoi_path} is not an AOI GeoJSON with an s2_grid property on its first feature "
                         f"({type(exc).__name__}: {exc})") from None
    grid = Grid(CRS.from_user_input(grid_spec["crs"]), Affine(*grid_spec["transform"]), grid_spec["height"],
                grid_spec["width"])
    for p in download_sources(Path(args.out), aoi, grid, project=args.project, start=args.start, end=args.end,
                              timeout_s=args.timeout):
        print(p)
    return EXIT_OK


def _check(args: argparse.Namespace) -> int:
    from geoai_ref.deliverables import check_deliverables

    report = check_deliverables(Path(args.out), args.phase, Path(args.reference) if args.reference else None)
    for c in report.checks:
        print(("ok    " if c.passed else "FAIL  ") + f"{c.path}: {c.message}")
    print(f"{len(report.checks) - len(report.failures)}/{len(report.checks)} checks passed")
    return EXIT_OK if report.ok else EXIT_PROBLEMS


def _check_week3(args: argparse.Namespace) -> int:
    from geoai_ref.course import COURSE, load_course_config
    from geoai_ref.week3_folder import check_week3_folder

    course = load_course_config(Path(args.course)) if args.course else COURSE
    folder = check_week3_folder(Path(args.folder), course)
    print(f"course: {course.name}")
    for split, counts in (("train", folder.train_counts), ("val", folder.val_counts)):
        print(f"{split}: {sum(counts.values())} patches (" + ", ".join(f"{n} {k}" for n, k in counts.items()) + ")")
    print(f"values: {folder.value_range[0]:g}..{folder.value_range[1]:g}")
    print(folder.polygons.summary(course))
    print(f"model: input {folder.model.input_shape}, {folder.model.output_units} outputs")
    print("the Week 3 folder is usable")
    return EXIT_OK


def _training_command(work: Callable[[], int], weights: str | None, allow_random_init: bool) -> int:
    """Run ``work()`` (which loads TensorFlow); missing ImageNet weights become exit code 3."""
    import warnings

    from geoai_ref.models.resnet import PretrainedWeightsUnavailable, resolve_imagenet_weights

    if allow_random_init and weights == "imagenet":
        try:
            resolve_imagenet_weights()
        except PretrainedWeightsUnavailable as exc:
            _say(f"NOTE: training ResNet-50 from RANDOM initialisation (recorded as pretrained: false): {exc}")
    try:
        with warnings.catch_warnings():
            # the random-initialisation notice is the same for every model of a run: said once above
            warnings.filterwarnings("ignore", message=".*RANDOMLY INITIALISED.*", category=UserWarning)
            return work()
    except PretrainedWeightsUnavailable as exc:
        _say(f"geoai-ref: {exc}")
        return EXIT_UNAVAILABLE


def _run(args: argparse.Namespace) -> int:
    from geoai_ref.recipes import profile
    from geoai_ref.run import run_phases

    phases = list(args.phase)
    weights = None if args.weights == "none" else args.weights

    def work() -> int:
        for p in run_phases(Path(args.data), Path(args.out), phases, profile(args.profile), args.recipe, weights,
                            args.allow_random_init, args.seed, progress=_say):
            print(p)
        return EXIT_OK

    return _training_command(work, weights, args.allow_random_init)


def _lessons(args: argparse.Namespace) -> int:
    from geoai_ref.lessons import run_lessons
    from geoai_ref.recipes import profile

    weights = None if args.weights == "none" else args.weights

    def work() -> int:
        lessons = run_lessons(Path(args.data), Path(args.out), profile(args.profile), weights,
                              args.allow_random_init, args.seed, progress=_say)
        print(json.dumps(lessons, indent=1))
        return EXIT_OK

    return _training_command(work, weights, args.allow_random_init)


def _add_training_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--profile", choices=sorted(PROFILES), default="fast",
                   help="fast: 3 epochs, for tests and demos; full: the exercise's up-to-50 epochs "
                   "(default: %(default)s)")
    p.add_argument("--data", default="fixtures", help="data folder (default: %(default)s)")
    p.add_argument("--out", required=True, help="output folder; deliverables land at the exercise's paths under it")
    p.add_argument("--seed", type=int, default=42, help="seed for splits, initialisation and shuffling")
    p.add_argument("--weights", default="imagenet",
                   help="'imagenet' (Keras cache ~/.keras/models or $GEOAI_RESNET50_WEIGHTS), a path to the "
                   "ResNet-50 notop weights file, or 'none' for random initialisation (default: %(default)s)")
    p.add_argument("--allow-random-init", action="store_true",
                   help="when ImageNet weights cannot be found, train from random initialisation instead of "
                   "failing; recorded as pretrained: false in metrics and config.yaml")


def build_parser() -> argparse.ArgumentParser:
    from geoai_ref.bands import COMPOSITE_END, COMPOSITE_START
    from geoai_ref.synth.course_scene import DEFAULT_SEED as COURSE_SCENE_SEED

    parser = argparse.ArgumentParser(
        prog="geoai-ref",
        description="Reference implementation of the GeoAI Week 4 exercise (transfer learning and "
        "Sentinel-2 / MODIS / SRTM fusion, Los Lagos). Instructor-side: never give it to students.",
        epilog="Exit codes: 0 ok, 1 a check found problems, 2 bad usage or missing input, 3 an outside resource "
        "is unavailable (Earth Engine credentials, ImageNet weights).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("fixtures", help="generate (or --check) the offline data set: the course's polygons, "
                       "synthetic sensors", description="The kit's default data: the real course's 126 training "
                       "polygons and AOI (fixtures/course/, Apache-2.0) with the synthetic Sentinel-2, MODIS NDVI "
                       "and SRTM rendered under them, the Week 3 dataset cut as the course cut it (375 patches in "
                       "digital numbers, 300 / 75 at the patch level) and the course's Week 3 SimpleCNN trained on "
                       "it (as `course-data`, plus one persistent cloud in the composite for quality control to "
                       "find). With the default seed the result equals the committed fixtures/; the Sentinel-2 "
                       "composite (about 15 MB) is not committed: `--rasters` generates it (first use does it too).")
    p.add_argument("--out", required=True, help="folder to write (e.g. fixtures)")
    p.add_argument("--polygons", default="fixtures/course/larger_polygons.geojson",
                   help="the course's training polygons, GeoJSON in lon/lat (default: %(default)s)")
    p.add_argument("--seed", type=int, default=COURSE_SCENE_SEED, help="scene seed (default: %(default)s)")
    p.add_argument("--no-model", action="store_true", help="skip training the Week 3 model (saves ~15 s)")
    p.add_argument("--check", action="store_true",
                   help="do not write: regenerate in a temporary folder and compare with --out")
    p.add_argument("--rasters", action="store_true",
                   help="only generate the rasters --out's manifest lists but the folder lacks, checked against it")
    p.set_defaults(func=_fixtures)

    p = sub.add_parser("course-data", help="generate a course-shaped data set under a course's real polygons",
                       description="Render the synthetic Los Lagos scene under the course's training polygons over "
                       "its AOI (Sentinel-2 10 m, MODIS NDVI 231.656 m sinusoidal, SRTM 1 arc-second, land-cover "
                       "truth), copy the polygons, cut the Week 3 patches as the course did (3 per polygon at the "
                       "centroid and jittered by up to 10 m, digital numbers, 300 / 75 split at the patch level) and "
                       "train the course's Week 3 SimpleCNN on them. About a minute and 3 GB of memory.")
    p.add_argument("--out", required=True, help="folder to write (e.g. runs/course_data)")
    p.add_argument("--polygons", default="fixtures/course/larger_polygons.geojson",
                   help="the course's training polygons, GeoJSON in lon/lat (default: %(default)s)")
    p.add_argument("--course", default=None, help="a course configuration JSON (default: the built-in course)")
    p.add_argument("--seed", type=int, default=COURSE_SCENE_SEED, help="scene seed (default: %(default)s)")
    p.add_argument("--no-cloud", action="store_true",
                   help="no persistent cloud (nodata) in the Sentinel-2 composite (refused where it covers a patch)")
    p.add_argument("--no-model", action="store_true", help="skip training the Week 3 model")
    p.add_argument("--check", action="store_true",
                   help="do not write: regenerate in a temporary folder and compare with --out")
    p.set_defaults(func=_course_data)

    p = sub.add_parser("sensor-probe", help="how well each sensor alone separates the classes (1-NN on means)",
                       description="Fuse a data folder's rasters onto the Sentinel-2 grid, cut every sample's 8-band "
                       "patch and score a 1-nearest-neighbour classifier on standardised per-patch band means of "
                       "S2, MODIS, DEM, MODIS+DEM and all bands, on the folder's Week 3 split and with whole "
                       "polygons held out (5-fold grouped cross-validation). Prints JSON (and the scores on "
                       "stderr).")
    p.add_argument("--data", default="fixtures", help="data folder with rasters and a sample index "
                   "(default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="seed of the grouped folds (default: %(default)s)")
    p.add_argument("--json", default=None, help="also write the JSON to this file")
    p.set_defaults(func=_sensor_probe)

    p = sub.add_parser("pipeline", help="align, QC and extract the fused 8-band dataset from a data folder",
                       description="Run the Phase 4B data pipeline: align MODIS NDVI and SRTM onto the Sentinel-2 "
                       "10 m grid (bilinear), verify the alignment, run QC, extract 8x8x8 patches at the Week 3 "
                       "sample locations and check the splits. Writes X_train_fused.npy / X_val_fused.npy, a JSON "
                       "report and an overview figure.")
    p.add_argument("--data", default="fixtures", help="data folder: fixtures or an Earth Engine download "
                   "(default: %(default)s)")
    p.add_argument("--out", required=True, help="output folder (e.g. runs/demo)")
    p.set_defaults(func=_pipeline)

    p = sub.add_parser("earthengine", help="download the three source rasters from Earth Engine",
                       description="Download the Sentinel-2 L2A median composite, the MOD13Q1 NDVI composite and "
                       "SRTM GL1 elevation on the grids of an AOI file, as the same files the fixtures hold. "
                       "Needs `earthengine authenticate` and network; fails at once without credentials.")
    p.add_argument("--out", required=True, help="output data folder")
    p.add_argument("--aoi", default="fixtures/data/external/aoi.geojson",
                   help="AOI GeoJSON with an s2_grid property (default: %(default)s)")
    p.add_argument("--project", default=None, help="Google Cloud project registered for Earth Engine")
    p.add_argument("--start", default=COMPOSITE_START, help="composite start date (default: %(default)s)")
    p.add_argument("--end", default=COMPOSITE_END, help="composite end date, exclusive (default: %(default)s)")
    p.add_argument("--timeout", type=float, default=20.0, help="seconds to wait for Earth Engine to answer")
    p.set_defaults(func=_earthengine)

    p = sub.add_parser("run", help="train and write every deliverable of Phases 4A, 4B and 4C",
                       description="Run the reference solution of the exercise and write each deliverable at its "
                       "relative path under --out (models/week4/*.h5, reports/*.json|md, figures/*.png, "
                       "phase4c_outputs/, config.yaml). ImageNet weights cannot be downloaded here: provide them "
                       "(--weights PATH or ~/.keras/models) or pass --allow-random-init.")
    p.add_argument("--phase", type=phase_argument, default="all", help=f"phase(s) to run: {PHASE_HELP}")
    p.add_argument("--recipe", choices=sorted(RECIPES), default="recommended",
                   help="ResNet-50 recipe: the kit's recommended fixes or the exercise's original settings "
                   "(150 layers frozen, preprocess_input) (default: %(default)s)")
    _add_training_options(p)
    p.set_defaults(func=_run)

    p = sub.add_parser("check", help="check that a folder holds every deliverable, each one valid",
                       description="Check the deliverables of a run folder (the reference's or a student's): "
                       "presence, models (read statically, never executed), fused array shapes and value ranges, "
                       "metrics JSON layouts, non-blank figures, report sections, config.yaml. With --reference, "
                       "fused bands are matched to a reference run to catch a wrong band order. Exit 1 on failures.")
    p.add_argument("--out", required=True, help="the folder to check")
    p.add_argument("--phase", type=phase_argument, default="all", help=f"phase(s) to check: {PHASE_HELP}")
    p.add_argument("--reference", default=None, help="a reference run folder to compare fused arrays with")
    p.set_defaults(func=_check)

    p = sub.add_parser("check-week3", help="check a course's own Week 3 folder before building a release on it",
                       description="Check a Week 3 folder laid out as the course's (data/processed/{X,y}_{train,val}"
                       ".npy, data/labels/larger_polygons.geojson, models/week3/best_model.h5) against the course "
                       "configuration: shapes, dtypes, NaN patches, the scale of the values, labels within the class "
                       "list, usable polygons (labelled by class name; null geometries reported), and a model whose "
                       "input and output match (read statically, never executed). Lists every problem with its "
                       "fix; exit 1 if there is any.")
    p.add_argument("folder", help="the Week 3 folder")
    p.add_argument("--course", default=None, help="a course configuration JSON (default: the built-in course, "
                   "'GeoAI and Earth Vision', Los Lagos)")
    p.set_defaults(func=_check_week3)

    p = sub.add_parser("course-config", help="write the real course's configuration as JSON, to start another from",
                       description="Write the real course's configuration (class names in label order, colours, AOI, "
                       "CRS, Sentinel-2 bands and scale, patch size, patches per polygon, validation share, "
                       "attribution, what each class is on the ground) as JSON. Edit it for another course and give it "
                       "to `geoai-ref check-week3 --course` and `geoai-grade release --week3 FOLDER --config`.")
    p.add_argument("--out", required=True, help="the JSON file to write")
    p.set_defaults(func=_course_config)

    p = sub.add_parser("lessons", help="reproduce the exercise's lessons (collapse, one-class validation)",
                       description="Measure the exercise's documented failures on the kit's data: the Phase 4A "
                       "recipe vs the recommended one (collapse), and Keras validation_split on the samples in the "
                       "order Week 3 cut them vs the Week 3 split. Writes lessons.json under --out.")
    _add_training_options(p)
    p.set_defaults(func=_lessons)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_command("geoai-ref", lambda: args.func(args))


if __name__ == "__main__":
    sys.exit(main())
