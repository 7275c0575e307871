"""The settings model: every setting in ``settings.yml``, what it means and which values it may take.

:func:`analysis.settings.load` validates the file against :class:`Settings` and returns the validated
data as plain dicts, equal in value and type to what YAML read (the rest of the code indexes them as
before: ``settings.load()["attribution"]["alpha"]``). Every section forbids keys it does not know, so
a misspelt setting is an error rather than silently ignored.

A value that is not allowed raises :class:`SettingsError` whose message is one line naming the
setting by its dotted path (``attribution.alpha``, ``attribution.tests[3].outcome``), the value and
what is allowed, e.g. ``attribution.alpha: got 1.5; must be a number greater than 0 and less than 1``.
The command line prints it as ``error: …`` and exits with status 2, without a traceback.

Two kinds of check need more than the file:

* **the data dictionary**: outcomes, weights and death counts must be indicators of the panel's data
  dictionary. The dictionary's indicators are those of the hand-curated reference files it is built
  from (``data/reference/indicators.csv`` and the ``*_indicators.csv`` of ScotPHO, CPOP and LGBF:
  :data:`DICTIONARIES`), so validation does not need the panel built;
* **the panel itself**: whether a test's event and primary window lie inside its outcome's data,
  and whether the outcome has the areas its design needs. These checks need the panel built, so
  they live with the designs (:func:`analysis.attribution.checks.check_data`); the command line runs
  them after ``data`` and before ``ledger``, ``attribute`` and ``profiles``.

The ``attribute`` command's arguments are checked against the same model (:class:`Request`,
:func:`check_request`), its errors naming the argument (``--outcome``) instead of the setting.
"""

from __future__ import annotations

import csv
import difflib
import functools
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal, NoReturn

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, ValidationError, ValidationInfo, model_validator
from pydantic_core import PydanticCustomError

from analysis import paths
from analysis.errors import DataError


class SettingsError(DataError):
    """A setting in ``settings.yml``, or a command-line argument, has a value that is not allowed.

    The message is one line: the setting's dotted path (or the argument), the value and what is
    allowed.
    """


# --------------------------------------------------------------------------------------------
# allowed values

#: The attribution designs (:mod:`analysis.attribution`).
DESIGNS = ("its", "did", "event_study", "synth")
#: The areas a test may name, by design. ``did`` and ``event_study`` name none: they always compare
#: every Scottish area of the test's level with the comparison countries' areas. A synthetic control
#: names ``scotland`` and ``itl3`` at the ITL3/NUTS3 level, ``councils`` at the district level
#: (:data:`SYNTH_AREAS_BY_LEVEL`).
AREAS_BY_DESIGN: dict[str, tuple[str, ...]] = {
    "its": ("scotland", "councils"),
    "synth": ("scotland", "itl3", "councils"),
    "did": (),
    "event_study": (),
}
#: Transformations of an outcome's series before an interrupted time series (ledger.transform).
TRANSFORMS = ("growth_percent",)
#: Countries of the areas in the panel (``areas.csv``).
COUNTRIES = ("England", "Scotland", "Wales", "Northern Ireland")
#: Area levels the GB designs can compare: ITL3 and NUTS3, each matched to the other where an outcome
#: is published on the other geography (``did.area_level``); and ``district``, the local authority
#: districts of Great Britain (Scotland's 32 council areas, England's and Wales's districts).
GB_LEVELS = ("itl3", "nuts3", "district")
#: The panel's area types at each level.
LEVEL_AREA_TYPES = {"itl3": ("itl3", "nuts3"), "nuts3": ("itl3", "nuts3"), "district": ("council", "lad")}
#: The areas a synthetic control may name at each level.
SYNTH_AREAS_BY_LEVEL = {"itl3": ("scotland", "itl3"), "nuts3": ("scotland", "itl3"), "district": ("councils",)}
#: Donor-pool rules of the synthetic control (``analysis.attribution.synth.PoolRule``).
POOL_RULES = ("all", "nearest")
#: The events the book refers to by name (chapters, profiles, the Methods appendix).
BOOK_EVENTS = ("duty", "soa")
#: The ledger columns a multiplicity family may be formed from: those a test's row carries before its
#: result is known (:func:`analysis.attribution.ledger.test_rows` forms the family at that point).
FAMILY_COLUMNS = ("claim_id", "chapter", "source", "claim", "outcome", "design", "area_code", "area_name", "event",
                  "window", "window_kind", "role", "sms_level")
#: The p-value the verdicts read: raw, Holm- or Benjamini-Hochberg-adjusted.
VERDICT_P = ("raw", "holm", "bh")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_TEST_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
_REGION = re.compile(r"^[A-Z]{2}[A-Z0-9]$")


