"""Command line: ``python -m analysis <command>``.

``data``  verify the raw files, build and validate the tidy panel (cached on its inputs)
``lock``  rewrite environment.yml from requirements.txt
``book-cache``  clear Jupyter Book's execution cache when the data it was built from changed
"""

from __future__ import annotations

import argparse
import logging
import sys
import time

from .errors import DataError


def _cmd_data(args: argparse.Namespace) -> int:
    from . import panel, paths

    start = time.perf_counter()
    outputs = panel.build(force=args.force)
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
    from . import book_cache

    cleared = book_cache.sync()
    print("book execution cache cleared: its inputs changed" if cleared else "book execution cache is current")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analysis", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress")
    sub = parser.add_subparsers(dest="command", required=True)
    data = sub.add_parser("data", help="verify raw files and build the tidy panel")
    data.add_argument("--force", action="store_true", help="rebuild even if the cached panel is current")
    data.set_defaults(func=_cmd_data)
    lock = sub.add_parser("lock", help="rewrite environment.yml from requirements.txt")
    lock.set_defaults(func=_cmd_lock)
    book_cache = sub.add_parser("book-cache", help="clear the book's execution cache if its inputs changed")
    book_cache.set_defaults(func=_cmd_book_cache)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    try:
        return args.func(args)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
