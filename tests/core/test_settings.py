"""Settings and command-line arguments that explain their errors.

Every mistake runs the command line as a subprocess (``python -m analysis …``) with ``CPP_SETTINGS``
pointing at a copy of settings.yml with that one mistake, and must end with exit status 2 and one
line on stderr, ``error: …``, naming the setting (or argument), the bad value and what is allowed,
without a traceback. The subprocesses run a few at a time (:func:`runs`), so the catalogue costs
seconds rather than a minute.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from analysis import paths, settings, settings_model
from analysis.errors import DataError

REAL = paths.ROOT / "settings.yml"
TEXT = REAL.read_text()
#: The first test in settings.yml, and its outcome's data (its single-year rows, every area).
ALCOHOL = "outcome: alcohol_specific_death_rate, design: its, areas: [scotland, councils], event: duty"
ALCOHOL_YEARS = (1991, 2019)


@dataclass(frozen=True)
class Case:
    """One mistake: how settings.yml is edited (``edits``: old -> new, each old found exactly once; or
    the whole ``text``), the command run, and what its one-line error must contain."""

    id: str
    args: tuple[str, ...]
    expect: tuple[str, ...]
    edits: tuple[tuple[str, str], ...] = ()
    text: str | None = None
    absent: tuple[str, ...] = ()
    no_file: bool = False


def edit(*pairs: tuple[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(pairs)


DATA = ("data",)
LEDGER = ("ledger",)


def attribute(*args: str) -> tuple[str, ...]:
    return ("attribute", *args)


#: The nine mistakes a reviewer tried (each ended in a traceback with exit status 1 before).
REVIEWED = [
    Case("alpha-as-text", DATA, ("attribution.alpha", "'five percent'", "a number greater than 0 and less than 1"),
         edit(("alpha: 0.05", "alpha: five percent"))),
    Case("alpha-1.5", DATA, ("attribution.alpha", "got 1.5", "a number greater than 0 and less than 1"),
         edit(("alpha: 0.05", "alpha: 1.5"))),
    Case("event-year-before-the-data", DATA,
         ("attribution.tests[0].event", "got 1970", f"run {ALCOHOL_YEARS[0]}-{ALCOHOL_YEARS[1]}",
          f"a year from {ALCOHOL_YEARS[0] + 1} to {ALCOHOL_YEARS[1]}"),
         edit((ALCOHOL, ALCOHOL.replace("event: duty", "event: 1970")))),
    Case("outcome-typo-in-tests", LEDGER,
         ("attribution.tests[0].outcome", "'alcohol_specific_death_rat'", "indicator of the data dictionary",
          "nearest: alcohol_specific_death_rate"),
         edit((ALCOHOL, ALCOHOL.replace("death_rate", "death_rat")))),
    Case("unknown-design-in-tests", DATA,
         ("attribution.tests[0].design", "'itss'", "its, did, event_study, synth", "did you mean its?"),
         edit((ALCOHOL, ALCOHOL.replace("design: its", "design: itss")))),
    Case("unknown-outcome-at-attribute", attribute("--outcome", "gdp_per_hed", "--design", "did"),
         ("--outcome", "'gdp_per_hed'", "indicator of the data dictionary", "nearest: gdp_per_head")),
    Case("event-past-the-data-at-attribute",
         attribute("--outcome", "gdp_per_head", "--design", "did", "--event", "2050"),
         ("--event", "got 2050", "run 1998-2021", "a year from 1999 to 2021")),
    Case("unknown-outcome-is-not-a-missing-scotland-series",
         attribute("--outcome", "gdp_per_hed", "--design", "its"),
         ("--outcome", "'gdp_per_hed'", "nearest: gdp_per_head"), absent=("Scotland series",)),
    Case("alpha-1.5-at-attribute", attribute("--outcome", "population", "--design", "its"),
         ("attribution.alpha", "got 1.5", "greater than 0 and less than 1"), edit(("alpha: 0.05", "alpha: 1.5"))),
]

#: Every other kind of mistake: one case each.
KINDS = [
    # the file itself
    Case("no-settings-file", DATA, ("no settings file at", "CPP_SETTINGS"), no_file=True),
    Case("not-yaml", DATA, ("not valid YAML at line",), edit(("alpha: 0.05", "alpha: [0.05"))),
    Case("key-given-twice", DATA, ("the key 'alpha' is given twice",),
         edit(("power: 0.80", "alpha: 0.10\n  power: 0.80"))),
    Case("empty-file", DATA, ("the settings file", "got nothing", "the sections data and attribution"), text=""),
    Case("unknown-key", DATA, ("attribution.alpah", "unknown setting", "did you mean alpha?", "events, windows, alpha"),
         edit(("alpha: 0.05", "alpah: 0.05"))),
    Case("missing-key", DATA, ("attribution.power", "missing", "minimum detectable effects"),
         edit(("  power: 0.80", "  # power: 0.80"))),
    Case("section-not-a-mapping", DATA, ("attribution.equivalence", "must be a mapping of settings"),
         edit(("  equivalence:\n", "  equivalence: mde\n"),
              ("    margin: mde ", "  # margin: mde "))),
    # numbers, flags and text
    Case("probability-out-of-range", DATA, ("attribution.its.phi_quantile", "got 1", "greater than 0 and less than 1"),
         edit(("phi_quantile: 0.1", "phi_quantile: 1"))),
    Case("count-not-positive", DATA, ("attribution.its.bootstrap_draws", "got 0", "a whole number of at least 1"),
         edit(("bootstrap_draws: 999", "bootstrap_draws: 0"))),
    Case("count-not-whole", DATA, ("attribution.its.check_draws", "got 199.5", "a whole number"),
         edit(("check_draws: 199", "check_draws: 199.5"))),
    Case("number-as-text", DATA, ("data.rate_per", "'100,000'", "a whole number of at least 1"),
         edit(("rate_per: 100000", "rate_per: '100,000'"))),
    Case("flag-as-text", DATA, ("data.fill_population_from_single_year", "'yes'", "true or false"),
         edit(("fill_population_from_single_year: true", "fill_population_from_single_year: 'yes'"))),
    Case("phi-grid-reversed", DATA, ("attribution.its.phi_grid.from", "from 0.9 and to 0.2", "less than to"),
         edit(("{from: -0.5, to: 1.0, step: 0.05}", "{from: 0.9, to: 0.2, step: 0.05}"))),
    Case("phi-grid-past-a-random-walk", DATA, ("attribution.its.phi_grid.to", "got 1.5", "at most 1"),
         edit(("{from: -0.5, to: 1.0, step: 0.05}", "{from: -0.5, to: 1.5, step: 0.05}"))),
    Case("seed-negative", DATA, ("attribution.seed", "got -1", "a whole number of at least 0"),
         edit(("seed: 20021001", "seed: -1"))),
    # events and windows
    Case("book-event-missing", DATA, ("attribution.events", "missing soa", "duty, soa"),
         edit(("    soa: 2008 ", "    agreements: 2008 "))),
    Case("window-of-unknown-event", DATA, ("attribution.windows.sao", "'sao'", "duty, soa", "did you mean soa?"),
         edit(("soa: [2008, 2012]", "sao: [2008, 2012]"))),
    Case("window-not-at-event-year", DATA,
         ("attribution.windows.soa", "[2009, 2012]", "start at its event's year, 2008"),
         edit(("soa: [2008, 2012]", "soa: [2009, 2012]"))),
    Case("window-reversed", DATA, ("attribution.windows.duty", "[2003, 2001]", "the first no later than the last"),
         edit(("duty: [2003, 2007]", "duty: [2003, 2001]"))),
    Case("window-outside-the-data", DATA,
         ("attribution.windows.soa (test cpop-birthweight-its)", "[2008, 2016]", "inside the data",
          "cpop_healthy_birthweight (2004-2015)"),
         edit(("soa: [2008, 2012]", "soa: [2008, 2016]"))),
    Case("event-name", DATA, ("attribution.events.Agreements", "'Agreements'", "lower-case letters"),
         edit(("    soa: 2008 ", "    soa: 2008\n    Agreements: 2008 "))),
    Case("duty-window-missing", DATA, ("attribution.windows", "missing duty", "primary window"),
         edit(("    duty: [2003, 2007] ", "    # duty: [2003, 2007] "))),
    Case("phi-grid-step-too-large", DATA, ("attribution.its.phi_grid.step", "got 2", "at most to - from (1.5)"),
         edit(("{from: -0.5, to: 1.0, step: 0.05}", "{from: -0.5, to: 1.0, step: 2}"))),
    # tests
    Case("test-id", DATA, ("attribution.tests[0].id", "'alcohol its'", "letters, digits, - and _"),
         edit(("{id: alcohol-its,", "{id: alcohol its,"))),
    Case("area-twice", DATA, ("attribution.tests[0].areas[1]", "'scotland' twice", "once"),
         edit((ALCOHOL, ALCOHOL.replace("[scotland, councils]", "[scotland, scotland]")))),
    Case("unknown-event-in-tests", DATA, ("attribution.tests[0].event", "'dutty'", "duty, soa", "did you mean duty?"),
         edit((ALCOHOL, ALCOHOL.replace("event: duty", "event: dutty")))),
    Case("area-the-design-does-not-take", DATA,
         ("attribution.tests[0].areas[1]", "'council'", "its areas must be scotland or councils",
          "did you mean councils?"),
         edit((ALCOHOL, ALCOHOL.replace("councils]", "council]")))),
    Case("areas-for-did", DATA, ("attribution.tests[3].areas (test gdp-did)", "['itl3']", "did takes no areas"),
         edit(("{id: gdp-did, outcome: gdp_per_head, design: did,",
               "{id: gdp-did, outcome: gdp_per_head, design: did, areas: [itl3],"))),
    Case("transform-outside-its", DATA,
         ("attribution.tests[6].transform (test gdhi-did)", "'growth_percent'", "only the its design uses transform"),
         edit(("{id: gdhi-did, outcome: gdhi_per_head,",
               "{id: gdhi-did, outcome: gdhi_per_head, transform: growth_percent,"))),
    Case("chapter-out-of-range", DATA, ("attribution.tests[0].chapter", "got 10", "a whole number from 1 to 9"),
         edit(("event: duty, chapter: 6", "event: duty, chapter: 10"))),
    Case("test-id-twice", DATA, ("attribution.tests[1].id (test alcohol-its)", "'alcohol-its'", "must be unique"),
         edit(("{id: population-its,", "{id: alcohol-its,"))),
    Case("weight-not-an-indicator", DATA,
         ("attribution.tests[2].scotland_from.weight", "'populaton'", "nearest: population"),
         edit(("scotland_from: {weight: population}", "scotland_from: {weight: populaton}"))),
    Case("no-scotland-series", DATA,
         ("attribution.tests[2].scotland_from (test gva-its)", "gva_per_head has no Scotland series", "weight"),
         edit(("scotland_from: {weight: population}, ", ""))),
    Case("design-needs-gb-areas", DATA,
         ("attribution.tests[3].design (test gdp-did)", "'did'", "itl3 or nuts3 areas",
          "alcohol_specific_death_rate has none"),
         edit(("{id: gdp-did, outcome: gdp_per_head,", "{id: gdp-did, outcome: alcohol_specific_death_rate,"))),
    # the other sections
    Case("death-count-not-an-indicator", DATA, ("data.death_rates[0]", "'alcohol_deaths'", "nearest:"),
         edit(("death_rates: [alcohol_specific_deaths,", "death_rates: [alcohol_deaths,"))),
    Case("unknown-country", DATA, ("attribution.did.comparison_countries[1]", "'Wale'", "did you mean Wales?"),
         edit(("[England, Wales]", "[England, Wale]"))),
    Case("treated-country-compared", DATA,
         ("attribution.did.comparison_countries[1]", "'Scotland'", "cannot also be a comparison country"),
         edit(("[England, Wales]", "[England, Scotland]"))),
    Case("area-level", DATA, ("attribution.did.area_level", "'itl2'", "itl3, nuts3"),
         edit(("area_level: itl3", "area_level: itl2"))),
    Case("event-window", DATA, ("attribution.did.event_window", "[-1, 10]", "the lead before -1"),
         edit(("event_window: [-5, 10]", "event_window: [-1, 10]"))),
    Case("placebos", DATA, ("attribution.synth.placebos", "'some'", "all (every donor) or a whole number"),
         edit(("placebos: all", "placebos: some"))),
    Case("region-code", DATA, ("attribution.synth.loo_groups.London[0]", "'London'", "three characters"),
         edit(("London: [TLI, UKI]", "London: [London]"))),
    Case("empty-list", DATA, ("attribution.sensitivity.rm_mbar", "got []", "at least 1 item"),
         edit(("rm_mbar: [0, 0.25, 0.5, 0.75, 1, 1.5, 2]", "rm_mbar: []"))),
    Case("empty-donor-group", DATA, ("attribution.synth.loo_groups.London", "'London': []", "at least one region code"),
         edit(("London: [TLI, UKI]", "London: []"))),
    Case("sensitivity-grid-negative", DATA, ("attribution.sensitivity.sd_m[0]", "got -0.01", "at least 0"),
         edit(("sd_m: [0, 0.0025,", "sd_m: [-0.01, 0.0025,"))),
    Case("margin", DATA, ("attribution.equivalence.margin", "'MDE'", "mde (the design's own minimum detectable"),
         edit(("margin: mde ", "margin: MDE "))),
    Case("family-column", DATA, ("attribution.multiplicity.confirmatory_family[1]", "'verdict'", "role"),
         edit(("confirmatory_family: [role, event]", "confirmatory_family: [role, verdict]"))),
    Case("verdict-p", DATA, ("attribution.multiplicity.verdict_p", "'bonferroni'", "raw, holm, bh"),
         edit(("verdict_p: holm", "verdict_p: bonferroni"))),
    Case("verdict-key", DATA, ("attribution.verdicts.attributble", "did you mean attributable?",
                               "attributable, detected, assumption, equivalent, inconclusive, untestable"),
         edit(("    attributable: attributable", "    attributble: attributable"))),
    Case("verdict-label-twice", DATA,
         ("attribution.verdicts.untestable", "'cannot be tested', the label of inconclusive too", "its own label"),
         edit(("inconclusive: inconclusive", "inconclusive: cannot be tested"))),
    Case("sms-level", DATA, ("attribution.grading.sms_levels.synth", "got 7", "from 1 to 5"),
         edit(("      synth: 3", "      synth: 7"))),
    # the pages section
    Case("page-period", DATA, ("pages.case_study_periods.population", "'2002-03'", "a span of years"),
         edit(('    population: "2002"', '    population: "2002-03"'))),
    Case("page-period-unquoted", DATA, ("pages.report_period", "got 2000", "a period in quotes"),
         edit(('report_period: "2000-2002"', "report_period: 2000"))),
    Case("page-period-not-an-indicator", DATA, ("pages.case_study_periods.gva_per_hed", "nearest:"),
         edit(('    gva_per_head: "2002"', '    gva_per_hed: "2002"'))),
    Case("page-size-order", DATA, ("pages.size.to", "from must come before to"),
         edit(('to: "2015-2017"', 'to: "1995-1997"'))),
    Case("page-last-year", DATA, ("pages.last_year", "got 2001", "must come after report_year (2002)"),
         edit(("last_year: 2016", "last_year: 2001"))),
    Case("page-unknown", DATA, ("pages.report_yaer", "did you mean report_year?"),
         edit(("report_year: 2002 ", "report_yaer: 2002 "))),
    # the council-level comparison (area_level: district) and the donor-pool rules
    Case("pool-rule-without-k", DATA, ("attribution.synth.robustness_pools[0].k", "needs k"),
         edit(("- {rule: nearest, k: 50}", "- {rule: nearest}"))),
    Case("pool-rule-unknown", DATA, ("attribution.synth.robustness_pools[0].rule", "'closest'", "all, nearest"),
         edit(("- {rule: nearest, k: 50}", "- {rule: closest, k: 50}"))),
    Case("pool-rule-twice", DATA, ("attribution.synth.robustness_pools[1]", "twice"),
         edit(("- {rule: nearest, k: 50}", "- {rule: nearest, k: 50}\n      - {rule: nearest, k: 50}"))),
    Case("overview-permutations", DATA, ("attribution.overview.permutations", "got 0", "a whole number of at least 1"),
         edit(("permutations: 9999", "permutations: 0"))),
    Case("area-level-for-its", DATA,
         ("attribution.tests[1].area_level", "'district'", "its design takes no area_level"),
         edit(("{id: population-its,", "{id: population-its, area_level: district,"))),
    Case("unknown-area-level", DATA, ("attribution.tests[14].area_level", "'districts'", "did you mean district?"),
         edit(("{id: gdhi-council-did, outcome: gdhi_per_head_lad, design: did, area_level: district,",
               "{id: gdhi-council-did, outcome: gdhi_per_head_lad, design: did, area_level: districts,"))),
    Case("synth-areas-at-the-district-level", DATA,
         ("attribution.tests[16].areas[0]", "'itl3'", "synth areas at the district level must be councils"),
         edit(("design: synth, area_level: district, areas: [councils], event: duty, chapter: 5, confirmatory: false}\n"
               "    - {id: gdp-council-did",
               "design: synth, area_level: district, areas: [itl3], event: duty, chapter: 5, confirmatory: false}\n"
               "    - {id: gdp-council-did"))),
    Case("district-level-outcome-without-districts", DATA,
         ("attribution.tests[14].area_level (test gdhi-council-did)", "'district'", "area types council and lad",
          "gdhi_per_head has"),
         edit(("{id: gdhi-council-did, outcome: gdhi_per_head_lad,",
               "{id: gdhi-council-did, outcome: gdhi_per_head,"))),
    Case("itl-level-outcome-published-for-districts", DATA,
         ("attribution.tests[3].design (test gdp-did)", "itl3 or nuts3 areas", "area_level: district compares"),
         edit(("{id: gdp-did, outcome: gdp_per_head,", "{id: gdp-did, outcome: gdp_cvm_per_head_lad,"))),
    # the attribute command's arguments
    Case("design-argument", attribute("--outcome", "population", "--design", "foo"),
         ("--design", "'foo'", "its, did, event_study, synth")),
    Case("area-argument", attribute("--outcome", "population", "--design", "its", "--area", "council"),
         ("--area", "'council'", "scotland or councils", "did you mean councils?")),
    Case("area-argument-for-did", attribute("--outcome", "gdp_per_head", "--design", "did", "--area", "scotland"),
         ("--area", "['scotland']", "did takes no areas")),
    Case("weight-argument", attribute("--outcome", "gva_per_head", "--design", "its", "--weight", "populaton"),
         ("--weight", "'populaton'", "nearest: population")),
    Case("event-argument", attribute("--outcome", "population", "--design", "its", "--event", "dutty"),
         ("--event", "'dutty'", "duty, soa", "did you mean duty?")),
    Case("event-before-the-data-argument",
         attribute("--outcome", "alcohol_specific_death_rate", "--design", "its", "--event", "1970"),
         ("--event", "got 1970", f"a year from {ALCOHOL_YEARS[0] + 1} to {ALCOHOL_YEARS[1]}")),
    Case("design-needs-gb-areas-argument", attribute("--outcome", "alcohol_specific_death_rate", "--design", "synth"),
         ("--design", "'synth'", "itl3 or nuts3 areas", "its can be used instead")),
    Case("outcome-without-single-years",
         attribute("--outcome", "alcohol_specific_death_rate_pooled", "--design", "its"),
         ("--outcome", "'alcohol_specific_death_rate_pooled'", "no values for single years")),
]

CASES = REVIEWED + KINDS


def _settings_text(case: Case) -> str:
    if case.text is not None:
        return case.text
    text = TEXT
    for old, new in case.edits:
        assert text.count(old) == 1, f"{case.id}: {old!r} is in settings.yml {text.count(old)} times, not once"
        text = text.replace(old, new)
    return text


def _run(case: Case, folder: Path) -> subprocess.CompletedProcess:
    folder.mkdir()
    path = folder / "settings.yml"
    if not case.no_file:
        path.write_text(_settings_text(case))
    env = {**os.environ, "CPP_SETTINGS": str(path)}
    return subprocess.run([sys.executable, "-m", "analysis", *case.args], capture_output=True, text=True,
                          timeout=600, cwd=paths.ROOT, env=env)


@pytest.fixture(scope="session")
def runs(outputs, tmp_path_factory) -> dict[str, subprocess.CompletedProcess]:
    """Every case's subprocess, run four at a time (the panel is built first, so none rebuilds it)."""
    root = tmp_path_factory.mktemp("settings")
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {c.id: pool.submit(_run, c, root / c.id) for c in CASES}
    return {name: f.result() for name, f in futures.items()}


