"""The pins: exact, complete, the same for pip and conda, and the Jupyter Book major version."""

from __future__ import annotations

import re
import subprocess
import sys

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


def test_every_pin_installs_on_each_python_the_project_accepts():
    """pyproject.toml accepts every Python 3.11 (Debian 12's is 3.11.2): no pin may ask for a later 3.11
    (soupsieve 3 and 4 need 3.11.5, and pip would refuse them there with no hint why)."""
    from importlib.metadata import distribution

    from packaging.specifiers import SpecifierSet

    pyproject = (paths.ROOT / "pyproject.toml").read_text()
    accepted = SpecifierSet(re.search(r'^requires-python = "([^"]+)"$', pyproject, re.M).group(1))
    assert accepted == SpecifierSet(">=3.11,<3.12")
    refused = {}
    for name, pinned in lockfile.read_requirements().items():
        needs = distribution(name).metadata.get("Requires-Python")
        for python in ("3.11.0", "3.11.2", "3.11.7"):
            if needs and not SpecifierSet(needs).contains(python):
                refused.setdefault(f"{name}=={pinned}", []).append(f"{python} (needs {needs})")
    assert not refused


def _python_check(version: tuple[int, int, int]) -> subprocess.CompletedProcess:
    """Run the Makefile's Python check (``PYTHON_CHECK``) as if the interpreter were ``version``."""
    makefile = (paths.ROOT / "Makefile").read_text()
    check = re.search(r"^PYTHON_CHECK := (.+)$", makefile, re.M).group(1)
    assert "@$(PYTHON) -c '$(PYTHON_CHECK)' '$(PYTHON)'" in makefile
    fake = (f"import sys; sys.version_info = {version + ('final', 0)!r}; "
            f"sys.version = '{'.'.join(map(str, version))} (fake)'; exec({check!r})")
    return subprocess.run([sys.executable, "-c", fake, "/usr/bin/python3.12"], capture_output=True, text=True)


def test_another_python_stops_the_set_up_in_one_line_with_exit_2():
    wrong = _python_check((3, 12, 1))
    assert wrong.returncode == 2 and wrong.stdout == ""
    assert wrong.stderr.splitlines() == [
        "error: PYTHON=/usr/bin/python3.12 is Python 3.12.1, but the pins need Python 3.11; "
        "set PYTHON to a python3.11"]
    for ok in ((3, 11, 0), (3, 11, 2)):
        right = _python_check(ok)
        assert (right.returncode, right.stderr) == (0, "")
