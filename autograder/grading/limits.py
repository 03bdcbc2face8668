"""Running an untrusted command with a wall-time, a memory and a task limit.

The memory limit is enforced from outside: a watchdog sums the resident memory of the command's whole
process tree (nbgrader starts a Jupyter kernel as a grandchild) and kills the tree when it passes the
limit. ``RLIMIT_AS`` is not used: TensorFlow reserves far more address space than it touches.

The number of tasks (processes and threads) is capped by a cgroup of the ``pids`` controller of its own
(:class:`TaskCap`), so a fork bomb stops at :data:`MAX_TASKS` instead of taking every process id of the machine.
``RLIMIT_NPROC`` cannot do it: the jail's user maps to the grader's, and root is exempt. Where no writable
``pids`` controller exists (some containers), the command runs without the cap and :class:`LimitedRun` says so.

The same watchdog tells when a command **waits** (its whole tree has used almost no CPU for
:data:`IDLE_SECONDS`: a cell that sleeps in a loop, waits for ``input()`` or a lock) and says so once
(``on_idle``), so that the grader can use the core meanwhile.
"""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

POLL_SECONDS = 0.1
#: A command whose processes together used less than :data:`IDLE_SHARE` of one CPU for this many seconds waits.
IDLE_SECONDS = 10.0
IDLE_SHARE = 0.05
#: Tasks (processes and threads) one limited command may have at once. A grading run uses a few hundred
#: (nbgrader, the kernel, TensorFlow's thread pools); a fork bomb stops here.
MAX_TASKS = 2048
#: Where a cgroup of the pids controller can be made: cgroup v1's controller, or the cgroup v2 hierarchy.
PIDS_HIERARCHIES = (Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup"))


@dataclass(frozen=True)
class Limits:
    """Wall time (seconds) and resident memory (MiB) allowed to one command and its children."""

    seconds: float
    memory_mb: int


@dataclass(frozen=True)
class LimitedRun:
    """What a limited command did. ``killed`` is None, "timeout" or "memory"."""

    returncode: int | None
    output: str
    seconds: float
    peak_mb: float
    killed: str | None
    tasks_capped: bool = False  # whether the command ran under the MAX_TASKS cap (see TaskCap)
    cpu_seconds: float = 0.0  # user + system CPU time of the command and its descendants, as last sampled


class TaskCap:
    """A cgroup of the ``pids`` controller holding at most :data:`MAX_TASKS` tasks, made for one command and
    removed after it; ``path`` is None where the machine offers no writable pids controller."""

    def __init__(self, max_tasks: int | None = None) -> None:
        max_tasks = max_tasks or MAX_TASKS
        self.path: Path | None = None
        for hierarchy in PIDS_HIERARCHIES:
            if not (hierarchy / "cgroup.procs").exists():
                continue
            if hierarchy.name != "pids" and "pids" not in _read(hierarchy / "cgroup.subtree_control").split():
                continue  # a cgroup v2 hierarchy whose children get no pids controller
            path = hierarchy / f"geoai-{os.getpid()}-{threading.get_ident()}-{time.monotonic_ns()}"
            try:
                path.mkdir()
                (path / "pids.max").write_text(str(max_tasks))
            except OSError:
                _remove(path)
                continue
            self.path = path
            return

    def add(self, pid: int) -> bool:
        """Put process ``pid`` (before it starts children: they stay in its cgroup) under the cap."""
        if self.path is None:
            return False
        try:
            (self.path / "cgroup.procs").write_text(str(pid))
            return True
        except OSError:
            return False

    def joining(self, cmd: Sequence[str], env: Mapping[str, str] | None = None) -> list[str]:
        """``cmd`` started through ``/bin/sh``, which puts itself into the cgroup and then becomes ``cmd`` (exec, same
        pid): the command is under the cap before its first instruction, so no child it forks escapes it (adding
        its pid from outside after the start let a busy machine's fork bomb fork 14 children first).

        Raises:
            FileNotFoundError: if ``cmd[0]`` is not a program on ``env``'s PATH (as Popen would say, not the shell).
        """
        if self.path is None:
            return list(cmd)
        if shutil.which(cmd[0], path=(os.environ if env is None else env).get("PATH")) is None:
            raise FileNotFoundError(f"no such program: {cmd[0]}")
        return ["/bin/sh", "-c", 'echo $$ > "$1" 2>/dev/null; shift; exec "$@"', "geoai-task-cap",
                str(self.path / "cgroup.procs"), *cmd]

    def close(self) -> None:
        """Kill whatever is left in the cgroup (a fork bomb's orphans), then remove it."""
        if self.path is None:
            return
        for _ in range(50):
            left = [int(pid) for pid in _read(self.path / "cgroup.procs").split()]
            for pid in left:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            if not left and _remove(self.path):
                return
            time.sleep(0.1)


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _remove(path: Path) -> bool:
    try:
        path.rmdir()
        return True
    except OSError:
        return False


class TreeMeter:
    """Samples a process tree: its resident memory now, and the CPU time each process of it used so far (a process
    that ended between two samples counts with what it had used at the last one)."""

    def __init__(self, process: psutil.Process) -> None:
        self.process = process
        self._cpu: dict[tuple[int, float], float] = {}  # (pid, start time) -> user + system seconds

    def sample(self) -> float:
        """Resident memory of the process and all its descendants now, in MiB (0 for processes that are gone)."""
        total = 0
        try:
            tree = [self.process, *self.process.children(recursive=True)]
        except psutil.NoSuchProcess:
            return 0.0
        for p in tree:
            try:
                with p.oneshot():
                    total += p.memory_info().rss
                    times = p.cpu_times()
                    self._cpu[(p.pid, p.create_time())] = times.user + times.system
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
        return total / 2**20

    @property
    def cpu_seconds(self) -> float:
        return sum(self._cpu.values())


def kill_tree(process: psutil.Process) -> None:
    """SIGKILL a process and every descendant (children first, so none is re-parented and lost)."""
    try:
        children = process.children(recursive=True)
    except psutil.NoSuchProcess:
        children = []
    for p in [*children, process]:
        try:
            p.send_signal(signal.SIGKILL)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    psutil.wait_procs([*children, process], timeout=5)


def _kill_group(pgid: int) -> None:
    """SIGKILL what is left of a process group (the command ran in its own session, pgid = its pid)."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _no_core_dumps(pid: int) -> None:
    """Forbid core files to process ``pid`` and its future children: a crashing (or aborting) TensorFlow
    process would otherwise write gigabytes into the submission's folder."""
    with contextlib.suppress(OSError, ValueError):
        resource.prlimit(pid, resource.RLIMIT_CORE, (0, 0))


#: Commands running now (so that an interrupted coordinator can stop them: they run in their own sessions).
_LIVE: set[int] = set()
#: Set by ``stop_all(refuse_new=True)``: :func:`run_limited` starts nothing until :func:`accept_new` clears it.
_REFUSING = threading.Event()


class CommandsStopped(RuntimeError):
    """:func:`run_limited` was asked to start a command after :func:`stop_all` stopped this process's commands."""


def stop_all(refuse_new: bool = False) -> int:
    """Kill every command started by :func:`run_limited` that is still running (on SIGTERM / Ctrl-C); returns
    how many there were. With ``refuse_new``, later calls of :func:`run_limited` raise :class:`CommandsStopped`
    instead of starting a command (a grading thread that goes on after its nbgrader run was killed must not start
    the next command) until :func:`accept_new`."""
    if refuse_new:
        _REFUSING.set()
    stopped = len(_LIVE)
    for pid in list(_LIVE):
        try:
            kill_tree(psutil.Process(pid))
        except psutil.NoSuchProcess:
            pass
        _LIVE.discard(pid)
    return stopped


def accept_new() -> None:
    """Let :func:`run_limited` start commands again after ``stop_all(refuse_new=True)``."""
    _REFUSING.clear()


def kill_stale(pidfile: Path) -> bool:
    """Kill the command recorded in ``pidfile`` if it still runs (left over by a killed coordinator)."""
    try:
        pid, started = pidfile.read_text().split()
        process = psutil.Process(int(pid))
        if abs(process.create_time() - float(started)) > 1e-3:
            return False  # the pid was reused by an unrelated process
    except (OSError, ValueError, psutil.NoSuchProcess):
        return False
    kill_tree(process)
    return True


class IdleWatch:
    """Calls ``on_idle`` once, the first time a process tree's CPU time grows by less than :data:`IDLE_SHARE` of
    the wall time for :data:`IDLE_SECONDS` in a row (fed by :meth:`sample`)."""

    def __init__(self, on_idle: Callable[[], object] | None) -> None:
        self.on_idle = on_idle
        self._since: tuple[float, float] | None = None  # (time, CPU seconds) when it last looked busy

    def sample(self, now: float, cpu_seconds: float) -> None:
        if self.on_idle is None:
            return
        if self._since is None or cpu_seconds - self._since[1] > IDLE_SHARE * (now - self._since[0]):
            self._since = (now, cpu_seconds)  # busy (or the first sample): wait from here
        elif now - self._since[0] >= IDLE_SECONDS:
            on_idle, self.on_idle = self.on_idle, None
            on_idle()


def run_limited(cmd: Sequence[str], limits: Limits, cwd: Path | None = None,
                env: Mapping[str, str] | None = None, log: Path | None = None,
                pidfile: Path | None = None, on_idle: Callable[[], object] | None = None) -> LimitedRun:
    """Run ``cmd``; kill it (and its children) past ``limits``. stdout and stderr go to ``log`` (kept) or a
    temporary file; either way the text comes back in ``output``.

    The command runs in its own session, so a kill reaches the kernels it started, and under the task cap
    (:class:`TaskCap`) where the machine has one, without core files; ``pidfile`` records it for :func:`kill_stale`.
    ``on_idle`` is called (in this thread, once) when the command starts to wait (:class:`IdleWatch`).
    Raises:
        FileNotFoundError: if the program does not exist.
        CommandsStopped: if this process's commands were stopped with ``stop_all(refuse_new=True)``.
    """
    if _REFUSING.is_set():
        raise CommandsStopped(f"not started (this process is stopping its commands): {' '.join(cmd)[:200]}")
    start = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        log_path = Path(log) if log is not None else Path(tmp) / "output.log"
        cap = TaskCap()
        with open(log_path, "wb") as sink:
            proc = subprocess.Popen(cap.joining(cmd, env), cwd=cwd, env=dict(env) if env is not None else None,
                                    stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True)
            capped = cap.add(proc.pid)  # already in (joining): True if it is under the cap
            _no_core_dumps(proc.pid)
            watched = psutil.Process(proc.pid)
            meter = TreeMeter(watched)
            _LIVE.add(proc.pid)
            if pidfile is not None:
                pidfile.write_text(f"{proc.pid} {watched.create_time()}")
            peak, killed = 0.0, None
            idle = IdleWatch(on_idle)
            try:
                while proc.poll() is None:
                    peak = max(peak, meter.sample())
                    idle.sample(time.monotonic(), meter.cpu_seconds)
                    if time.monotonic() - start > limits.seconds:
                        killed = "timeout"
                    elif peak > limits.memory_mb:
                        killed = "memory"
                    if killed:
                        kill_tree(watched)
                        proc.wait()
                        break
                    time.sleep(POLL_SECONDS)
            except BaseException:  # an interrupt, or on_idle failed: nothing may run on unwatched
                kill_tree(watched)
                proc.wait()
                raise
            finally:
                _kill_group(proc.pid)  # also after a normal exit: nothing the command started may outlive it
                _LIVE.discard(proc.pid)
                cap.close()
        output = log_path.read_text(errors="replace")
    return LimitedRun(returncode=proc.returncode if killed is None else None, output=output,
                      seconds=time.monotonic() - start, peak_mb=peak, killed=killed, tasks_capped=capped,
                      cpu_seconds=meter.cpu_seconds)


def environment(**extra: str) -> dict[str, str]:
    """This process's environment plus ``extra`` (a copy; os.environ is never changed)."""
    return {**os.environ, **extra}