def test_case_ids_are_unique():
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_a_mistake_is_one_line_naming_the_setting_the_value_and_what_is_allowed(case, runs):
    out = runs[case.id]
    assert out.returncode == 2, (out.returncode, out.stderr[-2000:])
    assert "Traceback" not in out.stderr
    lines = out.stderr.splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("error: ")
    for fragment in case.expect:
        assert fragment in lines[0], (fragment, lines[0])
    for fragment in case.absent:
        assert fragment not in lines[0], (fragment, lines[0])
    if not case.no_file and not lines[0].startswith("error: --"):
        assert "file settings.yml" in lines[0]  # a setting's error names the file it is in


# --------------------------------------------------------------------------------------------
# the real settings


def test_the_real_settings_validate_and_load_returns_them_exactly_as_yaml_reads_them():
    raw = yaml.safe_load(TEXT)
    loaded = settings.load(REAL)
    assert loaded == raw
    # the same types too (1 stays 1, not 1.0), so digests and every cache key are unchanged
    assert yaml.safe_dump(loaded, sort_keys=True) == yaml.safe_dump(raw, sort_keys=True)
    assert list(loaded["attribution"]["events"]) == list(raw["attribution"]["events"])
    chosen = {name: raw[name] for name in ("data", "attribution")}
    assert settings.digest(REAL, ("data", "attribution")) == hashlib.sha256(
        yaml.safe_dump(chosen, sort_keys=True).encode()).hexdigest()
    assert settings.digest(REAL) == hashlib.sha256(REAL.read_bytes()).hexdigest()


