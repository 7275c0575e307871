"""The evidence ledger on the real data, its cache, its settings and its command line."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from analysis import paths, settings
from analysis.attribution import ledger, verdicts
from analysis.data import register


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


def test_every_row_has_a_verdict_of_the_taxonomy_and_a_reason(led):
    labels = verdicts.labels(settings.load()["attribution"])
    assert set(led["verdict_key"]) <= set(verdicts.KEYS)
    assert (led["verdict"] == led["verdict_key"].map(labels)).all()
    assert led["reason"].str.len().gt(10).all() and led["why"].str.len().gt(5).all()
    assert led["claim_id"].is_unique


def test_report_claims_are_graded_as_perception(led):
    report = led[led["source"].str.startswith("Stevenson 2002")]
    benefits = report[report["claim_id"].str.startswith("R5.2-")]
    assert len(benefits) == 7
    assert (report["sms_level"] == 1).all()
    assert (report["verdict_key"] == verdicts.UNTESTABLE).all() and (report["role"] == ledger.REPORT).all()


def test_sms_levels_follow_the_settings(led):
    levels = settings.load()["attribution"]["grading"]["sms_levels"]
    quantitative = led[led["outcome"] != ""]
    for design, level in zip(quantitative["design"], quantitative["sms_level"], strict=True):
        assert level == levels[design]


def test_no_level_2_row_is_attributable(led):
    assert not ((led["sms_level"] < 3) & (led["verdict_key"] == verdicts.ATTRIBUTABLE)).any()


def test_every_test_runs_over_its_primary_window_and_over_every_post_event_year(led):
    cfg = settings.load()["attribution"]
    quant = led[led["outcome"] != ""]
    for (test_id, area), rows in quant.groupby([quant["source"], quant["area_code"]]):
        assert set(rows["window_kind"]) == {ledger.PRIMARY, ledger.FULL}, (test_id, area)
        primary = rows[rows["window_kind"] == ledger.PRIMARY].iloc[0]
        first, last = cfg["windows"][next(k for k, v in cfg["events"].items() if v == primary["event"])]
        assert primary["window"] == f"{first}–{last}" or primary["verdict_key"] == verdicts.UNTESTABLE


def test_confirmatory_rows_are_the_scotland_level_primary_rows_of_confirmatory_tests(led):
    cfg = settings.load()["attribution"]
    declared = {t["id"] for t in cfg["tests"] if t.get("confirmatory")}
    conf = led[led["role"] == ledger.CONFIRMATORY]
    assert set(conf["claim_id"].str.split(":").str[0]) == declared
    assert (conf["window_kind"] == ledger.PRIMARY).all()
    assert conf.groupby(conf["claim_id"].str.split(":").str[0]).size().eq(1).all()
    councils = led[led["area_code"].str.startswith("S12")]
    assert (councils["role"] == ledger.EXPLORATORY).all()


def test_adjusted_p_values_are_within_families_and_never_below_the_raw(led):
    rows = led[led["p_value"].notna()]
    assert (rows["p_holm"] >= rows["p_value"] - 1e-12).all() and (rows["p_bh"] >= rows["p_value"] - 1e-12).all()
    assert (rows["p_holm"] >= rows["p_bh"] - 1e-12).all()   # Holm is never less conservative than BH
    for _, family in rows.groupby("family"):
        # Holm's adjustment of the smallest p-value is the family size times it (capped at 1)
        smallest = family.loc[family["p_value"].idxmin()]
        assert smallest["p_holm"] == pytest.approx(min(1.0, len(family) * smallest["p_value"]))
    conf = rows[rows["role"] == ledger.CONFIRMATORY]
    assert conf["family"].nunique() == conf["event"].nunique()


def test_verdicts_use_the_holm_adjusted_p_value(led):
    alpha = settings.load()["attribution"]["alpha"]
    detected = led["verdict_key"].isin([verdicts.ATTRIBUTABLE, verdicts.DETECTED])
    assert (led.loc[detected, "p_holm"] < alpha).all()


def test_rows_without_a_detected_change_carry_their_mde_and_margin(led):
    rows = led[led["verdict_key"].isin([verdicts.EQUIVALENT, verdicts.INCONCLUSIVE])]
    assert len(rows) > 0
    assert rows["mde"].notna().all() and (rows["mde"] > 0).all()
    equivalent = led[led["verdict_key"] == verdicts.EQUIVALENT]
    assert ((equivalent["eq_low"] > -equivalent["margin"]) & (equivalent["eq_high"] < equivalent["margin"])).all()


def test_cached_ledger_is_read_back_identical(led):
    again = ledger.ledger()
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


def test_cli_attribute_runs_a_council_level_design_with_the_settings_recipe(led):
    """A district outcome's DiD reuses its configured ``area_level: district`` and matches the ledger."""
    out = run_cli("attribute", "--outcome", "gdhi_per_head_lad", "--design", "did", "--json")
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)["rows"]
    configured = led[led["claim_id"].str.startswith("gdhi-council-did:")]
    assert len(rows) == len(configured)
    by_window = configured.set_index("window")["estimate"]
    for row in rows:
        assert row["estimate"] == pytest.approx(by_window[row["window"]])


# --------------------------------------------------------------------------------------------
# the council-level comparison


