"""The pins: exact, complete, the same for pip and conda, and the Jupyter Book major version."""

from __future__ import annotations

import re

import pytest
import yaml

from analysis import __version__, paths
from tools import lockfile


def test_every_requirement_is_an_exact_pin():
    pins = lockfile.read_requirements()
    assert len(pins) > 50  # a full lock, not just the direct dependencies
    for name in ["jupyter-book", "myst-nb", "pandas", "seaborn", "statsmodels", "pandera", "frictionless", "pyreadr"]:
        assert name in pins, name


def test_jupyter_book_is_pinned_below_2():
    assert lockfile.read_requirements()["jupyter-book"] == "1.0.4.post1"


def test_environment_yml_has_the_same_pins_as_requirements():
    assert lockfile.read_environment() == lockfile.read_requirements()


def test_a_drifted_environment_is_detected(tmp_path):
    pins = lockfile.read_requirements()
    drifted = dict(pins, pandas="0.0.1")
    path = tmp_path / "environment.yml"
    path.write_text(lockfile.render_environment(drifted))
    assert lockfile.read_environment(path) != pins


def test_a_loose_requirement_is_rejected(tmp_path):
    path = tmp_path / "requirements.txt"
    path.write_text("pandas>=2\n")
    with pytest.raises(ValueError, match=r"requirements.txt, row 1"):
        lockfile.read_requirements(path)


def test_installed_versions_match_the_pins():
    from importlib.metadata import PackageNotFoundError, version

    mismatched = {}
    for name, pinned in lockfile.read_requirements().items():
        try:
            installed = version(name)
        except PackageNotFoundError:
            mismatched[name] = ("not installed", pinned)
            continue
        if installed != pinned:
            mismatched[name] = (installed, pinned)
    assert not mismatched


def test_book_version_matches_package_version():
    config = yaml.safe_load((paths.ROOT / "_config.yml").read_text())
    assert config["sphinx"]["config"]["release"] == __version__
    assert f"Book version {__version__}" in config["html"]["extra_footer"]
    pyproject = (paths.ROOT / "pyproject.toml").read_text()
    assert re.search(rf'^version = "{re.escape(__version__)}"$', pyproject, re.M)


def test_strict_build_settings():
    config = yaml.safe_load((paths.ROOT / "_config.yml").read_text())
    assert config["execute"]["allow_errors"] is False
    assert config["execute"]["execute_notebooks"] == "cache"
    assert config["execute"]["timeout"] > 0
    assert config["only_build_toc_files"] is True
    assert config["sphinx"]["config"]["nb_execution_raise_on_error"] is True
    assert config["bibtex_bibfiles"] == ["references.bib"]
    makefile = (paths.ROOT / "Makefile").read_text()
    assert "-o pipefail" in makefile
    assert "JB_FLAGS := -n -W --keep-going" in makefile
