"""Errors raised on bad input.

Every error names the file, and where it applies the row and the column, so that a reader can
open the file and see the problem. Rows are 1-based line numbers of the raw file for text files,
1-based sheet rows for spreadsheets (header = row 1) and 1-based record numbers for R data files.
"""

from __future__ import annotations

from pathlib import Path


class DataError(Exception):
    """Base class: a problem with an input file, located by file, row and column."""

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        self.file = Path(file).name if file is not None else None
        self.row = None if row is None else int(row)
        self.column = column
        self.message = message
        where = []
        if self.file is not None:
            where.append(f"file {self.file}")
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {message}" if prefix else message)


class MissingRawFileError(DataError):
    """A raw file listed in SHA256SUMS is not on disk."""


class ChecksumError(DataError):
    """A raw file's SHA-256 differs from the one recorded in SHA256SUMS."""


class ParseError(DataError):
    """A raw file's layout differs from what its parser expects."""


class NonNumericValueError(ParseError):
    """A cell that must hold a number holds something else."""


class YearOutOfRangeError(ParseError):
    """A year or period lies outside the range a source is documented to cover."""


class UnknownAreaError(DataError):
    """An area name or code does not resolve through the partnership register."""


class DuplicateRowError(DataError):
    """Two rows share the same key (area, indicator, breakdown, period)."""


class SchemaError(DataError):
    """A table fails its schema: a type, range, key or coverage rule."""
