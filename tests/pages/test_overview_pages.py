"""The attribution page's section "Across the 32 partnerships" (analysis/pages/overview.py) and the
claimant count in Chapter 6, on the real ledger and panel.

The figures' data and alt text are checked against numbers recomputed here from the ledger (not from
the page module), the permutation table against ``analysis.attribution.overview.overview()``, and the
new prose for typed numbers.
"""

from __future__ import annotations

import io
import re
import sys

import matplotlib as mpl
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import LineCollection, PathCollection

from analysis import paths, settings
from analysis.attribution import ledger, verdicts
from analysis.attribution import overview as ov
from analysis.data import register
from analysis.pages import attribution, ch06, claims, common, figures, overview

sys.path.insert(0, str(paths.ROOT / "tests" / "book"))
from test_book_html import prose  # noqa: E402

BOOK = paths.ROOT / "book"


@pytest.fixture(scope="module")
def cfg():
    return settings.load()["attribution"]


@pytest.fixture(scope="module")
def led():
    return ledger.ledger()


@pytest.fixture(scope="module")
def council_tests(cfg):
    """The ids of the council-level synthetic controls, from the settings."""
    return [t["id"] for t in cfg["tests"] if t["design"] == "synth" and "councils" in t.get("areas", [])]


@pytest.fixture(scope="module")
def table(led):
    return overview.caterpillar_table(led)


@pytest.fixture
def glued(monkeypatch):
    """Figures glued by the page functions, with their alt text and data, instead of displayed."""
    captured: dict[str, dict] = {}

    def fake_glue(key, fig, alt, data=None):
        figures.check_alt(key, alt)
        captured[key] = {"fig": fig, "alt": alt, "data": data, "bytes": len(figures.png_bytes(fig))}

    monkeypatch.setattr(figures, "glue_figure", fake_glue)
    return captured


def _primary_rows(led, test_id):
    councils = set(register.council_codes())
    rows = led[led["claim_id"].str.startswith(f"{test_id}:primary:")]
    return rows[rows["area_code"].isin(councils)]


# --------------------------------------------------------------------------------------------
# the caterpillar figure


def test_caterpillar_has_32_ranked_councils_per_outcome_in_the_primary_window(table, council_tests, cfg):
    assert list(dict.fromkeys(table["test_id"])) == council_tests
    event = next(t["event"] for t in cfg["tests"] if t["id"] == council_tests[0])
    first, last = cfg["windows"][event]
    assert set(table["window"]) == {f"{first}–{last}"}
    for _, frame in table.groupby("test_id"):
        assert len(frame) == 32
        assert sorted(frame["area_code"]) == sorted(register.council_codes())
        ordered = frame.sort_values("rank")
        assert ordered["rank"].tolist() == list(range(1, 33))
        assert (np.diff(ordered["estimate"].to_numpy()) <= 0).all(), "ranked from the largest gap down"
        assert ((frame["ci_low"] <= frame["estimate"]) & (frame["estimate"] <= frame["ci_high"])).all()
        groups = frame.set_index("area_code")["group"]
        assert set(groups[groups == common.GROUP_CASE].index) == set(register.case_study_codes())
        assert groups[groups == common.GROUP_PILOT].index.map(register.name_of).tolist() == ["North Lanarkshire"]


def test_caterpillar_gaps_and_verdicts_are_the_ledgers(table, led):
    rows = led.set_index("claim_id")
    ids = table["test_id"] + ":primary:" + table["area_code"]
    for column in ("estimate", "ci_low", "ci_high", "p_value", "verdict_key"):
        assert table[column].tolist() == rows.loc[ids, column].tolist(), column
    assert (table["colour"] == table["verdict_key"].map(claims.VERDICT_COLOURS)).all()
    assert (table["verdict"] == table["verdict_key"].map(claims.labels())).all()


