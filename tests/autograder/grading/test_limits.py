"""run_limited: the wall-time and memory limits really stop a command and its children."""

import sys
import time

import psutil
import pytest

from autograder.grading.limits import Limits, kill_stale, run_limited

SLEEPER_WITH_CHILD = ("import subprocess, sys, time; "
                      "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
                      "print('started', flush=True); time.sleep(60)")


def test_output_and_exit_code(tmp_path):
    run = run_limited([sys.executable, "-c", "import sys; print('out'); print('err', file=sys.stderr); sys.exit(3)"],
                      Limits(seconds=30, memory_mb=2048), log=tmp_path / "log.txt")
    assert run.returncode == 3 and run.killed is None
    assert "out" in run.output and "err" in run.output and (tmp_path / "log.txt").exists()


def test_timeout_kills_the_whole_tree(tmp_path):
    start = time.monotonic()
    run = run_limited([sys.executable, "-c", SLEEPER_WITH_CHILD], Limits(seconds=2, memory_mb=2048),
                      pidfile=tmp_path / "pid")
    assert run.killed == "timeout" and run.returncode is None
    assert time.monotonic() - start < 15
    assert "started" in run.output
    sleepers = [p for p in psutil.process_iter(["cmdline"]) if "time.sleep(60)" in " ".join(p.info["cmdline"] or [])]
    assert sleepers == []


BUSY_CHILD_THEN_IDLE = ("import subprocess, sys, time; "
                        "subprocess.run([sys.executable, '-c', 'import time\\nt = time.process_time()\\n"
                        "while time.process_time() - t < 1.5: pass']); time.sleep(1)")


def test_cpu_seconds_count_the_children_that_ended_before_the_command():
    run = run_limited([sys.executable, "-c", BUSY_CHILD_THEN_IDLE], Limits(seconds=60, memory_mb=2048))
    assert run.returncode == 0, run.output
    # the child's 1.5 s of CPU (less at most one 0.1 s sampling interval) and two interpreters' start-up; the
    # parent's idle second adds nothing
    assert 1.2 <= run.cpu_seconds <= 2.5, run.cpu_seconds


def test_memory_limit_kills(tmp_path):
    hog = "import time; x = bytearray(600 * 2**20); x[::4096] = b'1' * len(x[::4096]); time.sleep(30)"
    run = run_limited([sys.executable, "-c", hog], Limits(seconds=60, memory_mb=300))
    assert run.killed == "memory" and run.peak_mb > 300


def test_a_command_and_its_children_write_no_core_files():
    import resource

    before = resource.getrlimit(resource.RLIMIT_CORE)
    resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))  # inherited
    try:
        run = run_limited(["sh", "-c", "sleep 1; ulimit -c; sh -c 'ulimit -c'"], Limits(seconds=30, memory_mb=300))
    finally:
        resource.setrlimit(resource.RLIMIT_CORE, before)
    assert run.output.split() == ["0", "0"], run.output


def test_kill_stale_stops_an_orphaned_command(tmp_path):
    import subprocess

    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
    (tmp_path / "pid").write_text(f"{proc.pid} {psutil.Process(proc.pid).create_time()}")
    start = time.monotonic()
    assert kill_stale(tmp_path / "pid") is True
    proc.wait(timeout=10)  # it would sleep for a minute
    assert time.monotonic() - start < 10
    (tmp_path / "pid").write_text(f"{proc.pid} 12345.0")  # gone (or a reused pid): left alone
    assert kill_stale(tmp_path / "pid") is False
    assert kill_stale(tmp_path / "missing") is False


FORK_BOMB = """
import os, time
n = 0
try:
    while True:
        if os.fork() == 0:
            time.sleep(30)
            os._exit(0)
        n += 1
except OSError as e:
    print('stopped after', n, type(e).__name__)
"""


