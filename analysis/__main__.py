"""Command line: ``python -m analysis <command>``.

``data``  verify the raw files, build and validate the tidy panel (cached on its inputs)
``lock``  rewrite environment.yml from requirements.txt
``book-cache``  clear Jupyter Book's execution cache when the data it was built from changed, then
               execute every page without cached outputs, in parallel (:mod:`analysis.execute`)
``ledger``  print the evidence ledger (``--json`` for machine-readable rows)
``attribute``  run one design on one outcome and print its result
``profiles``  write the 32 partnership profile pages into book/profiles (generated at build time)
``pages``  ``profiles`` then ``book-cache`` in one process: what ``make book`` runs before Sphinx

Every command but ``lock`` first validates settings.yml (:mod:`analysis.settings_model`); the commands
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

from .errors import DataError


def _check_tests(outputs=None):
    """The panel's outputs, after checking the settings' tests against the panel: a test whose event
    or window lies outside its outcome's data, or whose outcome lacks the areas its design needs,
    stops the command with a :class:`~analysis.settings_model.SettingsError`."""
    from . import panel, settings, settings_model

    outputs = outputs if outputs is not None else panel.build()
    settings_model.check_data(settings.load()["attribution"], outputs.panel, file=settings.SETTINGS_FILE)
    return outputs


def _cmd_data(args: argparse.Namespace) -> int:
    from . import panel, paths

    start = time.perf_counter()
    outputs = _check_tests(panel.build(force=args.force))
    p = outputs.panel
    print(f"panel: {len(p):,} rows, {p['indicator'].nunique()} indicators, "
          f"{p['area_code'].nunique()} areas, years {p['year'].min()}-{p['year'].max()}")
    print(f"missing (blank or suppressed in source): {len(outputs.missing):,} cells; "
          f"superseded CPOP rows: {len(outputs.superseded):,}; substitutions: {len(outputs.substitutions)}")
    print(f"written to {paths.PROCESSED} in {time.perf_counter() - start:.1f} s")
    return 0


def _cmd_lock(args: argparse.Namespace) -> int:
    from . import lockfile

    print(f"wrote {lockfile.write_environment()}")
    return 0


def _cmd_book_cache(args: argparse.Namespace) -> int:
    from . import book_cache, execute

    _check_tests()
    cleared = book_cache.sync()
    print("book execution cache cleared: its inputs changed" if cleared else "book execution cache is current")
    report = execute.execute_pages()
    for page in report.executed:
        print(f"executed: {page}")
    print(f"book pages executed: {len(report.executed)}, already cached: {len(report.cached)}, "
          f"in {report.seconds:.1f} s")
    return 0


def _cmd_profiles(args: argparse.Namespace) -> int:
    from . import profiles

    _check_tests()
    start = time.perf_counter()
    written = profiles.write_profiles(args.out)
    print(f"profiles: {len(written)} pages in {written[0].parent} in {time.perf_counter() - start:.1f} s")
    return 0


def _cmd_pages(args: argparse.Namespace) -> int:
    args.out = None
    return _cmd_profiles(args) or _cmd_book_cache(args)


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
    from .attribution import ledger

    _check_tests()
    start = time.perf_counter()
    frame = ledger.ledger(force=args.force)
    seconds = time.perf_counter() - start
    _print_rows(frame.to_dict("records"), LEDGER_SUMMARY, args.json)
    if args.timing:
        print(f"ledger: {len(frame)} rows in {seconds:.1f} s", file=sys.stderr)
    return 0


def _cmd_attribute(args: argparse.Namespace) -> int:
    from . import settings, settings_model
    from .attribution import ledger

    cfg = settings.load()["attribution"]
    event = int(args.event) if args.event.isdigit() else args.event  # a year, or an event's name
    test = {"id": "cli", "outcome": args.outcome, "design": args.design, "event": event, "chapter": 0}
    if args.area:
        test["areas"] = args.area
    if args.weight:
        test["scotland_from"] = {"weight": args.weight}
    configured = [t for t in cfg["tests"] if t["outcome"] == args.outcome and t["design"] == args.design]
    for key in ("transform", "scotland_from", "areas"):  # reuse the settings' recipe for this outcome
        if configured and key in configured[0] and key not in test:
            test[key] = configured[0][key]
    settings_model.check_request(test, cfg)
    settings_model.check_request_data(test, cfg, _check_tests().panel)
    pairs = ledger.run_tests([test])
    rows = ledger.test_rows(cfg, pairs)
    columns = ["area_name", "design", "event", "window", "estimate", "ci_low", "ci_high", "p_value", "mde", "scale",
               "verdict"]
    _print_rows(rows, columns, args.json)
    return 0


def main(argv: list[str] | None = None) -> int:
    from .settings_model import DESIGNS  # --design is checked against the settings model, not argparse

    parser = argparse.ArgumentParser(prog="python -m analysis", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress")
    sub = parser.add_subparsers(dest="command", required=True)
    data = sub.add_parser("data", help="verify raw files and build the tidy panel")
    data.add_argument("--force", action="store_true", help="rebuild even if the cached panel is current")
    data.set_defaults(func=_cmd_data)
    lock = sub.add_parser("lock", help="rewrite environment.yml from requirements.txt")
    lock.set_defaults(func=_cmd_lock)
    led = sub.add_parser("ledger", help="print the evidence ledger")
    led.add_argument("--json", action="store_true", help="print JSON: an object with a 'rows' list")
    led.add_argument("--force", action="store_true", help="recompute even if the cached results are current")
    led.add_argument("--timing", action="store_true", help="report on stderr how long the ledger took")
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
    book_cache = sub.add_parser(
        "book-cache", help="clear the book's execution cache if its inputs changed; execute pages not in it")
    book_cache.set_defaults(func=_cmd_book_cache)
    pages = sub.add_parser("pages", help="write the profile pages, then book-cache (what make book runs before Sphinx)")
    pages.set_defaults(func=_cmd_pages)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    try:
        if args.command != "lock":  # a bad settings file stops every other command here, before any work
            from . import settings

            settings.load()
        return args.func(args)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