def test_caterpillar_figure_draws_each_council_in_its_verdicts_colour(table, glued):
    overview.caterpillar_figure("fig-overview-gaps", table)
    got = glued["fig-overview-gaps"]
    assert got["bytes"] <= 200_000
    fig = got["fig"]
    assert len(fig.axes) == table["test_id"].nunique()
    drawn = 0
    for ax, (test_id, frame) in zip(fig.axes, table.groupby("test_id", sort=False), strict=True):
        by_rank = frame.set_index("rank")
        for coll in ax.collections:
            if isinstance(coll, PathCollection):
                test, group = coll.get_gid().split(":")
                assert test == test_id
                for (x, y), colour in zip(coll.get_offsets(), coll.get_facecolors(), strict=True):
                    row = by_rank.loc[int(round(y))]
                    assert row["group"] == group
                    assert x == pytest.approx(row["estimate"])
                    assert mpl.colors.to_hex(colour) == claims.VERDICT_COLOURS[row["verdict_key"]].lower()
                    drawn += 1
            elif isinstance(coll, LineCollection):
                for seg, colour in zip(coll.get_segments(), coll.get_colors(), strict=True):
                    row = by_rank.loc[int(round(seg[0, 1]))]
                    assert sorted(seg[:, 0]) == pytest.approx([row["ci_low"], row["ci_high"]])
                    assert mpl.colors.to_hex(colour) == claims.VERDICT_COLOURS[row["verdict_key"]].lower()
        # a zero line
        assert any(np.allclose(line.get_xdata(), 0) for line in ax.get_lines())
    assert drawn == len(table)
    # the CSV offered under the figure is the plotted table: 32 rows per outcome
    data = got["data"]
    assert data.groupby("test_id").size().eq(32).all()
    assert data["estimate"].tolist() == table["estimate"].tolist()


def test_caterpillar_alt_text_states_the_ledgers_counts(table, led, council_tests, glued):
    overview.caterpillar_figure("fig-overview-gaps", table)
    alt = glued["fig-overview-gaps"]["alt"]
    names = claims.labels()
    for test_id in council_tests:
        rows = _primary_rows(led, test_id)
        assert len(rows) == 32
        excluding = int(((rows["ci_low"] > 0) | (rows["ci_high"] < 0)).sum())
        positive = int((rows["estimate"] > 0).sum())
        top = rows.loc[rows["estimate"].idxmax(), "area_name"]
        bottom = rows.loc[rows["estimate"].idxmin(), "area_name"]
        counts = rows["verdict_key"].value_counts()
        described = ", ".join(f"{int(counts[k])} {names[k]}" for k in verdicts.KEYS if k in counts)
        title = overview.short_title(rows["outcome"].iloc[0])
        part = alt.split(f"{title}:")[1].split(". ")[0]
        assert f"{excluding} of 32 intervals excluding zero" in part
        assert f"{positive} of 32 above zero" in part
        assert f"({bottom}) to " in part and part.split(" to ")[1].split(")")[0].endswith(top)
        assert f"verdicts: {described};" in part
        ranks = rows.sort_values(["estimate", "area_code"], ascending=[False, True])["area_code"].tolist()
        labelled = set(register.case_study_codes()) | {c for c in register.council_codes()
                                                       if register.name_of(c) == "North Lanarkshire"}
        positions = [ranks.index(c) + 1 for c in labelled]
        assert f"rank from {min(positions)} to {max(positions)}" in part
        assert f"{sum(p <= 16 for p in positions)} of them in the top half" in part


# --------------------------------------------------------------------------------------------
# the map