def test_a_fork_bomb_stops_at_the_task_cap_and_leaves_nothing(monkeypatch):
    import os

    from autograder.grading import limits

    probe = limits.TaskCap()
    probe.close()
    if probe.path is None:
        pytest.skip("no writable cgroup pids controller on this machine: commands run without the task cap")
    monkeypatch.setattr(limits, "MAX_TASKS", 40)
    run = run_limited([sys.executable, "-c", FORK_BOMB], Limits(seconds=60, memory_mb=60_000))
    assert run.tasks_capped and run.returncode == 0 and "stopped after 39 BlockingIOError" in run.output
    assert not list(probe.path.parent.glob(f"geoai-{os.getpid()}-*"))  # its cgroup is gone
    assert not [p for p in psutil.process_iter(["cmdline"]) if "os.fork()" in " ".join(p.info["cmdline"] or [])]


def test_a_missing_program_is_a_file_not_found_error_under_the_task_cap_too():
    with pytest.raises(FileNotFoundError, match="no-such-program-here"):
        run_limited(["no-such-program-here", "--version"], Limits(seconds=10, memory_mb=100))


def test_the_command_runs_in_the_task_caps_cgroup():
    """The command reads its own cgroup: the cap's (the shell joined it before exec), not its parent's."""
    from autograder.grading import limits

    probe = limits.TaskCap()
    probe.close()
    if probe.path is None:
        pytest.skip("no writable cgroup pids controller on this machine: commands run without the task cap")
    run = run_limited([sys.executable, "-c", "print(open('/proc/self/cgroup').read())"],
                      Limits(seconds=60, memory_mb=2000))
    assert run.tasks_capped and run.returncode == 0
    assert any(line.split(":")[1] == "pids" and "/geoai-" in line for line in run.output.splitlines()), run.output


def test_the_idle_watch_speaks_once_after_a_quiet_stretch_and_never_for_busy_work():
    from autograder.grading.limits import IDLE_SECONDS, IDLE_SHARE, IdleWatch

    calls: list[float] = []
    busy = IdleWatch(lambda: calls.append(-1))
    for step in range(int(3 * IDLE_SECONDS)):  # a CPU's worth of work every second
        busy.sample(float(step), float(step))
    assert calls == []
    quiet = IdleWatch(lambda: calls.append(now))
    cpu = 5.0
    for step in range(int(3 * IDLE_SECONDS)):  # busy for 2 s, then a trickle under IDLE_SHARE of a CPU
        now = float(step)
        cpu += 1.0 if step < 2 else IDLE_SHARE / 2
        quiet.sample(now, cpu)
    assert calls == [1.0 + IDLE_SECONDS]  # once, IDLE_SECONDS after it last looked busy


def test_a_command_that_waits_is_reported_once_and_a_busy_one_never(monkeypatch):
    from autograder.grading import limits

    monkeypatch.setattr(limits, "IDLE_SECONDS", 1.0)
    waited: list[float] = []
    started = time.monotonic()
    sleeper = run_limited(["sleep", "3"], Limits(seconds=30, memory_mb=512),
                          on_idle=lambda: waited.append(time.monotonic() - started))
    assert sleeper.returncode == 0 and len(waited) == 1 and 1.0 <= waited[0] < 3.0
    busy = run_limited([sys.executable, "-c", "import time\nt = time.time()\nwhile time.time() - t < 3: pass"],
                       Limits(seconds=30, memory_mb=512), on_idle=lambda: waited.append(-1.0))
    assert busy.returncode == 0 and busy.cpu_seconds > 2 and len(waited) == 1


def test_a_failing_idle_callback_stops_the_command_and_is_raised(monkeypatch, tmp_path):
    from autograder.grading import limits

    monkeypatch.setattr(limits, "IDLE_SECONDS", 0.5)

    def broken() -> None:
        raise RuntimeError("no slot to leave")

    with pytest.raises(RuntimeError, match="no slot to leave"):
        run_limited(["sleep", "30"], Limits(seconds=60, memory_mb=512), on_idle=broken, pidfile=tmp_path / "pid")
    pid, started = (tmp_path / "pid").read_text().split()
    try:
        left = psutil.Process(int(pid))
        gone = abs(left.create_time() - float(started)) > 1e-3 or left.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        gone = True
    assert gone  # not left running unwatched
