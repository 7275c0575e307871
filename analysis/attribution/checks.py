"""Whether the configured tests fit the data: checks of the settings that need the panel built.

:mod:`analysis.settings_model` checks each setting on its own (types, ranges, names); what it
cannot know without the panel is whether a test's event and primary window lie inside its
outcome's data, and whether the outcome has the areas its design needs. :func:`check_data` makes
these checks once the panel is built (the command line runs it after ``data`` and before
``ledger``, ``attribute`` and ``profiles``; the ledger runs it before any test); each problem is
one line naming the setting, or for ``attribute`` the argument, at fault.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.attribution.ledger import single_period_rows
from analysis.data import register
from analysis.settings_model import ARGUMENTS, LEVEL_AREA_TYPES, SettingsError, listing


def data_problem(test: dict, p: pd.DataFrame, cfg: dict) -> tuple[str, str] | None:
    """Whether ``test`` can run on the panel ``p``: None, or the field at fault and why.

    The field is ``event``, ``window`` (the event's primary window), ``design``, ``areas`` or
    ``scotland_from``. The outcome's data are its single-year rows (``ledger.single_period_rows``),
    over every area: the event must have a year of data before it and lie no later than the last
    year; the primary window must lie inside the data.
    """
    outcome, design, event = test["outcome"], test["design"], test["event"]
    rows = single_period_rows(p, outcome)
    if rows.empty:
        return "outcome", (f"got {outcome!r}; it has no values for single years (or financial years), which every "
                           "design needs")
    first, last = int(rows["year"].min()), int(rows["year"].max())
    year = int(cfg["events"][event]) if isinstance(event, str) else int(event)
    if not first < year <= last:
        named = f" ({year})" if isinstance(event, str) else ""
        return "event", (f"got {event!r}{named}; {outcome}'s data run {first}-{last}, so the event must be a year "
                         f"from {first + 1} to {last}")
    window = cfg["windows"].get(event) if isinstance(event, str) else None
    if window is not None and not (first <= window[0] and window[1] <= last):
        return "window", (f"got {window}; the {event} window must lie inside the data of {outcome} "
                          f"({first}-{last})")
    types = set(rows["area_type"])
    level = test.get("area_level") or cfg["did"]["area_level"]
    if design == "its":
        areas = test.get("areas", ["scotland"])
        scotland = (rows["area_code"] == register.SCOTLAND_CODE).any()
        if "scotland" in areas and not scotland and not (test.get("scotland_from") or {}).get("weight"):
            return "scotland_from", (f"got none; {outcome} has no Scotland series, so an ITS for Scotland needs a "
                                     "population indicator to weight the councils' values by (scotland_from: "
                                     "{weight: population} in settings.yml, --weight population for attribute)")
        if "councils" in areas and "council" not in types:
            return "areas", f"got {areas}; {outcome} has no council values (it has {listing(sorted(types))})"
    elif level == "district":
        if not set(LEVEL_AREA_TYPES[level]) <= types:
            return "area_level", (f"got {level!r}; the district level compares the Scottish councils with the English "
                                  f"and Welsh districts (area types council and lad), and {outcome} has "
                                  f"{listing(sorted(types))}")
    elif not types & set(LEVEL_AREA_TYPES[level]):
        return "design", (f"got {design!r}; {design} compares itl3 or nuts3 areas across Great Britain "
                          f"(attribution.did.area_level), and {outcome} has none (it has {listing(sorted(types))})"
                          + ("; its can be used instead" if types & {"scotland", "council"} else "")
                          + ("; area_level: district compares districts" if {"council", "lad"} <= types else ""))
    return None


def check_data(cfg: dict, p: pd.DataFrame, *, file: Path | str | None = None) -> None:
    """Check every test of the ``attribution`` settings ``cfg`` against the panel ``p``."""
    rows = single_period_rows(p, None)   # the designs' rows of every outcome, selected once for all the tests
    by_outcome = {outcome: group for outcome, group in rows.groupby("indicator", sort=False)}
    for i, test in enumerate(cfg["tests"]):
        found = data_problem(test, by_outcome.get(test["outcome"], rows.iloc[:0]), cfg)
        if found is not None:
            field, text = found
            where = (f"attribution.windows.{test['event']} (test {test['id']})" if field == "window"
                     else f"attribution.tests[{i}].{field} (test {test['id']})")
            raise SettingsError(f"{where}: {text}", file=file)


def check_request_data(test: dict, cfg: dict, p: pd.DataFrame) -> None:
    """Check a command-line request against the panel ``p``, naming the argument at fault."""
    found = data_problem(test, p, cfg)
    if found is not None:
        field, text = found
        raise SettingsError(f"{ARGUMENTS.get(field, '--event')}: {text}")
