"""The worked solutions' and the sample class's kernels talk over IPC sockets in a private folder, removed after."""

import nbformat
from nbclient import NotebookClient

from autograder.ipc_kernel import IpcKernelManager


class _Recorded(IpcKernelManager):
    made: list["_Recorded"] = []

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        _Recorded.made.append(self)


def test_a_notebook_runs_over_ipc_and_its_socket_folder_is_removed() -> None:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(6 * 7)")])
    NotebookClient(nb, kernel_name="python3", kernel_manager_class=_Recorded, timeout=120).execute()
    assert nb.cells[0].outputs[0]["text"] == "42\n"
    [km] = _Recorded.made
    assert km.transport == "ipc" and km.ip.startswith(str(km._ipc_folder))
    assert not km._ipc_folder.exists()
