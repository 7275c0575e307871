"""Raw files: every one verified by checksum before parsing, every one with provenance."""

from __future__ import annotations

import pytest

from analysis import paths
from analysis.data import provenance
from analysis.errors import ChecksumError, DataError, MissingRawFileError


def test_vendored_files_match_their_checksums():
    sums = provenance.verify_raw()
    on_disk = {p.relative_to(paths.RAW).as_posix() for p in paths.RAW.rglob("*") if p.is_file()
               and p.parts[len(paths.RAW.parts)] != "provenance" and p.name not in ("SHA256SUMS", "MANIFEST.md")}
    assert set(sums) == on_disk
    assert all(len(d) == 64 for d in sums.values())


def test_every_raw_file_has_a_provenance_record_with_publisher_and_licence():
    prov = provenance.load_provenance()
    assert len(prov) == len(provenance.read_checksums())
    assert prov["publisher"].str.len().gt(0).all()
    assert prov["licence"].str.len().gt(0).all()
    assert prov["commit"].str.fullmatch(r"[0-9a-f]{7,40}").all()


def test_a_tampered_file_is_named(raw_copy):
    target = raw_copy / "scotland" / "sgred_la_t20.csv"
    target.write_bytes(target.read_bytes().replace(b"214120", b"214121"))
    with pytest.raises(ChecksumError, match=r"file sgred_la_t20\.csv"):
        provenance.verify_raw(raw_copy)


def test_a_missing_file_is_named(raw_copy):
    (raw_copy / "gb" / "ukcompare_itl_population_1998_2021.csv").unlink()
    with pytest.raises(MissingRawFileError, match=r"ukcompare_itl_population_1998_2021\.csv"):
        provenance.verify_raw(raw_copy)


def test_an_unlisted_file_is_refused(raw_copy):
    (raw_copy / "scotland" / "extra.csv").write_text("Area,2003\nFife,1\n")
    with pytest.raises(DataError, match=r"extra\.csv.*not listed"):
        provenance.verify_raw(raw_copy)


def test_raw_file_accessor_verifies(raw_copy):
    target = raw_copy / "scotland" / "sgred_la_t1.csv"
    assert provenance.raw_file("scotland/sgred_la_t1.csv", raw_copy) == target
    target.write_text("changed")
    with pytest.raises(ChecksumError, match="sgred_la_t1.csv"):
        provenance.raw_file("scotland/sgred_la_t1.csv", raw_copy)
