"""Command line: ``python -m analysis <command>``.

``data``  verify the raw files, build and validate the tidy panel (cached on its inputs)
``ledger``  print the evidence ledger (``--json`` for machine-readable rows)
``attribute``  run one design on one outcome and print its result
``profiles``  generate the partnership profile pages into book/profiles (plain MyST, no kernel)

The build machinery (execution cache, downloads, PDF, benchmark, lock file) is in the ``tools``
package beside this one: ``python -m tools.book_cache``, ``tools.downloads``, ``tools.pdf``,
``tools.bench``, ``tools.lockfile``.

Every command first validates settings.yml (:mod:`analysis.settings_model`); the commands
that run the tests also check them against the built panel (an event inside its outcome's data).
A bad setting, a bad argument or a bad input file is reported as one line, ``error: …``, with exit
status 2.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
import time

from analysis.errors import DataError


def _check_tests(outputs=None):
    """The panel's outputs, after checking the settings' tests against the panel: a test whose event
    or window lies outside its outcome's data, or whose outcome lacks the areas its design needs,
    stops the command with a :class:`~analysis.settings_model.SettingsError`."""
    from analysis import settings
    from analysis.attribution import checks
    from analysis.data import panel

    outputs = outputs if outputs is not None else panel.build()
    checks.check_data(settings.load()["attribution"], outputs.panel, file=settings.SETTINGS_FILE)
    return outputs


def _prepare_boundaries() -> None:
    from analysis.data import geo

    geo.drawing_boundaries()   # reads, checks, repairs and simplifies the council boundaries into the cache


def _data_step(force: bool = False, out=None):
    """Build the panel (as ``data`` does), check the settings' tests against it and report it on
    ``out`` (stdout by default); the panel's outputs."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from analysis import paths
    from analysis.data import panel

    start = time.perf_counter()
    # The council boundaries (for the maps) are prepared in a second process meanwhile: building the
    # panel keeps one core busy, and both are cached on their inputs. A bad file fails either the same way.
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as pool:
        boundaries = pool.submit(_prepare_boundaries)
        outputs = _check_tests(panel.build(force=force))
        boundaries.result()
    p = outputs.panel
    print(f"panel: {len(p):,} rows, {p['indicator'].nunique()} indicators, "
          f"{p['area_code'].nunique()} areas, years {p['year'].min()}-{p['year'].max()}", file=out)
    print(f"missing (blank or suppressed in source): {len(outputs.missing):,} cells; "
          f"superseded CPOP rows: {len(outputs.superseded):,}; substitutions: {len(outputs.substitutions)}", file=out)
    print(f"written to {paths.PROCESSED} in {time.perf_counter() - start:.1f} s", file=out, flush=True)
    return outputs


def _cmd_data(args: argparse.Namespace) -> int:
    _data_step(force=args.force)
    return 0


def _cmd_profiles(args: argparse.Namespace) -> int:
    from analysis.pages import profiles

    _check_tests()
    start = time.perf_counter()
    written = profiles.write_profiles(args.out)
    print(f"profiles: {len(written)} pages in {written[0].parent} in {time.perf_counter() - start:.1f} s")
    return 0


def _jsonable(value):
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):
        return _jsonable(value.item())
    return value


def _print_rows(rows: list[dict], columns: list[str], as_json: bool) -> None:
    if as_json:
        payload = {"rows": [{k: _jsonable(v) for k, v in r.items()} for r in rows]}
        print(json.dumps(payload, indent=2, ensure_ascii=False))
        return
    import pandas as pd

    frame = pd.DataFrame(rows).reindex(columns=columns)  # a column no row has (all untestable) stays blank
    with pd.option_context("display.max_rows", None, "display.max_colwidth", 60, "display.width", 200):
        print(frame.to_string(index=False, float_format=lambda x: f"{x:.4g}"))


LEDGER_SUMMARY = ["claim_id", "chapter", "role", "design", "window", "sms_level", "estimate", "ci_low", "ci_high",
                  "p_value", "p_holm", "mde", "verdict"]


