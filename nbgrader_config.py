"""nbgrader configuration of the GeoAI Week 4 course (traitlets only; see DESIGN.md, "Folders").

Run nbgrader from the repository root so this file is found; `geoai-grade release` does.
"""

from pathlib import Path

c = get_config()  # noqa: F821 - provided by traitlets when nbgrader loads this file

HERE = Path(__file__).resolve().parent

c.CourseDirectory.course_id = "geoai-week4"
c.CourseDirectory.root = str(HERE)
c.CourseDirectory.source_directory = "assignments"
c.CourseDirectory.release_directory = "release"
c.CourseDirectory.submitted_directory = "gradebook/submitted"
c.CourseDirectory.autograded_directory = "gradebook/autograded"
c.CourseDirectory.feedback_directory = "gradebook/feedback"
c.CourseDirectory.db_url = f"sqlite:///{HERE / 'gradebook' / 'gradebook.db'}"
# The notebooks' text sources (*.src.py) hold the solutions: never release or copy them.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "*.src.py",
                            "_autograder_outputs"]

# A grade cell that is deleted or altered in a submission is restored from the gradebook, so its
# points are never silently lost.
c.OverwriteCells.add_missing_cells = True
c.Autograde.create_student = True

# Autograding runs each notebook on a small epoch budget (the notebooks' setup cell reads
# GEOAI_EPOCHS, 1 under autograding): a ResNet-50 training cell then takes about 10 s on two CPU
# cores and a whole notebook well under a minute. 300 s per cell leaves room for slow machines; a
# cell that runs longer is interrupted and scored 0 instead of stalling the class.
c.Execute.timeout = 300
c.Execute.interrupt_on_timeout = True
c.Execute.allow_errors = True
# nbgrader raises when a kernel's output messages lag more than `iopub_timeout` (nbclient's default: 4 s)
# behind its reply. A busy machine (parallel graders, TensorFlow filling every core) lags longer than that
# while a training cell ends: seen as a whole 4B notebook failing with "Timeout waiting for IOPub output",
# recorded as a grader error. A minute of slack removes that without hiding a cell that never finishes
# (`timeout` above still applies).
c.Execute.iopub_timeout = 60

# A kernel that dies (os._exit, a crash) ends nbgrader's run without an autograded notebook: the student's end
# would look like the grader's fault and every earlier cell would lose its result. This Execute step keeps the
# cells that ran, and marks the cell the kernel died in and every later cell (scored 0); grading reports it as
# `kernel-died`. The rest is nbgrader's own list (nbgrader.converters.autograde.Autograde).
c.Autograde.autograde_preprocessors = [
    "autograder.grading.execute.ExecuteUntilKernelDies",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]

# Students run the notebooks with the full budget (50 epochs) and validate before submitting.
c.Validator.validate_all = True

# Feedback never shows hidden tests: their regions leave the cells and a failed check keeps only its
# message (a traceback would quote the check's source). See autograder/publish/feedback.py.
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
    "autograder.publish.feedback.HideHiddenTests",
]