def test_the_real_tests_fit_the_panel(outputs):
    cfg = settings.load(REAL)["attribution"]
    from analysis.attribution import checks

    assert all(checks.data_problem(t, outputs.panel, cfg) is None for t in cfg["tests"])
    checks.check_data(cfg, outputs.panel)


def test_a_bad_file_raises_a_settings_error_each_time_and_is_not_cached(tmp_path):
    bad = tmp_path / "settings.yml"
    bad.write_text(TEXT.replace("alpha: 0.05", "alpha: 1.5"))
    for _ in range(2):
        with pytest.raises(settings.SettingsError, match=r"attribution\.alpha: got 1\.5") as info:
            settings.load(bad)
        assert isinstance(info.value, DataError)  # what the command line catches
    bad.write_text(TEXT)
    assert settings.load(bad) == settings.load(REAL)
    settings.load.cache_clear()


def test_the_data_dictionary_the_model_reads_is_the_panels(outputs):
    from analysis.data import schemas

    assert settings_model.known_indicators() == frozenset(schemas._reference_titles()["indicator"])
    assert settings_model.known_indicators() == frozenset(outputs.indicators["indicator"])


# --------------------------------------------------------------------------------------------
# the model agrees with the code that reads the settings


def test_the_verdict_keys_are_the_taxonomys():
    from analysis.attribution import verdicts

    assert tuple(settings_model.Verdicts.model_fields) == verdicts.KEYS


