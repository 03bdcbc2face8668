"""The 100-point rubric (``autograder/rubric.yaml``): loading it and checking it against the notebooks."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from autograder.paths import RUBRIC_FILE
from geoai_ref.errors import UsageError
from geoai_ref.phase import Phase

SOURCES = ("nbgrader", "nbgrader-manual", "manual")


class RubricError(UsageError):
    """rubric.yaml is malformed or disagrees with the notebooks; the message says where."""


@dataclass(frozen=True)
class RubricCheck:
    id: str
    source: str  # one of SOURCES
    points: float
    description: str
    confirmed_by: tuple[str, ...] = ()  # trusted checks (autograder/trusted/checks.py) that must pass for the points
    flag: str | None = None  # the class-wide failure a failed check stands for (dashboard)


@dataclass(frozen=True)
class Criterion:
    id: str
    phase: Phase
    name: str
    description: str
    max: float
    checks: tuple[RubricCheck, ...]


@dataclass(frozen=True)
class Rubric:
    total: float
    criteria: tuple[Criterion, ...]

    def phase_of(self, check_id: str) -> Phase:
        """The phase of a check.

        Raises:
            KeyError: for a check the rubric does not name.
        """
        for cr in self.criteria:
            if any(c.id == check_id for c in cr.checks):
                return cr.phase
        raise KeyError(f"{check_id!r} is not a check of rubric.yaml")

    def checks(self, source: str | None = None) -> list[RubricCheck]:
        return [c for cr in self.criteria for c in cr.checks if source is None or c.source == source]


def load_rubric(path: Path = RUBRIC_FILE) -> Rubric:
    """Read and validate rubric.yaml: known sources, unique ids, checks summing to each max, maxima to total.

    Raises:
        RubricError: naming the criterion or check at fault.
    """
    try:
        data = yaml.safe_load(Path(path).read_text())
    except yaml.YAMLError as exc:
        raise RubricError(f"{path} is not valid YAML: {exc}") from None
    try:
        criteria = tuple(
            Criterion(id=c["id"], phase=Phase.parse(c["phase"]), name=c["name"], description=c["description"],
                      max=float(c["max"]),
                      checks=tuple(RubricCheck(id=k["id"], source=k["source"], points=float(k["points"]),
                                               description=k["description"],
                                               confirmed_by=tuple(k.get("confirmed_by", ())), flag=k.get("flag"))
                         for k in c["checks"]))
            for c in data["criteria"])
        rubric = Rubric(total=float(data["total"]), criteria=criteria)
    except ValueError as exc:
        raise RubricError(f"{path}: {exc}") from None
    except (KeyError, TypeError) as exc:
        raise RubricError(f"{path}: every criterion needs id, phase, name, description, max and checks "
                          f"(each with id, source, points, description); missing {exc}") from None
    from autograder.trusted.checks import TRUSTED_CHECKS

    seen: set[str] = set()
    for criterion in rubric.criteria:
        for check in criterion.checks:
            if check.source not in SOURCES:
                raise RubricError(f"{criterion.id}/{check.id}: source {check.source!r} is not one of {SOURCES}")
            if check.confirmed_by and check.source != "nbgrader":
                raise RubricError(f"{criterion.id}/{check.id}: only automatic (nbgrader) checks can be confirmed_by "
                                  "trusted checks")
            phase = criterion.phase
            unknown = set(check.confirmed_by) - set(TRUSTED_CHECKS.get(phase, ()))
            if unknown:
                raise RubricError(f"{criterion.id}/{check.id}: confirmed_by names {sorted(unknown)}, which are not "
                                  f"trusted checks of {phase} ({', '.join(TRUSTED_CHECKS.get(phase, ()))})")
            if check.id in seen:
                raise RubricError(f"check id {check.id!r} appears twice")
            seen.add(check.id)
        points = sum(c.points for c in criterion.checks)
        if abs(points - criterion.max) > 1e-9:
            raise RubricError(f"{criterion.id}: its checks give {points:g} points but its max is {criterion.max:g}")
    total = sum(c.max for c in rubric.criteria)
    if abs(total - rubric.total) > 1e-9:
        raise RubricError(f"the criteria sum to {total:g}, but total is {rubric.total:g}")
    return rubric


def notebook_problems(rubric: Rubric) -> list[str]:
    """Where the rubric and the notebooks' grade cells disagree (empty when they match).

    Every grade cell must be named by exactly one rubric check, automatic cells by ``nbgrader`` checks and
    answer cells by ``nbgrader-manual`` ones; where a check carries rubric points the cell carries the same.
    """
    from autograder.authoring.notebooks import PHASES, build_notebook, grade_cells

    problems = []
    cells: dict[str, dict] = {}
    for phase in PHASES.values():
        cells.update(grade_cells(build_notebook(phase.source)))
    named = {c.id: c for c in rubric.checks() if c.source != "manual"}
    for gid in sorted(set(cells) - set(named)):
        problems.append(f"grade cell {gid!r} is not in rubric.yaml: its points would count nowhere")
    for gid, check in named.items():
        if gid not in cells:
            problems.append(f"rubric check {gid!r} names no grade cell in the notebooks")
            continue
        manual = cells[gid]["solution"]
        if manual != (check.source == "nbgrader-manual"):
            problems.append(f"{gid}: rubric source {check.source!r} but the cell is "
                            f"{'a written answer' if manual else 'an autograded test'}")
        if check.points and abs(cells[gid]["points"] - check.points) > 1e-9:
            problems.append(f"{gid}: the cell carries {cells[gid]['points']:g} points, the rubric {check.points:g}")
    return problems
