"""Run a notebook's code cells in this Python process, keeping the outputs a Jupyter kernel would.

A Jupyter kernel spends seconds starting Python and importing pandas and matplotlib before it runs
a page's first line. :func:`run` executes a page's cells in an IPython shell inside the calling
process instead, with a fresh namespace for every notebook, and records what a kernel would send
back:

* ``display_data`` for every ``display()`` call (this is how ``glue`` stores values and figures);
* ``execute_result`` for a cell that ends in an expression (not for one ending in ``;``);
* ``stream`` outputs for anything printed to stdout or stderr (the book's build turns stderr into
  a warning, and so into a failure);
* binary data (PNG images) base64-encoded, as the Jupyter messaging protocol encodes it.

A cell that raises stops the notebook with :class:`CellError`, which names the notebook and the
cell and carries the traceback, so the build fails as it would with a kernel.

Modules imported by one notebook stay imported for the next in the same process, so the build
(:mod:`analysis.execute`) runs each page in a process of its own, forked from one that has
imported the libraries, and applies the timeout there. ``tests/test_inprocess.py`` checks that a
page run that way and the same page run by a real kernel (``nbclient``) give the same outputs.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import io
import os
import sys
import time
from pathlib import Path

import nbformat
from IPython.core.displayhook import DisplayHook
from IPython.core.displaypub import CapturingDisplayPublisher
from IPython.core.interactiveshell import InteractiveShell


class CellError(RuntimeError):
    """A cell raised: names the notebook and the cell, with the traceback as IPython prints it."""

    def __init__(self, notebook: str, cell: int, ename: str, traceback: str):
        self.notebook, self.cell, self.ename, self.traceback = notebook, cell, ename, traceback
        super().__init__(f"{notebook}: code cell {cell} raised {ename}\n{traceback}")

    def __reduce__(self):  # so the error crosses from a worker process intact
        return (type(self), (self.notebook, self.cell, self.ename, self.traceback))


class _Recorder:
    """The outputs of one cell, in the order they happened."""

    def __init__(self, count: int):
        self.outputs: list = []
        self.count = count  # the cell's execution count, carried by an execute_result

    def stream(self, name: str, text: str) -> None:
        last = self.outputs[-1] if self.outputs else None
        if last is not None and last.output_type == "stream" and last.name == name:
            last.text += text  # consecutive writes to one stream form one output, as nbclient keeps them
        elif text:
            self.outputs.append(nbformat.v4.new_output("stream", name=name, text=text))

    def display(self, kind: str, data: dict, metadata: dict | None) -> None:
        data = {k: base64.b64encode(v).decode("ascii") if isinstance(v, bytes) else v for k, v in data.items()}
        extra = {"execution_count": self.count} if kind == "execute_result" else {}
        self.outputs.append(nbformat.v4.new_output(kind, data=data, metadata=copy.deepcopy(metadata or {}), **extra))

    def clear(self) -> None:
        self.outputs.clear()


class _Stream(io.TextIOBase):
    def __init__(self, recorder: _Recorder, name: str):
        self.recorder, self.name = recorder, name

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self.recorder.stream(self.name, text)
        return len(text)


class _Publisher(CapturingDisplayPublisher):
    """``display()`` and ``clear_output()`` into the current cell's recorder."""

    recorder: _Recorder | None = None

    def publish(self, data, metadata=None, source=None, *, transient=None, update=False, **kwargs) -> None:
        self.recorder.display("display_data", data, metadata)

    def clear_output(self, wait=False) -> None:
        self.recorder.clear()


class _ResultHook(DisplayHook):
    """A cell's result as an ``execute_result`` instead of a printed ``Out[n]:``."""

    recorder: _Recorder | None = None

    def write_output_prompt(self) -> None:
        pass

    def write_format_data(self, format_dict, md_dict=None) -> None:
        self.recorder.display("execute_result", format_dict, md_dict)


def _shell() -> InteractiveShell:
    if InteractiveShell.initialized():
        shell = InteractiveShell.instance()
        if not isinstance(shell.displayhook, _ResultHook):
            raise RuntimeError("an IPython shell of another kind is already running in this process")
        return shell
    main = sys.modules["__main__"]
    shell = InteractiveShell.instance(displayhook_class=_ResultHook, colors="nocolor")
    sys.modules["__main__"] = main  # the shell installs its own; it is only lent while cells run
    shell.display_pub = _Publisher(shell=shell)
    return shell


@contextlib.contextmanager
def _running(shell: InteractiveShell, cwd: str | Path):
    """The shell's namespace as ``__main__`` and ``cwd`` as the working directory, both given back
    afterwards (multiprocessing, for one, needs the process's own ``__main__``)."""
    main = sys.modules["__main__"]
    sys.modules["__main__"] = shell.user_module
    try:
        with contextlib.chdir(cwd):
            yield
    finally:
        sys.modules["__main__"] = main


def run(nb: nbformat.NotebookNode, *, cwd: str | Path, name: str = "notebook") -> nbformat.NotebookNode:
    """Execute every code cell of ``nb`` in order, with ``cwd`` as the working directory.

    Returns a copy of ``nb`` with outputs, execution counts, the kernel's ``language_info`` and
    the wall time in ``metadata.execution``. Raises :class:`CellError` on the first failing cell.
    """
    from ipykernel.ipkernel import IPythonKernel

    shell = _shell()
    shell.reset(new_session=True)  # a fresh namespace, as a new kernel would have
    out = copy.deepcopy(nb)
    start = time.perf_counter()
    count = 0
    with _running(shell, cwd):
        for index, cell in enumerate(out.cells):
            if cell.cell_type != "code":
                continue
            count += 1
            recorder = _Recorder(count)
            shell.display_pub.recorder = shell.displayhook.recorder = recorder
            with (contextlib.redirect_stdout(_Stream(recorder, "stdout")),
                  contextlib.redirect_stderr(_Stream(recorder, "stderr"))):
                result = shell.run_cell(cell.source, store_history=True)
            error = result.error_before_exec or result.error_in_exec
            if error is not None:
                printed = "".join(o.text for o in recorder.outputs if o.output_type == "stream")
                raise CellError(name, index, type(error).__name__, printed)
            cell.outputs = recorder.outputs
            cell.execution_count = count
    out.metadata["language_info"] = copy.deepcopy(IPythonKernel.language_info)
    out.metadata["execution"] = {"runner": __name__, "seconds": round(time.perf_counter() - start, 3)}
    shell.reset(new_session=True)
    return out


def run_file(path: str | Path, read) -> nbformat.NotebookNode:
    """Read ``path`` with ``read`` (a function of the path giving a notebook) and :func:`run` it in
    the file's own folder, as Jupyter Book runs a page."""
    path = Path(path)
    return run(read(str(path)), cwd=os.fspath(path.parent), name=str(path))
