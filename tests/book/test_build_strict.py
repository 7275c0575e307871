"""The project's build settings fail on a failing cell, a broken reference or a missing citation.

Each test builds a one-page copy of the book with the project's own ``_config.yml`` and
``references.bib`` and the Makefile's flags; a control page proves the copy builds when nothing
is wrong, so a failure is caused by the planted fault alone.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from analysis import paths

pytestmark = pytest.mark.slow


#: A page's notebook front matter, as every executed page of the book has it.
FRONT_MATTER = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---

"""


def jb_flags() -> list[str]:
    makefile = (paths.ROOT / "Makefile").read_text()
    return re.search(r"^JB_FLAGS := (.+)$", makefile, re.M).group(1).split()


def build(tmp_path: Path, body: str) -> subprocess.CompletedProcess:
    book = tmp_path / "book"
    book.mkdir()
    shutil.copy(paths.ROOT / "_config.yml", book / "_config.yml")
    shutil.copy(paths.ROOT / "references.bib", book / "references.bib")
    shutil.copytree(paths.ROOT / "book" / "_static", book / "book" / "_static")  # the config's html_static_path
    (book / "_toc.yml").write_text("format: jb-book\nroot: index\nchapters:\n  - file: refs\n")
    (book / "index.md").write_text(FRONT_MATTER + "# A page\n\n" + body)
    (book / "refs.md").write_text("# References\n\n```{bibliography}\n```\n")
    jb = Path(sys.executable).parent / "jupyter-book"
    cmd = f"set -o pipefail; '{jb}' build . {' '.join(jb_flags())} 2>&1 | tee build.log"  # as the Makefile does
    return subprocess.run(["bash", "-c", cmd], cwd=book, capture_output=True, text=True, timeout=600)


GOOD = "Text citing {cite:p}`stevenson2002{para 5.1}`.\n\n```{code-cell} ipython3\nx = 1 + 1\n```\n"


def test_control_page_builds(tmp_path):
    result = build(tmp_path, GOOD)
    assert result.returncode == 0, result.stdout


def test_a_failing_cell_fails_the_build(tmp_path):
    result = build(tmp_path, GOOD + "\n```{code-cell} ipython3\nraise RuntimeError('planted failure')\n```\n")
    assert result.returncode != 0
    assert "planted failure" in result.stdout


def test_a_broken_reference_fails_the_build(tmp_path):
    result = build(tmp_path, GOOD + "\nSee {ref}`no-such-label`.\n")
    assert result.returncode != 0


def test_a_missing_citation_fails_the_build(tmp_path):
    result = build(tmp_path, GOOD + "\nAs {cite:p}`nobody1999` said.\n")
    assert result.returncode != 0
