"""The book's Sphinx extension: finding the figures' source without importing it, and citations
looked up without a scan of every installed package."""

from __future__ import annotations

import json
import subprocess
import sys

from analysis import paths
from tools import book_render


def test_a_module_s_source_is_read_from_its_file_without_importing_it():
    probe = (
        "import json, sys\n"
        "from tools.book_render import module_source\n"
        "code, tags = module_source(None, 'analysis.pages.ch08')\n"
        "print(json.dumps({'imported': 'analysis.pages.ch08' in sys.modules, 'pandas': 'pandas' in sys.modules,\n"
        "                  'has_build': 'build' in tags, 'code': code}))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=paths.ROOT, capture_output=True, text=True, check=True)
    found = json.loads(out.stdout)
    assert found["imported"] is False and found["pandas"] is False
    assert found["has_build"]  # the tag viewcode anchors the link at
    assert found["code"] == (paths.ROOT / "analysis" / "pages" / "ch08.py").read_text(encoding="utf-8")


def test_a_module_without_a_python_file_is_left_to_viewcode():
    assert book_render.module_source(None, "no_such_module_anywhere") is None
    assert book_render.module_source(None, "sys") is None  # built in: no file to read


def test_the_bibtex_backend_is_the_entry_point_s_class_and_is_found_without_a_scan(monkeypatch):
    from importlib.metadata import entry_points

    import pybtex.plugin

    (point,) = entry_points(group="pybtex.backends", name="plaintext")
    assert book_render.index_bibtex_backend() is point.load()

    def no_scan(**_):
        raise AssertionError("pybtex scanned the entry points")

    monkeypatch.setattr(pybtex.plugin, "entry_points", no_scan)
    assert pybtex.plugin.find_plugin("pybtex.backends", "plaintext") is point.load()