#: The hand-curated dictionaries in data/reference that the panel's data dictionary is built from
#: (:func:`analysis.data.schemas.indicator_dictionary`), each with the column that holds the indicator id.
DICTIONARIES = {"indicators.csv": "indicator", "scotpho_indicators.csv": "indicator_id",
                "cpop_indicators.csv": "indicator_id", "lgbf_indicators.csv": "indicator_id"}


@functools.cache
def known_indicators() -> frozenset[str]:
    """The indicators of the data dictionary, read from the reference files it is built from (with
    the csv module: loading the settings then costs no pandas import)."""
    ids: set[str] = set()
    for name, column in DICTIONARIES.items():
        with (paths.REFERENCE / name).open(newline="", encoding="utf-8") as f:
            ids.update(row[column] for row in csv.DictReader(f))
    return frozenset(ids)


# --------------------------------------------------------------------------------------------
# value types: each raises one clear message naming the value and what is allowed


def _show(value: Any) -> str:
    """A value as a reader would recognise it from the settings file, shortened if long."""
    if value is None:
        return "nothing (null)"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def listing(values: Iterable[Any]) -> str:
    return ", ".join(str(v) for v in values)


def _nearest(value: Any, choices: Iterable[str], n: int = 1) -> list[str]:
    return difflib.get_close_matches(str(value), sorted(choices), n=n, cutoff=0.6)


def _did_you_mean(value: Any, choices: Iterable[str]) -> str:
    near = _nearest(value, choices)
    return f" (did you mean {near[0]}?)" if near else ""


def fail(message: str, *at: str | int) -> NoReturn:
    """Reject a value: ``message`` says what was given and what is allowed; ``at`` extends the
    location of the value being validated (for checks that span a section, e.g. ``"tests", 3, "event"``)."""
    raise PydanticCustomError("setting", "{message}", {"message": message, "at": at})


def _bounds(gt: float | None, ge: float | None, lt: float | None, le: float | None) -> str:
    """The bounds in words: 'from 1 to 9', 'greater than 0 and less than 1', 'of at least 1'."""
    if ge is not None and le is not None and gt is None and lt is None:
        return f"from {ge:g} to {le:g}"
    parts = [f"{word} {bound:g}" for word, bound in
             (("greater than", gt), ("at least", ge), ("less than", lt), ("at most", le)) if bound is not None]
    text = " and ".join(parts)
    return f"of {text}" if text.startswith("at ") else text


def number(*, gt: float | None = None, ge: float | None = None, lt: float | None = None, le: float | None = None,
           whole: bool = False) -> Any:
    """A number (``whole``: a whole number) within the bounds; kept as YAML gave it (``1`` stays an int)."""
    allowed = " ".join(filter(None, ["a whole number" if whole else "a number", _bounds(gt, ge, lt, le)]))

    def check(value: Any) -> Any:
        right_type = isinstance(value, int) if whole else isinstance(value, int | float)
        if isinstance(value, bool) or not right_type or not math.isfinite(value):
            fail(f"got {_show(value)}; must be {allowed}")
        if ((gt is not None and not value > gt) or (ge is not None and not value >= ge)
                or (lt is not None and not value < lt) or (le is not None and not value <= le)):
            fail(f"got {_show(value)}; must be {allowed}")
        return value

    return Annotated[int if whole else int | float, PlainValidator(check)]


def one_of(*choices: str) -> Any:
    """One of ``choices`` (text); a typo is answered with the nearest choice."""

    def check(value: Any) -> str:
        if not isinstance(value, str) or value not in choices:
            fail(f"got {_show(value)}; must be one of {listing(choices)}{_did_you_mean(value, choices)}")
        return value

    return Annotated[Literal[choices], PlainValidator(check)]


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        fail(f"got {_show(value)}; must be text (not empty)")
    return value


def _indicator(value: Any, info: ValidationInfo) -> str:
    known = (info.context or {}).get("indicators") or known_indicators()
    if not isinstance(value, str) or value not in known:
        near = _nearest(value, known, n=3)
        hint = f"; nearest: {listing(near)}" if near else "; see the data dictionary, data/processed/indicators.csv"
        fail(f"got {_show(value)}; must be an indicator of the data dictionary (data/reference/*indicators.csv){hint}")
    return value


def _span(value: Any) -> list[int]:
    if (not isinstance(value, list) or len(value) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in value) or value[0] > value[1]):
        fail(f"got {_show(value)}; must be [first, last]: two years, the first no later than the last")
    return value