def test_every_design_has_an_sms_level_and_its_areas():
    assert tuple(settings_model.SmsLevels.model_fields) == ("perception", *settings_model.DESIGNS)
    assert set(settings_model.AREAS_BY_DESIGN) == set(settings_model.DESIGNS)


def test_every_family_column_is_on_a_test_row_when_its_family_is_formed(outputs):
    from analysis.attribution import ledger

    assert set(settings_model.FAMILY_COLUMNS) <= set(ledger.LEDGER_COLUMNS)
    cfg = dict(settings.load(REAL)["attribution"])
    every = list(settings_model.FAMILY_COLUMNS)
    cfg["multiplicity"] = {**cfg["multiplicity"], "confirmatory_family": every, "exploratory_family": every}
    job = ledger.Job("t", "population", "its", "S92000003", 2003, 1, ledger.PRIMARY, (2003, 2007),
                     ledger.CONFIRMATORY)
    rows = ledger.test_rows(cfg, [(job, ValueError("too few points"))])  # a KeyError if a column is not there yet
    assert rows[0]["family"].count(" × ") == len(every) - 1


def _fields(model, prefix=""):
    for name, info in model.model_fields.items():
        yield f"{prefix}{info.alias or name}", info
        nested = [a for a in (info.annotation, *getattr(info.annotation, "__args__", ()))
                  if isinstance(a, type) and issubclass(a, settings_model.BaseModel)]
        for sub in nested:
            yield from _fields(sub, f"{prefix}{info.alias or name}.")


def _leaves(d: dict, prefix: str = ""):
    """The dotted paths of settings.yml's settings (a mapping of names, such as events, is one setting)."""
    for key, value in d.items():
        if isinstance(value, dict) and key not in ("events", "windows", "loo_groups", "case_study_periods"):
            yield from _leaves(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}"


def test_every_setting_is_documented_in_the_model():
    documented = {path: info.description for path, info in _fields(settings_model.Settings)}
    assert [path for path, text in documented.items() if not text] == []
    assert set(_leaves(yaml.safe_load(TEXT))) <= set(documented)
