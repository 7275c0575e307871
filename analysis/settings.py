"""The analysis settings (``settings.yml`` at the repository root), loaded and validated once.

``CPP_SETTINGS`` names another file instead (the tests use it for copies with one mistake).
:func:`load` checks the file against the model in :mod:`analysis.settings_model` (types, ranges,
allowed values, no unknown or repeated keys) and returns the settings as plain dicts, exactly as
YAML reads them; a bad value raises :class:`SettingsError` with one line naming the setting, the
value and what is allowed.
"""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path
from typing import Any

import yaml

from analysis import paths
from analysis.settings_model import SettingsError, validate

__all__ = ["SETTINGS_FILE", "SettingsError", "digest", "load"]

SETTINGS_FILE = Path(os.environ.get("CPP_SETTINGS", paths.ROOT / "settings.yml"))


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, except that a key given twice in one mapping is an error (YAML would keep
    the last silently, so a pasted or duplicated line would override the first without a word)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key {key!r} is given twice in one mapping", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """A YAML error as one line: what is wrong and where."""
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        return f"not valid YAML at line {mark.line + 1}, column {mark.column + 1}: {exc.problem}"
    return f"not valid YAML: {' '.join(str(exc).split())}"


def read(path: Path = SETTINGS_FILE) -> Any:
    """The settings file as YAML reads it, unvalidated (a repeated key is an error)."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise SettingsError(f"no settings file at {path} (CPP_SETTINGS names another file; unset it to use "
                            "settings.yml)") from None
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        raise SettingsError(_yaml_problem(exc), file=path) from None


@functools.cache
def load(path: Path = SETTINGS_FILE) -> dict[str, Any]:
    """The validated settings, as plain dicts (``load()["attribution"]["alpha"]``); cached per path.

    Raises :class:`SettingsError` (a :class:`~analysis.errors.DataError`) on the first bad value.
    """
    return validate(read(path), file=path)


def digest(path: Path = SETTINGS_FILE, sections: tuple[str, ...] | None = None) -> str:
    """SHA-256 of the settings: of the whole file, or of the named top-level sections only."""
    if sections is None:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    chosen = {name: load(path).get(name) for name in sections}
    return hashlib.sha256(yaml.safe_dump(chosen, sort_keys=True).encode()).hexdigest()