COUNCIL_TESTS = {"gdhi-council-did": "did", "gdhi-council-es": "event_study", "gdhi-council-synth": "synth",
                 "gdp-council-did": "did", "gdp-council-es": "event_study", "gdp-council-synth": "synth"}


def _test_id(led):
    return led["claim_id"].str.split(":").str[0]


def test_the_council_level_rows_have_their_roles_and_families(led):
    """The council-level DiD and event study are confirmatory in the primary window (the primary
    comparison) and exploratory over every post-event year; the 32 partnerships' synthetic controls
    are exploratory, one family of 32 per outcome and window."""
    cfg = settings.load()["attribution"]
    ids = _test_id(led)
    council = led[ids.isin(COUNCIL_TESTS)]
    assert len(council) == 4 * 2 + 2 * 32 * 2
    assert (council["design"] == ids[council.index].map(COUNCIL_TESTS)).all()
    pooled = council[council["design"] != "synth"]
    assert (pooled["area_code"] == "scotland:district").all()
    assert (pooled["area_name"] == "Scotland's 32 council areas").all()
    assert set(pooled.loc[pooled["role"] == ledger.CONFIRMATORY, "window_kind"]) == {ledger.PRIMARY}
    assert pooled.groupby("window_kind")["role"].agg(set).to_dict() == {
        ledger.PRIMARY: {ledger.CONFIRMATORY}, ledger.FULL: {ledger.EXPLORATORY}}
    duty = cfg["events"]["duty"]
    assert (pooled.loc[pooled["role"] == ledger.CONFIRMATORY, "family"] == f"{ledger.CONFIRMATORY} × {duty}").all()
    synth_rows = council[council["design"] == "synth"]
    assert (synth_rows["role"] == ledger.EXPLORATORY).all()
    assert set(synth_rows["area_code"]) == set(register.council_codes())
    assert synth_rows.groupby("family").size().eq(32).all() and synth_rows["family"].nunique() == 4
    assert synth_rows["verdict_key"].isin(verdicts.KEYS).all() and synth_rows["p_value"].notna().all()


def test_the_council_level_comparison_is_primary_and_the_itl3_one_is_kept_beside_it(led):
    """For both outcomes the council-level DiD and event study carry the confirmatory rows; the
    ITL3/NUTS3 DiD and event study stay in the ledger, exploratory; Scotland's own synthetic
    controls (ITL1/NUTS1) stay confirmatory."""
    ids = _test_id(led)
    primary = led[led["window_kind"] == ledger.PRIMARY]
    for council, itl in [("gdhi-council-did", "gdhi-did"), ("gdhi-council-es", "gdhi-es"),
                         ("gdp-council-did", "gdp-did"), ("gdp-council-es", "gdp-es")]:
        assert (primary.loc[ids == council, "role"] == ledger.CONFIRMATORY).all(), council
        assert len(led[ids == itl]) == 2 and (led.loc[ids == itl, "role"] == ledger.EXPLORATORY).all(), itl
    for scotland in ("gdp-synth:primary:TLM", "gdhi-synth:primary:UKM"):
        assert led.set_index("claim_id").at[scotland, "role"] == ledger.CONFIRMATORY


def test_council_synth_results_carry_their_donor_pools_with_weights_by_district_code():
    from analysis.data import districts

    cfg = settings.load()["attribution"]
    rules = ["all"] + [f"{r['rule']}-{r['k']}" for r in cfg["synth"]["robustness_pools"]]
    codes = set(districts.codes("England")) | set(districts.codes("Wales"))
    pairs = [(j, r) for j, r in ledger.results() if j.test_id in ("gdhi-council-synth", "gdp-council-synth")]
    assert len(pairs) == 128
    for job, res in pairs:
        pools = res.details["donor_pools"]
        assert [p["rule"] for p in pools] == rules, job.claim_id
        assert pools[0]["estimate"] == res.estimate and pools[0]["p_value"] == res.p_value
        assert res.details["donor_pool"]["n_donors"] == 318 and res.details["placebos"]["n"] == 318
        assert set(res.details["weights"]) <= codes and all(set(p["weights"]) <= codes for p in pools)
        assert any(c.name == "good pre-period fit" for c in res.checks)


def test_results_do_not_depend_on_the_number_of_worker_processes():
    """The ledger's tests are shared among processes (one per core); each test is computed whole in
    one of them, so one worker and two give the same jobs, in the same order, with the same results."""
    chosen = {"population-its", "gva-its", "gdp-did", "gdp-es"}
    tests = [t for t in settings.load()["attribution"]["tests"] if t["id"] in chosen]
    assert len(tests) == len(chosen)
    one = ledger.run_tests(tests, workers=1, progress=False)
    two = ledger.run_tests(tests, workers=2, progress=False)
    assert [job for job, _ in one] == [job for job, _ in two]
    assert [job.test_id for job, _ in two] == sorted((j.test_id for j, _ in two), key=[t["id"] for t in tests].index)
    for (job, a), (_, b) in zip(one, two, strict=True):
        assert type(a) is type(b), job
        if not isinstance(a, Exception):
            for field in ("estimate", "ci_low", "ci_high", "p_value", "mde"):
                assert getattr(a, field) == pytest.approx(getattr(b, field), rel=1e-12, nan_ok=True), (job, field)