def test_map_outlines_the_case_studies_and_centres_its_colours_at_zero(table, glued):
    from analysis.pages import maps

    overview.gap_map_figure("fig-overview-map", table)
    got = glued["fig-overview-map"]
    assert got["bytes"] <= 200_000
    fig = got["fig"]
    bound = float(table["estimate"].abs().max())
    cmap = mpl.colormaps[overview.DIVERGING]
    labelled = sorted(set(register.case_study_codes()) | set(table.loc[table["group"] == common.GROUP_PILOT,
                                                                       "area_code"]))
    map_axes = [ax for ax in fig.axes if ax.patches]
    assert len(map_axes) == table["test_id"].nunique()
    for ax, (_, frame) in zip(map_axes, table.groupby("test_id", sort=False), strict=True):
        assert maps.highlighted(ax) == labelled
        values = frame.set_index("area_code")["estimate"]
        for patch in ax.patches:
            expected = cmap(0.5 + 0.5 * values[patch.get_gid()] / bound)
            assert mpl.colors.to_hex(patch.get_facecolor()) == mpl.colors.to_hex(expected)
    # the orange end is the largest gap, the purple end the most negative (a diverging scale)
    assert got["data"]["area_code"].tolist() == table["area_code"].tolist()
    top = table.loc[table.groupby("test_id")["estimate"].idxmax(), "area_name"]
    assert all(name in got["alt"] for name in top)


# --------------------------------------------------------------------------------------------
# the permutation tests


def test_permutation_table_rows_are_overviews(led):
    tests = ov.overview()
    shown = overview.tests_table(tests)
    display = overview.tests_display(shown)
    assert len(display) == len(tests) == 3 * len(tests.groupby(["test_id", "window_kind"]))
    assert shown["p_holm"].tolist() == verdicts.holm(tests["p_value"].tolist())
    for (_, row), (_, out) in zip(tests.iterrows(), display.iterrows(), strict=True):
        assert out["p"] == claims.fmt_p(row["p_value"])
        assert out["statistic"] == row["statistic_kind"]
        assert out["smallest attainable p"] == f"{row['min_p']:.2g}"
        assert f"{row['n_permutations']:,}" in out["how"]
        assert ("exact" in out["how"]) == bool(row["exact"])
        assert out["outcome"] == overview.short_title(row["outcome"])
        assert row["window"] in out["window"]
        if row["comparison"] == "case_study":
            assert out["value"].replace("−", "-").lstrip("+") == claims.fmt(row["difference"])
            assert row["groups"] == {ov.CASE_STUDY_OR_PILOT: 10, ov.REST: 22}
        else:
            assert out["value"] == claims.fmt(row["statistic"])
    values = overview.tests_values(shown)
    assert values["n-tests"] == str(len(tests))
    assert values["n-reject"] == str(int((tests["p_value"] <= settings.load()["attribution"]["alpha"]).sum()))
    assert values["n-perm"] == f"{settings.load()['attribution']['overview']['permutations']:,}"


def test_pool_table_is_the_summarys_alternative_rule():
    summary = ov.pool_robustness_summary()
    shown = overview.pool_display(summary)
    alternative = summary[summary["rule"] != "all"]
    assert len(shown) == len(alternative)
    assert shown["correlation with every donor"].tolist() == [f"{r:.2f}" for r in
                                                               alternative["correlation_with_default"]]
    assert shown["same decision"].tolist() == [f"{s:.0%}" for s in alternative["same_decision"]]


def test_attribution_page_glues_every_key_its_new_section_uses(glued):
    page = attribution.build()
    md = (BOOK / "attribution.md").read_text()
    section = md.split("(attribution-overview)=")[1].split("## The evidence ledger")[0]
    keys = set(re.findall(r"\{glue:text\}`([^`]+)`", section))
    assert keys and keys <= set(page.text)
    assert set(re.findall(r"\{glue:md\} (\S+)", section)) <= set(page.markdown)
    assert set(re.findall(r"\{glue:figure\} (\S+)", section)) == {"fig-overview-gaps", "fig-overview-map"} <= set(glued)
    for name in re.findall(r'page\.table\("([^"]+)"\)', section):
        assert name in page.tables
        assert page.tables.sources[name].startswith("analysis.pages.overview:")


# --------------------------------------------------------------------------------------------
# chapter 6: the claimant count


