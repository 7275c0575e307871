"""In-process execution (analysis.inprocess) keeps what a real Jupyter kernel would keep."""

from __future__ import annotations

import pickle

import nbformat
import pytest

from analysis import execute, inprocess, paths

CELLS = [
    "print('a'); print('b')\nimport sys\nprint('to stderr', file=sys.stderr)",
    "from IPython.display import HTML, display\ndisplay(HTML('<b>x</b>'))\nprint('after')\n1 + 1",
    "x = 3\nx;",
    # glue, as the book's pages use it: a string and a PNG figure with alt text
    "from myst_nb import glue\nglue('k', 'text value', display=False)\n"
    "import io\nimport matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\n"
    "from IPython.display import Image\n"
    "fig, ax = plt.subplots(); ax.plot([1, 2])\n"
    "buf = io.BytesIO(); fig.savefig(buf, format='png', metadata={'Software': None})\n"
    "glue('fig', Image(buf.getvalue(), format='png', metadata={'alt': 'a rising line'}), display=False)",
    "import pandas as pd\npd.DataFrame({'a': [1, 2]})",
    "from IPython.display import clear_output\nprint('gone')\nclear_output()\nprint('kept')",
]


def notebook(cells: list[str]) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    return nb




def both_ways(source):
    """A page run as the build runs it (a fresh process from the fork server) and by a real kernel."""
    from nbclient import NotebookClient

    [(_, here)] = list(execute._run_forked([source], 1))
    kernel = NotebookClient(execute.read(source), kernel_name="python3",
                            resources={"metadata": {"path": str(source.parent)}}).execute()
    return here, kernel


@pytest.mark.slow
def test_outputs_equal_a_real_kernels(tmp_path):
    source = tmp_path / "page.md"
    cells = "".join(f"\n```{{code-cell}} ipython3\n{c}\n```\n" for c in CELLS)
    source.write_text(execute.FRONT_MATTER + "# Page\n" + cells)
    here, kernel = both_ways(source)
    code = [c for c in here.cells if c.cell_type == "code"]
    assert len(code) == len(CELLS)
    for index, (a, b) in enumerate(zip(code, [c for c in kernel.cells if c.cell_type == "code"], strict=True)):
        assert a.outputs == b.outputs, f"cell {index}: {a.outputs} != {b.outputs}"
        assert a.execution_count == b.execution_count
    assert here.metadata["language_info"] == kernel.metadata["language_info"]
    nbformat.validate(here)


@pytest.mark.slow
def test_a_chapter_gives_the_same_outputs_as_in_a_kernel():
    """A real page of the book (tables, glued numbers and a figure), run both ways."""
    here, kernel = both_ways(paths.ROOT / "book" / "ch03-structures-roles.md")
    outputs = [c.outputs for c in here.cells if c.cell_type == "code"]
    assert sum(len(o) for o in outputs) > 5  # glued values and a figure, not an empty run
    assert outputs == [c.outputs for c in kernel.cells if c.cell_type == "code"]


def test_kinds_and_order_of_outputs(tmp_path):
    out = inprocess.run(notebook(CELLS), cwd=tmp_path).cells
    assert [(o.output_type, o.get("name")) for o in out[0].outputs] == [("stream", "stdout"), ("stream", "stderr")]
    assert out[0].outputs[0].text == "a\nb\n"
    assert [o.output_type for o in out[1].outputs] == ["display_data", "stream", "execute_result"]
    assert out[1].outputs[2].data["text/plain"] == "2"
    assert out[2].outputs == []  # a trailing semicolon shows nothing
    figure = out[3].outputs[1]
    assert figure.data["application/papermill.record/image/png"].startswith("iVBOR")  # base64 PNG
    assert figure.metadata["image/png"] == {"alt": "a rising line"}
    assert figure.metadata["scrapbook"] == {"name": "fig", "mime_prefix": "application/papermill.record/"}
    assert [o.text for o in out[5].outputs] == ["kept\n"]


def test_each_notebook_starts_with_a_fresh_namespace(tmp_path):
    inprocess.run(notebook(["leftover = 1"]), cwd=tmp_path)
    with pytest.raises(inprocess.CellError, match="NameError"):
        inprocess.run(notebook(["leftover"]), cwd=tmp_path)


def test_the_process_keeps_its_own_main_module(tmp_path):
    import sys

    main = sys.modules["__main__"]
    inprocess.run(notebook(["import __main__\nhere = __main__.__name__"]), cwd=tmp_path)
    with pytest.raises(inprocess.CellError):
        inprocess.run(notebook(["1 / 0"]), cwd=tmp_path)
    assert sys.modules["__main__"] is main  # a fork server started afterwards still works


def test_cells_run_in_the_given_folder(tmp_path):
    (tmp_path / "here.txt").write_text("found")
    out = inprocess.run(notebook(["print(open('here.txt').read())"]), cwd=tmp_path)
    assert out.cells[0].outputs[0].text == "found\n"


def test_a_failing_cell_names_the_notebook_and_cell_and_survives_pickling(tmp_path):
    nb = notebook(["y = 1", "1 / 0", "print('never')"])
    with pytest.raises(inprocess.CellError) as caught:
        inprocess.run(nb, cwd=tmp_path, name="book/page.md")
    err = caught.value
    assert (err.notebook, err.cell, err.ename) == ("book/page.md", 1, "ZeroDivisionError")
    assert "1 / 0" in err.traceback and "book/page.md: code cell 1 raised ZeroDivisionError" in str(err)
    copy = pickle.loads(pickle.dumps(err))  # it crosses from a worker process intact
    assert (copy.notebook, copy.cell, copy.ename, str(copy)) == (err.notebook, err.cell, err.ename, str(err))


def test_a_syntax_error_fails_too(tmp_path):
    with pytest.raises(inprocess.CellError, match="SyntaxError"):
        inprocess.run(notebook(["def broken(:"]), cwd=tmp_path)
