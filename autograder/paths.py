"""Where the kit's own folders are: every path the autograder and its tools share, named once, here.

Relative layouts *inside* a data set or a run folder (``data/processed/X_val.npy``, the
deliverables) are :mod:`geoai_ref.layout`'s; this module places those folders on disk.
"""

from __future__ import annotations

from pathlib import Path

from geoai_ref.course import COURSE, REAL_COURSE, course_key

#: The repository root: nbgrader runs from here (``nbgrader_config.py``).
REPO = Path(__file__).resolve().parents[1]
#: nbgrader source notebooks, one folder per phase, and their jupytext sources.
ASSIGNMENTS = REPO / "assignments"
#: The offline data set the notebooks use (released to students, phase by phase).
FIXTURES = REPO / "fixtures"
#: The kit's hidden evaluation scene (the real course's classes): another seed and AOI, seen only by the grader.
#: Never released.
KIT_HIDDEN_DATA = REPO / "autograder" / "hidden_data"
#: The hidden evaluation scene of the course this process follows (:data:`geoai_ref.course.COURSE`): the kit's, or
#: for another course one generated for its classes on first use (``autograder.authoring.release_data.hidden_data``,
#: git-ignored).
HIDDEN_DATA = KIT_HIDDEN_DATA if COURSE == REAL_COURSE else REPO / "runs" / "hidden_data" / course_key(COURSE)
#: The reference fused patches (the 4B data pipeline run on the fixtures), shipped with 4C and used as the
#: band-order reference of the fused-array checks. Generated, git-ignored.
RELEASE_DATA = REPO / "runs" / "release_data"
#: Executed worked solutions (``geoai-grade solutions``).
SOLUTIONS = REPO / "solutions"
#: The worked solutions executed with the sample class's budget, reused between demo runs. Generated.
SAMPLE_CLASS_CACHE = REPO / "runs" / "sample_class_cache"
#: The 100-point rubric.
RUBRIC_FILE = REPO / "autograder" / "rubric" / "rubric.yaml"
