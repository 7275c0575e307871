"""Raw-file integrity and provenance.

``data/raw/SHA256SUMS`` lists every vendored raw file with its SHA-256. :func:`verify_raw` checks
all of them before anything is parsed: a missing file raises
:class:`~analysis.errors.MissingRawFileError`, an altered one :class:`~analysis.errors.ChecksumError`,
and a data file that is on disk but not listed raises :class:`~analysis.errors.DataError` (an
unlisted file would be unverified). ``data/raw/provenance/<file>.yml`` records, for each raw file,
its origin repository and commit, publisher, licence, years, coverage and quirks.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import yaml

from analysis import paths
from analysis.errors import ChecksumError, DataError, MissingRawFileError

#: Files in data/raw that describe the data rather than being data.
_META = {"SHA256SUMS", "MANIFEST.md"}
_META_DIRS = {"provenance"}


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_checksums(raw_dir: Path | None = None) -> dict[str, str]:
    """Parse SHA256SUMS into ``{relative path: sha256}`` (paths relative to ``data/raw``)."""
    raw_dir = Path(raw_dir or paths.RAW)
    sums = raw_dir / "SHA256SUMS"
    if not sums.exists():
        raise MissingRawFileError("the checksum list is missing", file=sums)
    out: dict[str, str] = {}
    for lineno, line in enumerate(sums.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split(maxsplit=1)
        if len(parts) != 2 or len(parts[0]) != 64:
            raise DataError(f"malformed checksum line {line!r}", file=sums, row=lineno)
        digest, name = parts
        out[name.strip().removeprefix("./")] = digest.lower()
    return out


def verify_raw(raw_dir: Path | None = None) -> dict[str, str]:
    """Verify every raw file against SHA256SUMS; return the checksums when all match."""
    raw_dir = Path(raw_dir or paths.RAW)
    expected = read_checksums(raw_dir)
    for rel, digest in sorted(expected.items()):
        path = raw_dir / rel
        if not path.exists():
            raise MissingRawFileError("raw file listed in SHA256SUMS is missing", file=path)
        actual = sha256_file(path)
        if actual != digest:
            raise ChecksumError(
                f"raw file has changed: SHA-256 {actual[:12]}… does not match {digest[:12]}… in SHA256SUMS",
                file=path,
            )
    for path in sorted(raw_dir.rglob("*")):
        rel = path.relative_to(raw_dir).as_posix()
        if path.is_dir() or rel in _META or rel.split("/")[0] in _META_DIRS:
            continue
        if rel not in expected:
            raise DataError("data file is not listed in SHA256SUMS, so it cannot be verified", file=path)
    return expected


def raw_file(rel: str, raw_dir: Path | None = None) -> Path:
    """Path of one raw file, after checking it exists and matches its checksum."""
    raw_dir = Path(raw_dir or paths.RAW)
    expected = read_checksums(raw_dir)
    if rel not in expected:
        raise DataError("raw file is not listed in SHA256SUMS", file=rel)
    path = raw_dir / rel
    if not path.exists():
        raise MissingRawFileError("raw file listed in SHA256SUMS is missing", file=path)
    if sha256_file(path) != expected[rel]:
        raise ChecksumError("raw file has changed since its checksum was recorded", file=path)
    return path


def load_provenance(raw_dir: Path | None = None) -> pd.DataFrame:
    """One row per raw file: provenance fields joined to its checksum and size.

    Raises :class:`DataError` if a listed raw file has no provenance record or a record names no
    listed file.
    """
    raw_dir = Path(raw_dir or paths.RAW)
    checksums = read_checksums(raw_dir)
    rows = []
    for yml in sorted((raw_dir / "provenance").glob("*.yml")):
        record = yaml.safe_load(yml.read_text())
        rel = record.get("file")
        if rel not in checksums:
            raise DataError(f"provenance record names {rel!r}, which is not in SHA256SUMS", file=yml, column="file")
        origin = record.get("origin", {})
        rows.append(
            {
                "file": rel,
                "title": record["title"],
                "publisher": record["publisher"],
                "repository": origin.get("repository"),
                "origin_path": origin.get("path"),
                "commit": origin.get("commit"),
                "licence": record["licence"],
                "years": record["years"],
                "coverage": record["coverage"],
                "quirks": "; ".join(record.get("quirks") or []),
                "sha256": checksums[rel],
                "bytes": (raw_dir / rel).stat().st_size,
            }
        )
    missing = sorted(set(checksums) - {r["file"] for r in rows})
    if missing:
        raise DataError(f"no provenance record for {', '.join(missing)}", file=raw_dir / "provenance")
    return pd.DataFrame(rows).sort_values("file", ignore_index=True)
