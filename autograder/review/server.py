"""nbgrader's formgrader on a graded course, for TAs: a local Jupyter server (``geoai-grade grade-ui``).

The server runs in a subprocess, bound to localhost, behind a fresh token, with the course folder as its root
and the kit's nbgrader configuration pointed at the course (a generated ``nbgrader_config.py`` in
``gradebook/formgrader/``). The TA named at start is credited with every save (:mod:`autograder.review.ta_log`).
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from autograder.paths import REPO
from autograder.review.sync import gradebook_db
from autograder.review.ta_log import name_ta
from geoai_ref.errors import MissingInput, ToolFailed, UsageError

#: formgrader's port unless told otherwise; the rubric reports link to it.
FORMGRADER_PORT = 8890
FORMGRADER_URL = f"http://127.0.0.1:{FORMGRADER_PORT}"
#: Seconds the Jupyter server may take to answer before start-up counts as failed.
START_TIMEOUT = 90

CONFIG = '''\
# Written by `geoai-grade grade-ui`: the kit's nbgrader configuration, pointed at this course.
c = get_config()  # noqa: F821
load_subconfig({kit_config!r})  # noqa: F821
c.CourseDirectory.root = {root!r}
c.CourseDirectory.db_url = {db_url!r}
'''


def submission_url(base: str, formgrader_id: str, cell: str | None = None) -> str:
    """formgrader's page of one submitted notebook (at ``cell``'s score box when given)."""
    return f"{base.rstrip('/')}/formgrader/submissions/{formgrader_id}/" + (f"#{cell}" if cell else "")


@dataclass
class FormgraderServer:
    """A running formgrader: its address, login token, process and log."""

    course: Path
    port: int
    token: str
    process: subprocess.Popen
    log: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def login_url(self) -> str:
        """formgrader's start page, with the token that logs the browser in."""
        return f"{self.base_url}/formgrader?token={self.token}"

    def stop(self) -> None:
        """Stop the server (nothing a TA saved is lost: each save is already in the gradebook)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        _lock(self.course).unlink(missing_ok=True)

    def __enter__(self) -> FormgraderServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _check_course(course: Path) -> None:
    if not gradebook_db(course).is_file():
        raise MissingInput(f"{course} has no nbgrader gradebook (gradebook/gradebook.db): grade the class first with "
                           "`geoai-grade grade --course ...`")
    autograded = course / "gradebook" / "autograded"
    if not autograded.is_dir() or not any(autograded.glob("*/*/*.ipynb")):
        raise MissingInput(f"{autograded} holds no autograded notebook: grade the class first (formgrader shows "
                           "the notebooks of the last grading run)")


def _lock(course: Path) -> Path:
    """``<pid> <TA>`` of the formgrader running on ``course`` (one at a time: saves are credited to one TA)."""
    return course / "gradebook" / "formgrader" / "running"


def _running_elsewhere(course: Path) -> str | None:
    """The TA of a formgrader still running on ``course``, if any."""
    import psutil

    try:
        pid, _, ta = _lock(course).read_text().partition(" ")
        alive = psutil.pid_exists(int(pid))
    except (OSError, ValueError):
        return None
    return (ta.strip() or "?") if alive else None


def _port_free(port: int) -> bool:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds: TIME_WAIT is no conflict
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def start_formgrader(course: Path, grader: str, port: int = FORMGRADER_PORT) -> FormgraderServer:
    """Start formgrader on ``course`` (a graded course folder) for the TA ``grader``; returns once it answers.

    Raises:
        MissingInput: if the course was never graded.
        UsageError: if ``grader`` is empty, ``port`` is taken or another formgrader runs on the course.
        ToolFailed: if the Jupyter server does not start (the message holds the end of its log).
    """
    course = Path(course).resolve()
    _check_course(course)
    if not grader.strip():
        raise UsageError("name the TA with --grader: every score in the rubric says who gave it")
    other = _running_elsewhere(course)
    if other is not None:
        raise UsageError(f"formgrader already runs on {course} for {other}: saves are credited to one TA at a time, "
                         "so stop that `grade-ui` first (Ctrl-C in its terminal)")
    if not _port_free(port):
        raise UsageError(f"port {port} is taken (another formgrader?): stop it or pass --port")
    name_ta(gradebook_db(course), grader)
    runtime = course / "gradebook" / "formgrader"
    runtime.mkdir(parents=True, exist_ok=True)
    (runtime / "nbgrader_config.py").write_text(CONFIG.format(
        kit_config=str(REPO / "nbgrader_config.py"), root=str(course), db_url=f"sqlite:///{gradebook_db(course)}"))
    from autograder.authoring.course import path_with_venv

    token = secrets.token_hex(16)
    cmd = [sys.executable, "-m", "jupyter", "server", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
           "--port-retries=0", f"--ServerApp.root_dir={course}", f"--IdentityProvider.token={token}",
           '--ServerApp.jpserver_extensions={"nbgrader.server_extensions.formgrader": True}']
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    log = runtime / "server.log"
    env = {**os.environ, "PATH": path_with_venv()}  # nbgrader's Gradebook runs `alembic` from PATH
    with open(log, "wb") as out:
        process = subprocess.Popen(cmd, cwd=runtime, stdout=out, stderr=subprocess.STDOUT, env=env,
                                   start_new_session=True)
    _lock(course).write_text(f"{process.pid} {grader.strip()}")
    server = FormgraderServer(course, port, token, process, log)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ToolFailed(f"the Jupyter server stopped at start (exit {process.returncode}): "
                             f"{log.read_text(errors='replace')[-2000:]}")
        try:
            with urllib.request.urlopen(f"{server.base_url}/formgrader/api/assignments?token={token}", timeout=5) as r:
                if r.status == 200:
                    return server
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    server.stop()
    raise ToolFailed(f"formgrader did not answer within {START_TIMEOUT} s: {log.read_text(errors='replace')[-2000:]}")
