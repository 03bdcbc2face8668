"""The notebook's kernel under grading, in the jail: ipykernel started under bubblewrap, talking over IPC sockets.

nbgrader runs the notebook through nbclient, which starts a kernel with a Jupyter kernel manager.
:class:`JailedKernelManager` (named on nbgrader's command line by :func:`autograder.grading.nbgrader_run.autograde`
when the jail can run) starts that kernel inside :func:`autograder.jail.jail_command`: it sees the Python
environment read-only and its own submission folder (the autograded copy nbgrader runs it in), nothing of the
repository, the grader, the hidden data, the gradebook or other students, and has no network. Kernel and nbgrader
talk over ZeroMQ IPC sockets in a private folder bound into the jail (TCP would need the network the jail does
not have, and parallel kernels on TCP can collide on ports). Interrupts (a cell past its time-out) are sent as
``interrupt_request`` messages: a signal to bubblewrap would not reach the kernel.

The kernel gets a clean environment: only the variables grading sets for it (epoch budget, grading mode, thread
counts) and a private ``HOME`` and ``TMPDIR`` on the jail's own ``/tmp``.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from jupyter_client.kernelspec import KernelSpec

from autograder.ipc_kernel import IpcKernelManager
from autograder.jail import jail_command

#: Variables of the launch environment the kernel keeps (exact names, or prefixes ending in ``_``): the epoch
#: budget and grading mode, thread counts, warnings and locale.
KEPT_VARIABLES = ("GEOAI_", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "TF_CPP_MIN_LOG_LEVEL",
                  "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "KERAS_BACKEND", "PYTHONWARNINGS",
                  "LANG", "LC_ALL")
#: The kernel's own folders on the jail's private /tmp.
KERNEL_HOME = "/tmp/home"


def kernel_environment(launch_env: dict[str, str]) -> dict[str, str]:
    """The kernel's whole environment: the kept variables of ``launch_env`` and private home / cache folders."""
    kept = {k: v for k, v in launch_env.items()
            if any(k.startswith(p) if p.endswith("_") else k == p for p in KEPT_VARIABLES)}
    return {**kept, "PATH": "/usr/bin:/bin", "HOME": KERNEL_HOME, "TMPDIR": "/tmp", "MPLBACKEND": "Agg",
            "MPLCONFIGDIR": f"{KERNEL_HOME}/.matplotlib", "KERAS_HOME": f"{KERNEL_HOME}/.keras",
            "IPYTHONDIR": f"{KERNEL_HOME}/.ipython", "JUPYTER_RUNTIME_DIR": f"{KERNEL_HOME}/.runtime"}


class JailedKernelManager(IpcKernelManager):
    """A kernel manager whose kernel runs in the jail (see the module docs); its sockets and connection file live
    in a private folder (bound into the jail) that is removed with the kernel's resources."""

    @property
    def kernel_spec(self) -> KernelSpec | None:
        """The kernel's spec, interrupted by message (a SIGINT to bubblewrap would not reach it)."""
        spec = super().kernel_spec
        if spec is not None and spec.interrupt_mode != "message":
            spec = copy.copy(spec)
            spec.interrupt_mode = "message"
            self._kernel_spec = spec
        return spec

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
        workdir = Path(kw.get("cwd") or ".").resolve()
        env = kernel_environment(dict(kw.get("env") or {}))
        jailed = jail_command(kernel_cmd, workdir=workdir, writable=[self._ipc_folder], env=env)
        await super()._async_launch_kernel(jailed, **kw)