def _cmd_ledger(args: argparse.Namespace) -> int:
    from analysis.attribution import ledger

    if args.data:   # the data step first, in this process, reported on stderr (stdout is the ledger)
        _data_step(out=sys.stderr)
    else:
        _check_tests()
    start = time.perf_counter()
    frame = ledger.ledger(force=args.force)
    seconds = time.perf_counter() - start
    _print_rows(frame.to_dict("records"), LEDGER_SUMMARY, args.json)
    if args.timing:
        print(f"ledger: {len(frame)} rows in {seconds:.1f} s", file=sys.stderr)
    return 0


def _cmd_attribute(args: argparse.Namespace) -> int:
    from analysis import settings, settings_model
    from analysis.attribution import ledger

    cfg = settings.load()["attribution"]
    event = int(args.event) if args.event.isdigit() else args.event  # a year, or an event's name
    test = {"id": "cli", "outcome": args.outcome, "design": args.design, "event": event, "chapter": 0}
    if args.area:
        test["areas"] = args.area
    if args.weight:
        test["scotland_from"] = {"weight": args.weight}
    configured = [t for t in cfg["tests"] if t["outcome"] == args.outcome and t["design"] == args.design]
    for key in ("transform", "scotland_from", "areas", "area_level"):  # reuse the settings' recipe for this outcome
        if configured and key in configured[0] and key not in test:
            test[key] = configured[0][key]
    settings_model.check_request(test, cfg)
    from analysis.attribution import checks

    checks.check_request_data(test, cfg, _check_tests().panel)
    pairs = ledger.run_tests([test])
    rows = ledger.test_rows(cfg, pairs)
    columns = ["area_name", "design", "event", "window", "estimate", "ci_low", "ci_high", "p_value", "mde", "scale",
               "verdict"]
    _print_rows(rows, columns, args.json)
    return 0


def main(argv: list[str] | None = None) -> int:
    from analysis.settings_model import DESIGNS  # --design is checked against the settings model, not argparse

    parser = argparse.ArgumentParser(prog="python -m analysis", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress")
    sub = parser.add_subparsers(dest="command", required=True)
    data = sub.add_parser("data", help="verify raw files and build the tidy panel")
    data.add_argument("--force", action="store_true", help="rebuild even if the cached panel is current")
    data.set_defaults(func=_cmd_data)
    led = sub.add_parser("ledger", help="print the evidence ledger")
    led.add_argument("--json", action="store_true", help="print JSON: an object with a 'rows' list")
    led.add_argument("--force", action="store_true", help="recompute even if the cached results are current")
    led.add_argument("--timing", action="store_true", help="report on stderr how long the ledger took")
    led.add_argument("--data", action="store_true",
                     help="first build the panel as `data` does (reported on stderr), in the same process")
    led.set_defaults(func=_cmd_ledger)
    att = sub.add_parser("attribute", help="run one design on one outcome")
    att.add_argument("--outcome", required=True, help="indicator id, e.g. alcohol_specific_death_rate")
    att.add_argument("--design", required=True, help=", ".join(DESIGNS))
    att.add_argument("--event", default="duty", help="an event name from settings.yml (duty, soa) or a year")
    att.add_argument("--area", action="append", help="scotland, councils or itl3 (repeatable; default from settings)")
    att.add_argument("--weight", help="population indicator to weight councils into a Scotland series")
    att.add_argument("--json", action="store_true", help="print JSON: an object with a 'rows' list")
    att.set_defaults(func=_cmd_attribute)
    prof = sub.add_parser("profiles", help="write the partnership profile pages (book/profiles/)")
    prof.add_argument("--out", help="folder to write to (default book/profiles)")
    prof.set_defaults(func=_cmd_profiles)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    try:
        from analysis import settings

        settings.load()  # a bad settings file stops every command here, before any work
        return args.func(args)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