def test_claimant_prose_states_the_years_before_the_duty(outputs, glued, cfg):
    result = ch06.ch06(outputs)
    rows = outputs.panel[(outputs.panel["indicator"] == "claimant_count_pct_lad")
                         & (outputs.panel["area_type"] == register.COUNCIL)]
    before = sorted(y for y in rows["year"].unique() if y < int(cfg["events"]["duty"]))
    assert result.text["cc-n-pre"] == str(len(before))
    assert result.text["cc-pre-years"] == " and ".join(str(y) for y in before)
    assert result.text["cc-min-pre"] == str(cfg["its"]["min_pre_periods"])
    assert result.text["cc-duty"] == str(cfg["events"]["duty"])
    md = (BOOK / "ch06-aspirations.md").read_text()
    assert "only {glue:text}`cc-n-pre` years before the duty" in md
    assert "the published rates of Scotland (black) and of England and Wales (dashed)" in md
    keys = set(re.findall(r"\{glue:text\}`(cc-[^`]+)`", md))
    assert keys and keys <= set(result.text)
    got = glued["fig-ch06-claimants"]
    assert f"only {len(before)} years precede the duty" in got["alt"]
    data = got["data"]
    scot = data[data["series"] == "Scotland"].set_index("year")
    published = outputs.panel[(outputs.panel["indicator"] == "claimant_count_pct_nation")
                              & (outputs.panel["area_code"] == register.SCOTLAND_CODE)].set_index("year")["value"]
    assert np.allclose(scot["value"], published.loc[scot.index]), "Scotland's line is ONS's published rate"
    councils = rows.groupby("year")["value"].mean()
    assert np.allclose(scot.loc[councils.index, "mean_of_districts"], councils)
    assert data["area_code"].dropna().nunique() == 32
    # the sentence on the plain means follows the data: lower than the published rate on both sides in the
    # last year means the larger districts had the higher rates
    last = int(result.text["cc-last"])
    means = data[data["series"].isin(["Scotland", "England and Wales"])].set_index(["series", "year"])
    below = [means.at[(g, last), "mean_of_districts"] < means.at[(g, last), "value"]
             for g in ("Scotland", "England and Wales")]
    assert ("on both sides the larger districts" in result.text["cc-means"]) == all(below)


def test_claimant_figure_marks_the_duty_year(outputs, glued, cfg):
    ch06.ch06(outputs)
    fig = glued["fig-ch06-claimants"]["fig"]
    ax = fig.axes[0]
    verticals = [line for line in ax.get_lines() if np.allclose(line.get_xdata(), int(cfg["events"]["duty"]))]
    assert verticals


# --------------------------------------------------------------------------------------------
# no typed numbers in the new prose


def _digits(text: str) -> list[str]:
    return re.findall(r"\d[\d,.]*", prose(text))


def test_new_attribution_section_types_no_numbers():
    md = (BOOK / "attribution.md").read_text()
    section = md.split("(attribution-overview)=")[1].split("## The evidence ledger")[0]
    body = "\n".join(line for line in section.splitlines() if not line.startswith("#"))
    assert _digits(body) == []


def test_new_claimant_prose_types_no_numbers():
    md = (BOOK / "ch06-aspirations.md").read_text()
    section = md.split("**The claimant count.**")[1].split("**What can be attributed.**")[0]
    assert _digits(section) == []
    sys.path.insert(0, str(paths.ROOT / "tests" / "book"))
    from test_prose_numbers import typed_numbers

    assert typed_numbers(md) == []


def test_the_glued_figure_data_reads_back_as_csv(table, glued):
    overview.caterpillar_figure("fig-overview-gaps", table)
    csv = glued["fig-overview-gaps"]["data"].to_csv(index=False)
    back = pd.read_csv(io.StringIO(csv))
    assert len(back) == len(table) and "verdict" in back.columns and "group" in back.columns