def _event_window(value: Any) -> list[int]:
    if (not isinstance(value, list) or len(value) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
            or not value[0] < -1 < 0 <= value[1]):
        fail(f"got {_show(value)}; must be [lead, lag]: two whole numbers, the lead before -1 (the reference "
             "year) and the lag 0 or later")
    return value


def _margin(value: Any) -> str | int | float:
    if value == "mde" or (isinstance(value, int | float) and not isinstance(value, bool)
                          and math.isfinite(value) and value > 0):
        return value
    fail(f"got {_show(value)}; must be mde (the design's own minimum detectable effect) or a number greater than 0")


def _placebos(value: Any) -> str | int:
    if value == "all" or (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
        return value
    fail(f"got {_show(value)}; must be all (every donor) or a whole number of at least 1")


def _event_ref(value: Any) -> str | int:
    """An event's name (checked against ``attribution.events`` by the section) or a year."""
    if isinstance(value, str) and _NAME.match(value):
        return value
    if isinstance(value, int) and not isinstance(value, bool) and 1900 <= value <= 2100:
        return value
    fail(f"got {_show(value)}; must be an event named in attribution.events or a year (1900-2100)")


_PERIOD = re.compile(r"^(\d{4})(-(\d{4}))?$")


def _period(value: Any) -> str:
    """A data period as the panel labels it: one year ("2002") or a span of years ("2000-2002")."""
    m = _PERIOD.match(value) if isinstance(value, str) else None
    if m is None or (m.group(3) and not m.group(1) < m.group(3)):
        fail(f"got {_show(value)}; must be a period in quotes as the panel labels it: a year (\"2002\") or a span "
             "of years (\"2000-2002\")")
    return value


def _test_id(value: Any) -> str:
    if not isinstance(value, str) or not _TEST_ID.match(value):
        fail(f"got {_show(value)}; must be an id of letters, digits, - and _ (it starts each row's claim id)")
    return value


def _region(value: Any) -> str:
    if not isinstance(value, str) or not _REGION.match(value):
        fail(f"got {_show(value)}; must be an ITL1 or NUTS1 region code of three characters, e.g. TLI or UKI")
    return value


# The types of the settings, named so that each reads as what it allows.
Fraction = number(gt=0, lt=1)
Positive = number(gt=0)
NonNegative = number(ge=0)
Share = number(gt=0, le=1)
PhiStart = number(ge=-1, lt=1)
PhiEnd = number(gt=-1, le=1)
Count = number(ge=1, whole=True)
Seed = number(ge=0, whole=True)
GridPoints = number(ge=3, whole=True)
Year = number(ge=1900, le=2100, whole=True)
SmsLevel = number(ge=1, le=5, whole=True)
Chapter = number(ge=1, le=9, whole=True)
Design = one_of(*DESIGNS)
Transform = one_of(*TRANSFORMS)
Country = one_of(*COUNTRIES)
AreaLevel = one_of(*GB_LEVELS)
FamilyColumn = one_of(*FAMILY_COLUMNS)
VerdictP = one_of(*VERDICT_P)
Text = Annotated[str, PlainValidator(_text)]
#: An area group; which are allowed depends on the design (:data:`AREAS_BY_DESIGN`), checked by the test.
AreaGroup = Text
Indicator = Annotated[str, PlainValidator(_indicator)]
TestId = Annotated[str, PlainValidator(_test_id)]
Region = Annotated[str, PlainValidator(_region)]
Span = Annotated[list[int], PlainValidator(_span)]
Period = Annotated[str, PlainValidator(_period)]
EventWindow = Annotated[list[int], PlainValidator(_event_window)]
EventRef = Annotated[str | int, PlainValidator(_event_ref)]
Margin = Annotated[str | int | float, PlainValidator(_margin)]
Placebos = Annotated[str | int, PlainValidator(_placebos)]


def _unique(values: Sequence[Any], *at: str | int) -> None:
    seen: set[Any] = set()
    for i, value in enumerate(values):
        if value in seen:
            fail(f"got {_show(value)} twice; each may be given once", *at, i)
        seen.add(value)


# --------------------------------------------------------------------------------------------
# sections


class Section(BaseModel):
    """A section of the settings: strict types (no text for numbers), and no keys it does not know."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            allowed = [field.alias or name for name, field in cls.model_fields.items()]
            for key in data:
                if key not in allowed:
                    fail(f"unknown setting{_did_you_mean(key, allowed)}; the settings here are {listing(allowed)}",
                         str(key))
        return data


class Data(Section):
    """``data``: how the tidy panel's derived series are formed."""

    rate_per: Count = Field(description="Rates are expressed per this many people.")
    pooling_years: Count = Field(
        description="Small counts make annual rates unstable: rates are also pooled over windows of this many years.")
    death_rates: list[Indicator] = Field(
        description="Counts of deaths turned into rates per `rate_per` of the NRS mid-year population.")
    fill_population_from_single_year: bool = Field(
        description="Where the NRS mid-year population series is blank, substitute the sum of the NRS "
                    "single-year-of-age estimates for that council and year.")

    @model_validator(mode="after")
    def _distinct(self) -> Data:
        _unique(self.death_rates, "death_rates")
        return self


class PhiGrid(Section):
    """The AR(1) coefficients the ITS bootstrap simulates: ``from`` to ``to`` (included) by ``step``."""

    from_: PhiStart = Field(alias="from", description="The smallest AR(1) coefficient simulated.")
    to: PhiEnd = Field(description="The largest AR(1) coefficient simulated (1.0 = a random walk).")
    step: Positive = Field(description="The spacing of the grid.")

    @model_validator(mode="after")
    def _ordered(self) -> PhiGrid:
        if not self.from_ < self.to:
            fail(f"got from {self.from_:g} and to {self.to:g}; from must be less than to", "from")
        if self.step > self.to - self.from_:
            fail(f"got {self.step:g}; the step must be at most to - from ({self.to - self.from_:g})", "step")
        return self


class Its(Section):
    """``attribution.its``: interrupted time series (segmented regression; fixed-b HAC tests calibrated
    by a prepivoted AR(1) bootstrap)."""

    min_pre_periods: Count = Field(
        description='Fewer points before the event and the "enough observations" check fails.')
    min_post_periods: Count = Field(description="Fewer points from the event on and the same check fails.")
    bootstrap_draws: Count = Field(
        description="Simulated series per grid coefficient, in each of three independent sets.")
    check_draws: Count = Field(description="The same, for the placebo-event and linear pre-trend checks.")
    phi_grid: PhiGrid = Field(description="AR(1) coefficients simulated (1.0 = random walk).")
    phi_quantile: Fraction = Field(
        description="The bootstrap's AR(1) coefficient: where the observed residual autocorrelation is this "
                    "quantile of its simulated distribution (0.5 = median-unbiased).")
    size_tolerance: Fraction = Field(
        description="A series fails the persistence check where the simulated size exceeds this.")
    placebo_min_gap: Count = Field(description="Placebo events at least this many years from the real one.")


class Did(Section):
    """``attribution.did``: difference-in-differences and event study on GB areas (also the areas the
    synthetic control draws from)."""

    treated_country: Country = Field(description="The country whose areas are treated.")
    comparison_countries: list[Country] = Field(
        min_length=1,
        description="The countries whose areas are the comparison (Northern Ireland left out: a different system).")
    area_level: AreaLevel = Field(
        description="The level of area compared (matched to ITL3 or NUTS3, whichever the outcome is published on).")
    log_outcome: bool = Field(description="Log the outcome, so effects read as proportional changes.")
    event_window: EventWindow = Field(
        description="Event-study leads and lags (years relative to the event), binned at the ends.")

    @model_validator(mode="after")
    def _comparison(self) -> Did:
        _unique(self.comparison_countries, "comparison_countries")
        if self.treated_country in self.comparison_countries:
            fail(f"got {self.treated_country!r}; the treated country cannot also be a comparison country",
                 "comparison_countries", self.comparison_countries.index(self.treated_country))
        return self


class Synth(Section):
    """``attribution.synth``: synthetic control."""

    max_pre_rmspe_ratio: Positive = Field(
        description="An area's pre-period fit must be within this fraction of its mean level.")
    placebos: Placebos = Field(
        description="Every donor area as a placebo ('all') or a seeded sample of this many.")
    placebo_time_shift: Count = Field(description="The placebo-in-time event this many years before the real one.")
    loo_min_weight: Share = Field(
        description="Leave-one-out robustness: drop, in turn, each donor with at least this weight.")
    loo_groups: dict[str, list[Region]] = Field(
        description="Leave-one-out robustness also drops each of these donor groups at once: label -> the "
                    "ITL1/NUTS1 region codes (a donor's first three characters) whose donors are dropped together.")
    conformal_iid_permutations: Count = Field(
        description="Conformal inference: iid permutations enumerate every placement of the window's residuals "
                    "when there are at most this many, else draw this many.")
    conformal_grid: GridPoints = Field(
        description="Grid points over which the conformal test is inverted (ends then refined).")
    robustness_pools: list[PoolRuleSetting] = Field(
        description="Alternative donor-pool rules: each unit's estimate, p-value and interval under each are "
                    "reported beside the default pool's (every donor), with placebos drawn by the same rule.")

    @model_validator(mode="after")
    def _groups(self) -> Synth:
        for label, codes in self.loo_groups.items():
            if not label.strip() or not codes:
                fail(f"got {label!r}: {codes!r}; each group needs a label and at least one region code",
                     "loo_groups", label)
            _unique(codes, "loo_groups", label)
        _unique([(r.rule, r.k) for r in self.robustness_pools], "robustness_pools")
        return self


class PoolRuleSetting(Section):
    """One donor-pool rule: ``{rule: nearest, k: 50}`` (the k donors nearest the unit by pre-period
    distance) or ``{rule: all}`` (every donor)."""

    rule: one_of(*POOL_RULES) = Field(description="all (every donor) or nearest (the k nearest by pre-period "
                                                  "distance).")
    k: Count | None = Field(None, description="nearest only: how many donors (at least 2).")

    @model_validator(mode="after")
    def _k(self) -> PoolRuleSetting:
        if self.rule == "nearest" and (self.k is None or self.k < 2):
            fail(f"got {_show(self.k)}; the nearest rule needs k, a whole number of at least 2", "k")
        if self.rule == "all" and self.k is not None:
            fail(f"got {_show(self.k)}; the all rule takes no k", "k")
        return self


class Overview(Section):
    """``attribution.overview``: randomisation tests of the council-level synthetic-control gaps across
    the 32 partnerships (case studies and pilot against the rest; LGBF family groups)."""

    permutations: Count = Field(
        description="Monte Carlo label permutations per test (seeded by attribution.seed); p = (1 + #≥) / (1 + this).")


class Sensitivity(Section):
    """``attribution.sensitivity``: parallel-trends sensitivity of the DiD and event-study claims
    (Rambachan & Roth 2023)."""

    sd_m: list[NonNegative] = Field(
        min_length=1, description="Smoothness: bounds on the change in slope, log points a year².")
    rm_mbar: list[NonNegative] = Field(
        min_length=1, description="Relative magnitudes: post-event violations at most M̄ times the largest "
                                  "pre-event one.")
    attribution_mbar: NonNegative = Field(
        description="A detected change is attributable only if it survives this M̄.")


class Equivalence(Section):
    """``attribution.equivalence``: "no effect larger than X" only when both one-sided tests reject at alpha."""

    margin: Margin = Field(
        description="'mde' (the design's own minimum detectable effect) or a number on the estimate's scale.")


class Multiplicity(Section):
    """``attribution.multiplicity``: Holm and Benjamini-Hochberg adjusted p-values within families of
    tests; a family is the set of ledger rows that share these columns."""

    confirmatory_family: list[FamilyColumn] = Field(
        description="The columns that define a family of confirmatory rows.")
    exploratory_family: list[FamilyColumn] = Field(
        description="The columns that define a family of exploratory rows.")
    verdict_p: VerdictP = Field(description="The p-value the verdicts use: raw, holm or bh.")

    @model_validator(mode="after")
    def _distinct(self) -> Multiplicity:
        _unique(self.confirmatory_family, "confirmatory_family")
        _unique(self.exploratory_family, "exploratory_family")
        return self


class Verdicts(Section):
    """``attribution.verdicts``: the label shown for each verdict of the taxonomy
    (:data:`analysis.attribution.verdicts.KEYS`; the rules are in that module)."""

    attributable: Text = Field(description="A change is detected by a design that can attribute it, and survives.")
    detected: Text = Field(description="A change is detected, but the design cannot attribute it.")
    assumption: Text = Field(description="A named, testable assumption of the design fails.")
    equivalent: Text = Field(description="No change detected, and an effect larger than the margin is excluded.")
    inconclusive: Text = Field(description="Neither a detected change nor an excluded one.")
    untestable: Text = Field(description="No design can be applied, or the design refused; the reason is given.")

    @model_validator(mode="after")
    def _distinct(self) -> Verdicts:
        seen: dict[str, str] = {}
        for key, label in self:
            if label in seen:
                fail(f"got {label!r}, the label of {seen[label]} too; each verdict needs its own label", key)
            seen[label] = key
        return self


class SmsLevels(Section):
    """The Maryland Scientific Methods Scale level of each kind of evidence."""

    perception: SmsLevel = Field(description="Stakeholders' reports (the report's own claims).")
    its: SmsLevel = Field(description="Interrupted time series.")
    did: SmsLevel = Field(description="Difference-in-differences.")
    event_study: SmsLevel = Field(description="Event study.")
    synth: SmsLevel = Field(description="Synthetic control.")


class Grading(Section):
    """``attribution.grading``."""

    min_sms_for_attribution: SmsLevel = Field(
        description="A detected change is attributable only from a design at this SMS level or higher.")
    sms_levels: SmsLevels = Field(description="The SMS level of each kind of evidence (1-5).")


class ScotlandFrom(Section):
    """How to form a Scotland series when the source has none."""

    weight: Indicator = Field(description="The population indicator whose council values weight the councils' mean.")


class Test(Section):
    """One quantitative claim the ledger tests (``attribution.tests``): one row per area and window."""

    id: TestId = Field(description="The test's id, the first part of each of its rows' claim ids; unique.")
    outcome: Indicator = Field(description="The indicator tested.")
    transform: Transform | None = Field(
        None, description="growth_percent: the series' year-on-year growth in percent (its only; default none).")
    design: Design = Field(description="The design: its, did, event_study or synth.")
    areas: list[AreaGroup] = Field(
        ["scotland"], min_length=1,
        description="its: scotland (the country series) and/or councils (each of the 32); synth: scotland "
                    "and/or itl3 (each Scottish GB area) at the itl3 level, councils (each of the 32) at the "
                    "district level; did and event_study take none. Default [scotland].")
    scotland_from: ScotlandFrom | None = Field(
        None, description="its only: form the Scotland series as the councils' weighted mean when the source has none.")
    area_level: AreaLevel | None = Field(
        None, description="did, event_study and synth: the level of area compared, itl3 (or nuts3) or district "
                          "(default attribution.did.area_level).")
    event: EventRef = Field(description="An event named in attribution.events, or a year.")
    chapter: Chapter = Field(description="The book chapter the test belongs to (1-9).")
    confirmatory: bool = Field(
        False, description="The test's Scotland-level row in the primary window is confirmatory (default false).")

    @model_validator(mode="after")
    def _fits_design(self) -> Test:
        allowed = AREAS_BY_DESIGN[self.design]
        if "areas" in self.model_fields_set:
            if not allowed:
                fail(f"got {_show(self.areas)}; {self.design} takes no areas: it compares every Scottish area of "
                     "attribution.did.area_level with the comparison countries' areas", "areas")
            for i, area in enumerate(self.areas):
                if area not in allowed:
                    fail(f"got {area!r}; {self.design} areas must be {' or '.join(allowed)}"
                         f"{_did_you_mean(area, allowed)}", "areas", i)
            _unique(self.areas, "areas")
        if self.design == "its" and self.area_level is not None:
            fail(f"got {self.area_level!r}; the its design takes no area_level (it reads the Scottish series)",
                 "area_level")
        for key in ("transform", "scotland_from"):
            value = getattr(self, key)
            if self.design != "its" and value is not None:
                shown = value.model_dump() if isinstance(value, BaseModel) else value
                fail(f"got {_show(shown)}; only the its design uses {key}, not {self.design}", key)
        return self


def _check_event(event: str | int, events: Mapping[str, int], *at: str | int) -> None:
    if isinstance(event, str) and event not in events:
        fail(f"got {event!r}; must be an event named in attribution.events ({listing(events)}) or a year"
             f"{_did_you_mean(event, events)}", *at)


class Attribution(Section):
    """``attribution``: the designs, their inference, the verdicts and the tests the ledger runs."""

    events: dict[str, Year] = Field(
        description="Events every partnership experienced at once: name -> year. The book refers to duty and soa.")
    windows: dict[str, Span] = Field(
        description="Post-event windows (inclusive years) of the events, over which every estimate is averaged: "
                    "the primary window, which carries the conclusions. Each starts at its event's year.")
    alpha: Fraction = Field(description="Significance level for every test.")
    power: Fraction = Field(description="Power at which minimum detectable effects are stated.")
    seed: Seed = Field(description="Seeds every simulation and permutation.")
    its: Its = Field(description="Interrupted time series.")
    did: Did = Field(description="Difference-in-differences and event study on GB areas.")
    synth: Synth = Field(description="Synthetic control.")
    sensitivity: Sensitivity = Field(description="Parallel-trends sensitivity (Rambachan & Roth 2023).")
    equivalence: Equivalence = Field(description="When a claim of no effect larger than a margin is made.")
    multiplicity: Multiplicity = Field(description="Adjusted p-values within families of tests.")
    verdicts: Verdicts = Field(description="The verdict taxonomy's labels.")
    grading: Grading = Field(description="The Maryland Scientific Methods Scale levels.")
    overview: Overview = Field(description="Randomisation tests across the 32 partnerships' synthetic-control gaps.")
    tests: list[Test] = Field(
        description="The quantitative claims the ledger tests: one row per test, area and window.")

    @model_validator(mode="after")
    def _consistent(self) -> Attribution:
        for name in self.events:
            if not _NAME.match(name):
                fail(f"got {name!r}; an event's name must be lower-case letters, digits and _", "events", name)
        for name in BOOK_EVENTS:
            if name not in self.events:
                fail(f"missing {name}; the book refers to the events {listing(BOOK_EVENTS)}", "events")
        for name, (first, _) in self.windows.items():
            if name not in self.events:
                fail(f"got {name!r}; windows are given for events of attribution.events ({listing(self.events)})"
                     f"{_did_you_mean(name, self.events)}", "windows", name)
            if first != self.events[name]:
                fail(f"got {_show(self.windows[name])}; the {name} window must start at its event's year, "
                     f"{self.events[name]}", "windows", name)
        if "duty" not in self.windows:
            fail("missing duty; the book reports the duty's primary window", "windows")
        for i, test in enumerate(self.tests):
            _check_event(test.event, self.events, "tests", i, "event")
            if test.design == "synth" and "areas" in test.model_fields_set:
                level = test.area_level or self.did.area_level
                allowed = SYNTH_AREAS_BY_LEVEL[level]
                for j, area in enumerate(test.areas):
                    if area not in allowed:
                        fail(f"got {area!r}; synth areas at the {level} level must be {' or '.join(allowed)}"
                             + (" (area_level)" if test.area_level else " (attribution.did.area_level)"),
                             "tests", i, "areas", j)
        first_of: dict[str, int] = {}
        for i, test in enumerate(self.tests):
            if test.id in first_of:
                fail(f"got {test.id!r}, the id of attribution.tests[{first_of[test.id]}] too; test ids must be unique",
                     "tests", i, "id")
            first_of[test.id] = i
        return self


class Size(Section):
    """``pages.size``: chapter 3's comparison of partnership size with the change in alcohol deaths."""

    population_period: Period = Field(description="The period of the population that measures size.")
    from_: Period = Field(alias="from", description="The first period of the pooled alcohol-specific death rate.")
    to: Period = Field(description="The last period of the same rate.")
    small: Count = Field(description="Partnerships with fewer people than this are counted as small.")
    large: Count = Field(description="Partnerships with more people than this are counted as large.")

    @model_validator(mode="after")
    def _ordered(self) -> Size:
        if not self.from_ < self.to:
            fail(f"got from {self.from_!r} and to {self.to!r}; from must come before to", "to")
        if not self.small < self.large:
            fail(f"got small {self.small} and large {self.large}; small must be less than large", "large")
        return self


class Profiles(Section):
    """``pages.profiles``: the wording of the partnership profiles."""

    little_change: Fraction = Field(
        description="An inequality gap whose size moved by less than this share of its first value 'changed little'.")


class Pages(Section):
    """``pages``: the years and periods the descriptive chapters compare (associations, never effects)."""

    report_year: Year = Field(description='The report\'s year: each chapter\'s "when the report was written".')
    coverage_from: Year = Field(description="The coverage charts of chapters 2 and 8 start in this year.")
    timeline_from: Year = Field(description="Chapter 4's timeline and coverage bars start in this year.")
    last_year: Year = Field(
        description="The last year the coverage comparisons of chapters 4 and 8 read (the 2015 Act's Part 2 in force).")
    case_study_periods: dict[Indicator, Period] = Field(
        min_length=1, description="Chapter 1: the period each measure of the case-study comparison is read in.")
    size: Size = Field(description="Chapter 3: partnership size against the change in alcohol deaths.")
    report_period: Period = Field(description="Chapter 7: the period of the family-group gaps at the report.")
    profiles: Profiles = Field(description="The wording of the partnership profiles.")

    @model_validator(mode="after")
    def _ordered(self) -> Pages:
        if not self.coverage_from <= self.report_year:
            fail(f"got {self.coverage_from}; the coverage charts must start no later than report_year "
                 f"({self.report_year})", "coverage_from")
        if not self.timeline_from <= self.report_year < self.last_year:
            fail(f"got {self.last_year}; last_year must come after report_year ({self.report_year}), and "
                 f"timeline_from ({self.timeline_from}) no later than it", "last_year")
        return self


class Settings(Section):
    """``settings.yml``: the one place a researcher changes what the book computes."""

    data: Data = Field(description="How the tidy panel's derived series are formed.")
    attribution: Attribution = Field(description="The designs, the verdicts and the tests the ledger runs.")
    pages: Pages = Field(description="The years and periods the descriptive chapters compare.")


class Request(Test):
    """A test asked for on the command line (``python -m analysis attribute``): no id or chapter of
    its own; the event is checked against ``attribution.events`` given in the validation context."""

    id: str = "cli"
    chapter: int = 0

    @model_validator(mode="after")
    def _event_known(self, info: ValidationInfo) -> Request:
        _check_event(self.event, (info.context or {})["events"], "event")
        return self


# --------------------------------------------------------------------------------------------
# one line per error

_MESSAGES = {
    "bool_type": "must be true or false",
    "string_type": "must be text",
    "list_type": "must be a list",
    "dict_type": "must be a mapping (name: value)",
    "model_type": "must be a mapping of settings",
    "model_attributes_type": "must be a mapping of settings",
}


def _path(loc: Sequence[str | int]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "the settings file"


def _description(loc: Sequence[str | int]) -> str:
    """What the setting at ``loc`` is (its field's description, or its section's docstring), or ''."""
    model: Any = Settings
    field = None
    for part in loc:
        if isinstance(part, int):
            continue
        fields = {f.alias or n: f for n, f in getattr(model, "model_fields", {}).items()}
        if part not in fields:
            return ""
        field = fields[part]
        annotation = field.annotation
        args = getattr(annotation, "__args__", ())
        model = next((a for a in (annotation, *args) if isinstance(a, type) and issubclass(a, BaseModel)), None)
    if field is None:
        return ""
    if field.description:
        return field.description
    if model is None:
        return ""
    words = " ".join((model.__doc__ or "").split())
    return re.sub(r"^``[^`]+``: ", "", words).replace("``", "")


def _problem(error: Mapping[str, Any], data: Any, names: Mapping[str, str] | None) -> tuple[str, str]:
    """The location and the text of one pydantic error."""
    kind, ctx = error["type"], error.get("ctx") or {}
    loc = tuple(error["loc"]) + tuple(ctx.get("at", ()))
    if kind == "setting":
        text = ctx["message"]
    elif kind == "missing":
        what = _description(loc) if names is None else ""
        text = "missing; it is required" + (f" ({what})" if what else "")
    elif kind in ("too_short", "too_long"):
        bound = ctx.get("min_length") if kind == "too_short" else ctx.get("max_length")
        least = "at least" if kind == "too_short" else "at most"
        text = f"got {_show(error['input'])}; must have {least} {bound} item(s)"
    else:
        text = f"got {_show(error['input'])}; {_MESSAGES.get(kind, error['msg'])}"
        if not loc and names is None:
            text += f" with the sections {' and '.join(Settings.model_fields)}"
    if names is not None:  # a command-line request: name the argument
        return names.get(str(loc[0]), str(loc[0])) if loc else "the request", text
    where = _path(loc)
    if loc[:2] == ("attribution", "tests") and len(loc) > 2 and isinstance(loc[2], int):
        try:
            where += f" (test {data['attribution']['tests'][loc[2]]['id']})"
        except (KeyError, IndexError, TypeError):
            pass
    return where, text


def one_line(error: ValidationError, data: Any, names: Mapping[str, str] | None = None) -> str:
    """A pydantic error as one line: the first problem in full, the locations of any others."""
    problems = [_problem(e, data, names) for e in error.errors(include_url=False)]
    where, text = problems[0]
    line = f"{where}: {text}"
    others = list(dict.fromkeys(w for w, _ in problems[1:] if w != where))
    if others:
        line += f" (also: {listing(others)})"
    return line


def validate(data: Any, *, file: Path | str | None = None, indicators: Iterable[str] | None = None) -> dict:
    """The settings ``data`` (as YAML read them), validated; returned as plain dicts equal to ``data``.

    ``indicators`` defaults to the data dictionary's (:func:`known_indicators`). Raises
    :class:`SettingsError` naming ``file``.
    """
    context = {"indicators": frozenset(indicators) if indicators is not None else known_indicators()}
    try:
        model = Settings.model_validate(data, context=context)
    except ValidationError as exc:
        raise SettingsError(one_line(exc, data), file=file) from None
    return model.model_dump(by_alias=True, exclude_unset=True)


#: The ``attribute`` command's argument for each field of its request.
ARGUMENTS = {"outcome": "--outcome", "design": "--design", "event": "--event", "areas": "--area",
             "area_level": "area_level (from settings.yml)",
             "scotland_from": "--weight", "transform": "transform (from settings.yml)"}


def check_request(test: dict, cfg: dict) -> None:
    """Check a test asked for on the command line against the model; ``cfg``: the ``attribution`` settings."""
    try:
        Request.model_validate(test, context={"indicators": known_indicators(), "events": cfg["events"]})
    except ValidationError as exc:
        raise SettingsError(one_line(exc, test, ARGUMENTS)) from None
