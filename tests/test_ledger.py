"""The evidence ledger on the real data, its cache, its settings and its command line."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from analysis import paths
from analysis.attribution import ledger, verdicts


@pytest.fixture(scope="module")
def led():
    return ledger.ledger()


def test_ledger_has_enough_claims_designs_and_outcomes(led):
    assert len(led) >= 20
    quantitative = led[led["outcome"] != ""]
    assert quantitative["design"].nunique() >= 4
    assert quantitative["outcome"].nunique() >= 5
    for outcome in ["alcohol_specific_death_rate", "population", "gva_per_head", "gdp_per_head", "gdhi_per_head"]:
        assert outcome in set(quantitative["outcome"]), outcome


def test_every_row_has_one_of_the_four_verdicts_and_a_reason(led):
    assert set(led["verdict"]) <= set(verdicts.VERDICTS)
    assert led["reason"].str.len().gt(10).all()
    assert led["claim_id"].is_unique


def test_report_claims_are_graded_as_perception(led):
    report = led[led["source"].str.startswith("Stevenson 2002")]
    benefits = report[report["claim_id"].str.startswith("R5.2-")]
    assert len(benefits) == 7
    assert (report["sms_level"] == 1).all()
    assert (report["verdict"] == verdicts.UNTESTABLE).all()


def test_sms_levels_follow_the_settings(led):
    from analysis import settings

    levels = settings.load()["attribution"]["grading"]["sms_levels"]
    quantitative = led[led["outcome"] != ""]
    for design, level in zip(quantitative["design"], quantitative["sms_level"], strict=True):
        assert level == levels[design]


def test_no_level_2_row_is_attributable(led):
    assert not ((led["sms_level"] < 3) & (led["verdict"] == verdicts.ATTRIBUTABLE)).any()


def test_insignificant_rows_carry_their_mde(led):
    rows = led[led["verdict"] == verdicts.NOT_DISTINGUISHABLE]
    assert len(rows) > 0
    assert rows["mde"].notna().all() and (rows["mde"] > 0).all()
    assert (rows["p_value"] >= 0.05).all()


def test_cached_ledger_is_read_fast_and_identical(led):
    start = time.perf_counter()
    again = ledger.ledger()
    assert time.perf_counter() - start < 2.0
    assert again.equals(led)
    assert len(list(paths.CACHE.glob("attribution-*.pkl"))) == 1


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "analysis", *args], capture_output=True, text=True, timeout=600,
                          cwd=paths.ROOT)


def test_cli_ledger_json_has_the_documented_keys(led):
    out = run_cli("ledger", "--json")
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)["rows"]
    assert len(rows) == len(led)
    for key in ["claim_id", "chapter", "outcome", "design", "sms_level", "estimate", "verdict", "reason"]:
        assert key in rows[0]
    assert out.stderr == ""  # no progress bar when stderr is not a terminal


def test_cli_attribute_reruns_a_design_and_responds_to_the_event():
    base = run_cli("attribute", "--outcome", "alcohol_specific_death_rate", "--design", "its", "--area", "scotland",
                   "--json")
    moved = run_cli("attribute", "--outcome", "alcohol_specific_death_rate", "--design", "its", "--area", "scotland",
                    "--event", "2006", "--json")
    assert base.returncode == 0 and moved.returncode == 0, base.stderr + moved.stderr
    a, b = json.loads(base.stdout)["rows"][0], json.loads(moved.stdout)["rows"][0]
    assert a["event"] == 2003 and b["event"] == 2006
    assert a["estimate"] != b["estimate"]


def test_cli_attribute_prints_a_readable_table():
    out = run_cli("attribute", "--outcome", "gdp_per_head", "--design", "did")
    assert out.returncode == 0, out.stderr
    assert "verdict" in out.stdout and "Scotland" in out.stdout
