"""A Jupyter kernel manager that talks to its kernel over ZeroMQ IPC sockets in a private folder, not TCP ports.

Kernels that start at once on TCP can collide on ports (each picks free ports, then binds them later); IPC
sockets live in a folder of their own, removed with the kernel. :class:`IpcKernelManager` runs the worked
solutions and the sample class's notebooks (``NotebookClient(kernel_manager_class=IpcKernelManager)``); the
grader's kernel in the jail extends it (:mod:`autograder.grading.jailed_kernel`).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from jupyter_client import AsyncKernelManager


class IpcKernelManager(AsyncKernelManager):
    """A kernel manager whose sockets and connection file live in a private folder, removed with the kernel."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._ipc_folder = Path(tempfile.mkdtemp(prefix="geoai_kernel_"))
        self.transport = "ipc"
        self.ip = str(self._ipc_folder / "kernel")
        self.connection_file = str(self._ipc_folder / "connection.json")

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if not restart:
            shutil.rmtree(self._ipc_folder, ignore_errors=True)
