"""Boundaries, maps and the generated partnership profiles.

The boundary tests check the file's content against independent facts (the register's codes,
Scotland's and Highland's areas), the decoding against a small decoder of the TopoJSON arcs written
here, and that a tampered file fails with an error naming it. The map tests draw real maps and
check patches, outlines and PNG sizes. The profile tests generate the 33 pages into a temporary
folder and read them as text; the twin tests check each page's synthetic-twin section against the
evidence ledger read directly (not through the profile facts), and every figure's CSV against what
it draws; the last test reads the built HTML and is skipped until the book has been built.
"""

from __future__ import annotations

import hashlib
import html
import importlib
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import pytest

from analysis import paths, settings
from analysis.data import geo, register
from analysis.errors import ChecksumError, ParseError, UnknownAreaError
from analysis.pages import figures, maps
from analysis.pages.profiles import facts, render

SCOTLAND_KM2 = 78_809
HIGHLAND_KM2 = 26_162
HIGHLAND = "S12000017"
#: A PNG at the house DPI should stay under this many bytes.
MAX_PNG = 150_000
#: A profile page with its images should stay under this many bytes.
MAX_PAGE = 1_500_000


# --------------------------------------------------------------------------------------------
# boundaries


@pytest.fixture(scope="module")
def bounds():
    return geo.boundaries()


def test_boundaries_are_the_32_councils_with_current_codes(bounds):
    assert len(bounds) == 32
    assert list(bounds["area_code"]) == list(register.council_codes())
    assert bounds["area_code"].is_unique
    # the four councils recoded since 2013 carry their current codes
    assert {"S12000047", "S12000048", "S12000049", "S12000050"} <= set(bounds["area_code"])
    assert not {"S12000015", "S12000024", "S12000044", "S12000046"} & set(bounds["area_code"])
    assert list(bounds["area_name"]) == [register.name_of(c) for c in bounds["area_code"]]
    assert bounds.crs.to_epsg() == 4326


def test_boundaries_are_valid_polygons(bounds):
    assert bounds.is_valid.all()
    assert set(bounds.geom_type) <= {"Polygon", "MultiPolygon"}
    assert not bounds.is_empty.any()


def test_areas_match_scotland_and_highland(bounds):
    km2 = bounds.to_crs(geo.CRS_BNG).set_index("area_code").area / 1e6
    assert km2.sum() == pytest.approx(SCOTLAND_KM2, rel=0.01)
    assert km2[HIGHLAND] == pytest.approx(HIGHLAND_KM2, rel=0.01)
    assert geo.areas_km2()[HIGHLAND] == pytest.approx(km2[HIGHLAND])


def test_gdal_reads_topojson():
    """The installed GDAL has a TopoJSON reader (geo.py depends on it)."""
    assert "r" in pyogrio.list_drivers().get("TopoJSON", "")


def _decode_arc_points(topo: dict) -> np.ndarray:
    """Every arc point in lon/lat: quantised positions are delta-encoded, then scaled and translated."""
    scale = np.asarray(topo["transform"]["scale"])
    translate = np.asarray(topo["transform"]["translate"])
    return np.vstack([np.cumsum(np.asarray(arc, dtype=float), axis=0) * scale + translate for arc in topo["arcs"]])


def test_decoding_agrees_with_an_independent_decoder(bounds):
    topo = json.loads((paths.RAW / geo.BOUNDARY_FILE).read_text())
    points = _decode_arc_points(topo)
    lo, hi = points.min(axis=0), points.max(axis=0)
    assert np.allclose(bounds.total_bounds, [lo[0], lo[1], hi[0], hi[1]], atol=1e-6)
    # and a point inside Highland's decoded bounds lies in Highland's geometry
    highland = bounds.set_index("area_code").geometry[HIGHLAND]
    assert highland.contains(highland.representative_point())


def _tamper(raw_copy: Path, edit) -> Path:
    """Edit the copied TopoJSON with ``edit(topo)`` and record its new checksum."""
    target = raw_copy / geo.BOUNDARY_FILE
    topo = json.loads(target.read_text())
    edit(topo)
    target.write_text(json.dumps(topo))
    digest = hashlib.sha256(target.read_bytes()).hexdigest()
    sums = raw_copy / "SHA256SUMS"
    lines = [f"{digest}  ./{geo.BOUNDARY_FILE}" if line.endswith(geo.BOUNDARY_FILE) else line
             for line in sums.read_text().splitlines()]
    sums.write_text("\n".join(lines) + "\n")
    return target


def test_dropped_feature_raises_parse_error_naming_the_file(raw_copy):
    _tamper(raw_copy, lambda t: t["objects"]["lad"]["geometries"].pop(3))
    with pytest.raises(ParseError, match=r"martinjc_sco_topo_lad\.json.*found 31; missing") as info:
        geo.council_boundaries(raw_copy)
    assert info.value.file == "martinjc_sco_topo_lad.json"


def test_bad_code_raises_unknown_area_error_naming_the_file(raw_copy):
    def edit(topo):
        topo["objects"]["lad"]["geometries"][0]["properties"]["LAD13CD"] = "S12999999"

    _tamper(raw_copy, edit)
    with pytest.raises(UnknownAreaError, match=r"martinjc_sco_topo_lad\.json.*S12999999") as info:
        geo.council_boundaries(raw_copy)
    assert info.value.file == "martinjc_sco_topo_lad.json"


@pytest.mark.parametrize("edit, message", [
    (lambda t: t["objects"].update(other=t["objects"]["lad"]), "exactly one object"),
    (lambda t: t["objects"].update(councils=t["objects"].pop("lad")), "exactly one object"),
    (lambda t: t["objects"]["lad"]["geometries"][5]["properties"].pop("LAD13NM"), "feature 6 has properties"),
    (lambda t: t["objects"]["lad"]["geometries"][1].update(
        properties=dict(t["objects"]["lad"]["geometries"][0]["properties"])), "features 1 and 2 are both"),
    (lambda t: t["objects"]["lad"].update(crs={"type": "name", "properties": {"name": "EPSG:27700"}}),
     "unexpected CRS"),
])
def test_unexpected_layout_raises_parse_error(raw_copy, edit, message):
    _tamper(raw_copy, edit)
    with pytest.raises(ParseError, match=message) as info:
        geo.council_boundaries(raw_copy)
    assert info.value.file == "martinjc_sco_topo_lad.json"


def test_name_disagreeing_with_code_is_an_error(raw_copy):
    def edit(topo):
        topo["objects"]["lad"]["geometries"][0]["properties"]["LAD13NM"] = "Fife"

    _tamper(raw_copy, edit)
    with pytest.raises(UnknownAreaError, match="Clackmannanshire but name 'Fife'"):
        geo.council_boundaries(raw_copy)


def test_changed_file_fails_its_checksum(raw_copy):
    target = raw_copy / geo.BOUNDARY_FILE
    target.write_text(target.read_text().replace("Highland", "Hielands"))
    with pytest.raises(ChecksumError, match="martinjc_sco_topo_lad.json"):
        geo.council_boundaries(raw_copy)


# --------------------------------------------------------------------------------------------
# maps


def _facecolours(ax) -> dict[str, str]:
    import matplotlib as mpl

    return {p.get_gid(): mpl.colors.to_hex(p.get_facecolor()) for p in ax.patches
            if str(p.get_gid()).startswith("S12")}


def test_choropleth_continuous_draws_32_patches_and_outlines_the_highlight():
    values = geo.areas_km2()
    highlight = register.case_study_codes()
    fig, ax = maps.choropleth(values, title="Area", label="km²", highlight=highlight)
    patches = [p for p in ax.patches if str(p.get_gid()).startswith("S12")]
    assert len(patches) == 32
    assert sorted(p.get_gid() for p in patches) == sorted(register.council_codes())
    assert maps.highlighted(ax) == sorted(highlight)
    assert len(fig.axes) == 2  # the map and its colour bar
    assert not ax.axison
    colours = _facecolours(ax)
    assert colours[HIGHLAND] != colours["S12000005"]  # the largest and a small council differ
    size = len(figures.png_bytes(fig))
    assert size <= MAX_PNG, f"continuous map PNG is {size:,} bytes"


def test_choropleth_categorical_uses_okabe_ito_and_a_legend():
    status = facts.status_frame()
    fig, ax = maps.choropleth(status, title="Status", label="Part", categorical=True,
                              highlight=register.pilot_codes())
    colours = _facecolours(ax)
    assert len(colours) == 32
    assert set(colours.values()) <= {c.lower() for c in figures.OKABE_ITO}
    assert len(set(colours.values())) == 3
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[:3] == ["case study", "pilot", "neither"]
    assert maps.highlighted(ax) == list(register.pilot_codes())
    assert len(fig.axes) == 1  # no colour bar
    assert len(figures.png_bytes(fig)) <= MAX_PNG


def test_choropleth_missing_values_are_grey_and_unknown_codes_fail():
    values = geo.areas_km2().drop(HIGHLAND)
    fig, ax = maps.choropleth(values, title="Area", label="km²")
    assert _facecolours(ax)[HIGHLAND] == maps.NO_DATA.lower()
    assert "no data" in [t.get_text() for t in ax.get_legend().get_texts()]
    figures.png_bytes(fig)
    with pytest.raises(UnknownAreaError):
        maps.choropleth(pd.Series({"S12000015": 1.0}), title="x", label="x")  # a 2013 code
    with pytest.raises(UnknownAreaError):
        maps.choropleth(values, title="x", label="x", highlight=["S99999999"])


def test_shade_colours_councils_on_a_given_scale_for_side_by_side_maps():
    import matplotlib as mpl

    values = pd.Series({HIGHLAND: -0.2, "S12000005": 0.1})
    norm = mpl.colors.TwoSlopeNorm(vmin=-0.2, vcenter=0.0, vmax=0.2)
    cmap = mpl.colormaps["PuOr_r"]
    fig, axes = figures.new_figure(ncols=2)
    maps.shade(axes[0], values, norm=norm, cmap=cmap, highlight=["S12000005"])
    maps.shade(axes[1], -values, norm=norm, cmap=cmap)
    left, right = _facecolours(axes[0]), _facecolours(axes[1])
    assert len(left) == len(right) == 32
    assert left[HIGHLAND] != left["S12000005"]          # the two ends of one scale
    assert left[HIGHLAND] == mpl.colors.to_hex(cmap(norm(-0.2)))
    assert right[HIGHLAND] == mpl.colors.to_hex(cmap(norm(0.2)))
    assert left["S12000006"] == maps.NO_DATA.lower()   # no value: grey
    assert maps.highlighted(axes[0]) == ["S12000005"] and maps.highlighted(axes[1]) == []
    assert len(fig.axes) == 2   # no colour bar of its own
    figures.png_bytes(fig)
    with pytest.raises(UnknownAreaError):
        maps.shade(axes[0], pd.Series({"S12000015": 1.0}), norm=norm, cmap=cmap)


def test_small_islands_survive_simplification():
    drawn = geo.drawing_boundaries(maps.TOLERANCE).set_index("area_code")
    full = geo.boundaries().to_crs(geo.CRS_BNG).set_index("area_code")
    for code in ("S12000027", "S12000023", "S12000013"):  # Shetland, Orkney, the Western Isles
        n_full = len(getattr(full.geometry[code], "geoms", [full.geometry[code]]))
        n_drawn = len(getattr(drawn.geometry[code], "geoms", [drawn.geometry[code]]))
        assert n_drawn == n_full
    assert drawn.area.sum() / 1e6 == pytest.approx(SCOTLAND_KM2, rel=0.01)


def test_locator_colours_one_council_and_rings_small_ones():
    fig, ax = maps.locator("S12000005", title="Clackmannanshire")
    colours = _facecolours(ax)
    strong = {c for c in colours.values() if c != maps.BASE_GREY.lower()}
    assert [k for k, v in colours.items() if v in strong] == ["S12000005"]
    assert "ring-S12000005" in [p.get_gid() for p in ax.patches]
    assert len(figures.png_bytes(fig)) <= MAX_PNG
    fig, ax = maps.locator(HIGHLAND, title="Highland")
    assert "ring-S12000017" not in [p.get_gid() for p in ax.patches]
    figures.png_bytes(fig)


def test_map_credit_follows_the_licence_files():
    files = ("martinjc_licence.txt", "martinjc_licence.ons.md")
    licences = " ".join((paths.RAW / "geo" / f).read_text() for f in files)
    assert "Creative Commons Attribution 4.0" in licences and "CC BY 4.0" in maps.MAP_CREDIT
    assert "Martin Chorley" in licences and "Martin Chorley" in maps.MAP_CREDIT
    assert "Crown copyright and database right" in licences and "Crown copyright and database right" in maps.MAP_CREDIT
    assert "Open Government Licence" in licences and "Open Government Licence" in maps.MAP_CREDIT


# --------------------------------------------------------------------------------------------
# profiles: the generated markdown


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("profiles")
    render.write_profiles(out)
    return out


def test_slugs():
    assert facts.slug("S12000036") == "city-of-edinburgh"
    assert facts.slug("S12000013") == "na-h-eileanan-siar"
    assert facts.slug("S12000048") == "perth-and-kinross"


def test_thirty_two_pages_and_an_index(pages):
    files = sorted(p.name for p in pages.glob("*.md"))
    expected = sorted(f"{facts.slug(c)}.md" for c in register.council_codes())
    assert files == sorted([*expected, "index.md"])


def test_each_page_names_its_own_council_and_code(pages):
    reg = register.load_register()
    for rec in reg.itertuples(index=False):
        text = (pages / f"{facts.slug(rec.code)}.md").read_text()
        assert f"({f'profile-{rec.code}'})=\n# {rec.name}\n" in text
        assert not text.startswith("---"), "a generated page has no notebook front matter"
        assert "{code-cell}" not in text and "{glue" not in text, "every value is filled in when the page is written"
        assert f"Its council area code is {rec.code}." in text
        for fig in ("locator", "outcomes", "inequality", "twin"):
            assert f":name: fig-{rec.code}-{fig}\n" in text
            assert (pages / "figures" / f"{facts.slug(rec.code)}-{fig}.png").stat().st_size > 0
        assert f'aria-label="Evidence ledger rows about {html.escape(rec.name)}"' in text
        others = [c for c in reg["code"] if c != rec.code]
        assert not any(c in text for c in others), f"{rec.name}'s page mentions another council's code"
        cite = "{cite:p}`stevenson2002{executive summary, para 2}`"
        assert cite in text
        if rec.case_study:
            assert "case-study partnerships whose members the report interviewed" in text
        elif rec.pilot:
            assert "the pilot exercise" in text and "was not one of the report's case studies" in text
        else:
            assert "neither one of the report's case-study partnerships nor the site of its pilot" in text


def test_each_page_holds_its_partnerships_own_facts(pages):
    for code in ("S12000036", "S12000049", "S12000013"):
        text = (pages / f"{facts.slug(code)}.md").read_text()
        values = facts.profile_facts(code)
        for key in ("population", "population-year", "area-km2", "alcohol-sentence", "ledger-sentence"):
            assert values[key] in text, (code, key)


def test_fill_refuses_a_key_the_facts_do_not_give():
    assert render.fill("had {glue:text}`population` people", {"population": "5,000"}) == "had 5,000 people"
    with pytest.raises(KeyError, match="nonsense"):
        render.fill("{glue:text}`nonsense`", {"population": "5,000"})


def test_index_lists_every_page_and_marks_case_studies(pages):
    text = (pages / "index.md").read_text()
    for code in register.council_codes():
        line = next(x for x in text.splitlines() if x.startswith(f"- {{doc}}`{facts.slug(code)}`"))
        if code in register.case_study_codes():
            assert line.endswith("(case study)")
        elif code in register.pilot_codes():
            assert line.endswith("(pilot)")
        else:
            assert line.endswith("`")


FENCE = re.compile(r"^(`{3,}|:{3,})")
ROLE = re.compile(r"\{[a-z:]+\}`[^`]*`")


def prose_lines(text: str) -> list[str]:
    """A page template's prose: without labels, directives and their options, raw HTML and roles."""
    out, in_raw = [], False
    for line in text.splitlines():
        if line.startswith("```{raw}"):
            in_raw = True
            continue
        if in_raw:
            in_raw = not line.startswith("```")
            continue
        if re.match(r"^\([^)]*\)=$", line) or FENCE.match(line) or re.match(r"^:[a-z-]+:", line):
            continue
        out.append(ROLE.sub("", line))
    return out


@pytest.mark.parametrize("code", ["S12000036", "S12000005", "S12000050", "S12000027"])
def test_no_typed_digits_in_the_templates(code):
    """Every number on a profile comes from its facts: the templates, before they are filled, type none
    (the twin section and the provenance lines included)."""
    figs = {name: ("figures/x.png", "alt", "figures/x.csv") for name in render.MAKERS}
    page = render.page_text(code, figs)
    assert "## Against its own synthetic twin" in page and "{glue:text}`twin-gdhi-gap`" in page
    assert 'class="cpp-source"' in page
    for template in (page, render.index_text({"map": ("figures/x.png", "alt", "figures/x.csv")})):
        for line in prose_lines(template):
            assert not re.search(r"\d", line), f"typed number in {line!r}"


def test_prose_check_would_catch_a_typed_number():
    text = "(profile-S12000036)=\n# X\n\nIt had 500 people {glue:text}`pop`.\n"
    assert any(re.search(r"\d", line) for line in prose_lines(text))


def test_write_profiles_removes_stale_pages(tmp_path):
    (tmp_path / "old-council.md").write_text("# gone")
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "old-council-locator.png").write_bytes(b"x")
    (tmp_path / "figures" / "old-council-locator.csv").write_text("x\n")
    render.write_profiles(tmp_path)
    assert not (tmp_path / "old-council.md").exists()
    assert not (tmp_path / "figures" / "old-council-locator.png").exists()
    assert not (tmp_path / "figures" / "old-council-locator.csv").exists()
    assert len(list(tmp_path.glob("*.md"))) == 33
    n_figures = 32 * len(render.MAKERS) + 1
    assert len(list((tmp_path / "figures").glob("*.png"))) == n_figures
    assert len(list((tmp_path / "figures").glob("*.csv"))) == n_figures


def test_write_profiles_skips_work_when_nothing_changed(pages, monkeypatch):
    before = {p.name: p.stat().st_mtime_ns for p in pages.glob("*.md")}
    monkeypatch.setattr(render, "partnership_page", lambda *a: pytest.fail("a page was made again"))
    render.write_profiles(pages)
    assert {p.name: p.stat().st_mtime_ns for p in pages.glob("*.md")} == before


# --------------------------------------------------------------------------------------------
# profiles: the numbers and figures


def _latest_population(p: pd.DataFrame, code: str) -> tuple[int, float]:
    rows = p[(p["indicator"] == "population") & (p["breakdown"] == "all") & (p["area_code"] == code)]
    last = rows.sort_values("year").iloc[-1]
    return int(last["year"]), float(last["value"])


def test_population_facts_match_the_panel(outputs):
    for code in ("S12000036", "S12000027", "S12000042"):
        year, value = _latest_population(outputs.panel, code)
        got = facts.population_facts(code)
        assert got["population"] == f"{value:,.0f}"
        assert got["population-year"] == str(year)


def test_outcome_sentence_matches_the_panel(outputs):
    p = outputs.panel
    rows = p[(p["indicator"] == "alcohol_specific_death_rate_pooled") & (p["breakdown"] == "all")]
    code = "S12000049"
    own = rows[rows["area_code"] == code].set_index("period")["value"]
    scot = rows[rows["area_code"] == register.SCOTLAND_CODE].set_index("period")["value"]
    last = own.index.max()
    got = facts.outcome_facts(code, facts.OUTCOMES[0])
    assert got["period"] == last
    assert got["latest"] == f"{own[last]:,.1f}" and got["scotland"] == f"{scot[last]:,.1f}"
    assert (own > scot.reindex(own.index)).all()  # Glasgow above Scotland in every window ...
    assert f"above Scotland in every period from {own.index.min()} to {last}" in got["alt"]  # ... and says so


def test_family_average_is_the_mean_of_the_group(outputs):
    p = outputs.panel
    reg = register.load_register().set_index("code")
    code = "S12000036"
    group = reg.index[reg[facts.FAMILY_COLUMN] == reg.at[code, facts.FAMILY_COLUMN]]
    rows = p[(p["indicator"] == "employment_rate") & (p["breakdown"] == "all") & p["area_code"].isin(group)]
    frame = facts.comparison(code, "employment_rate")
    assert frame.loc["2015", "family"] == pytest.approx(rows[rows["period"] == "2015"]["value"].mean())


def test_ledger_rows_are_the_partnerships_own(outputs):
    from analysis.attribution import ledger

    full = ledger.ledger()
    for code in ("S12000049", "S12000017"):
        rows = facts.ledger_rows(code)
        own = rows[rows["scope"] == "this partnership"]
        assert sorted(own["claim_id"]) == sorted(full.loc[full["area_code"] == code, "claim_id"])
        itl3 = register.split_list(register.load_register().set_index("code").at[code, "itl3_codes"])
        assert set(rows.loc[rows["scope"] != "this partnership", "area_code"]) <= set(itl3)
        assert len(facts.ledger_table(code)) == len(rows)


@pytest.mark.parametrize("code", ["S12000049", "S12000023"])
def test_profile_figures_state_findings_and_stay_small(code):
    for make in render.MAKERS.values():
        fig, alt, _ = make(code)
        assert register.name_of(code) in alt and re.search(r"\d", alt)
        size = len(figures.png_bytes(fig))
        assert size <= MAX_PNG, f"{make.__name__}({code}) PNG is {size:,} bytes"


def test_period_midpoints():
    assert facts.period_mid("2005") == 2005.5
    assert facts.period_mid("2005/06") == 2005.75
    assert facts.period_mid("2002-2004") == 2003.5
    assert facts.period_mid("2002/03-2004/05") == 2003.75


# --------------------------------------------------------------------------------------------
# profiles: the synthetic twin, against the ledger read directly


TWIN_HEADING = "## Against its own synthetic twin"


def _section(text: str, heading: str) -> str:
    """The text from ``heading`` to the next heading of the same or a higher level."""
    level = heading.split(" ")[0]
    start = text.index(heading + "\n")
    rest = text[start + len(heading):]
    stops = [m.start() for m in re.finditer(rf"^#{{1,{len(level)}}} ", rest, re.M)]
    return heading + (rest[:stops[0]] if stops else rest)


def _twin_subsection(text: str, twin) -> str:
    section = _section(text, TWIN_HEADING)
    return _section(section, f"### {twin.phrase[0].upper() + twin.phrase[1:]}")


def _claim(twin, code: str) -> str:
    return f"{twin.test_id}:primary:{code}"


@pytest.fixture(scope="module")
def ledger_rows():
    from analysis.attribution import ledger

    return ledger.ledger().set_index("claim_id")


@pytest.fixture(scope="module")
def twin_details():
    """Each twin's design result details, from the ledger's results (read once)."""
    from analysis.attribution import ledger
    from analysis.attribution.base import DesignResult

    wanted = {_claim(tw, c) for tw in facts.TWINS for c in register.council_codes()}
    return {job.claim_id: res.details for job, res in ledger.results()
            if job.claim_id in wanted and isinstance(res, DesignResult)}


def test_the_twin_tests_are_in_the_ledger_for_every_partnership(ledger_rows, twin_details):
    for twin in facts.TWINS:
        for code in register.council_codes():
            row = ledger_rows.loc[_claim(twin, code)]
            assert row["design"] == "synth" and row["window_kind"] == "primary" and row["area_code"] == code
            assert _claim(twin, code) in twin_details


def test_every_page_has_a_twin_section_with_both_outcomes_as_in_the_ledger(pages, ledger_rows):
    from analysis.pages import claims

    labels = claims.labels()
    level = int(round(100 * (1 - float(settings.load()["attribution"]["alpha"]))))
    for code in register.council_codes():
        text = (pages / f"{facts.slug(code)}.md").read_text()
        section = _section(text, TWIN_HEADING)
        assert f":name: fig-{code}-twin\n" in section
        assert "### The claimant count" in section
        for twin in facts.TWINS:
            sub = _twin_subsection(text, twin)
            row = ledger_rows.loc[_claim(twin, code)]
            assert f"was {claims.fmt(row['estimate'])} log points" in sub, (code, twin.key)
            assert f"{level}% interval {claims.interval(row['ci_low'], row['ci_high'])})" in sub, (code, twin.key)
            assert f"minimum detectable effect, is {claims.fmt(row['mde'])} log points" in sub
            assert f"p = {claims.fmt_p(row['p_value'])} (" in sub
            chosen = settings.load()["attribution"]["multiplicity"]["verdict_p"]
            if chosen != "raw":
                assert f"the p-value the verdict uses: {claims.fmt_p(row[f'p_{chosen}'])});" in sub
            assert f"placebos allow is {claims.fmt_p(row['min_p'])}." in sub
            assert f"Ledger verdict: **{labels[row['verdict_key']]}** — {claims.short_reason(row).rstrip('.')}." in sub
            fit = next(c for c in row["assumption_checks"].split("; ") if c.startswith("good pre-period fit"))
            assert ("The pre-duty fit passed" in sub) == fit.endswith("holds"), (code, twin.key, fit)


def _donor_rows(sub: str, label: str) -> list[list[str]]:
    table = re.search(r'<table[^>]*aria-label="' + re.escape(html.escape(label)) + r'".*?</table>', sub, re.S)
    assert table is not None, label
    body = table.group(0).split("<tbody>")[1]
    return [[html.unescape(re.sub(r"<[^>]+>", "", c)) for c in re.findall(r"<td[^>]*>.*?</td>", tr)]
            for tr in re.findall(r"<tr>(.*?)</tr>", body)]


def test_donor_tables_are_the_ledgers_positive_weights_by_name(pages, twin_details):
    from analysis.data import districts

    gb = districts.table()
    by_name = gb.set_index("name")
    assert by_name.index.is_unique
    for code in register.council_codes():
        text = (pages / f"{facts.slug(code)}.md").read_text()
        name = register.name_of(code)
        for twin in facts.TWINS:
            weights = {k: v for k, v in twin_details[_claim(twin, code)]["weights"].items() if v > 0}
            rows = _donor_rows(_twin_subsection(text, twin), f"Donors of {facts.possessive(name)} synthetic twin: "
                                                            f"{twin.phrase}")
            shown = {by_name.at[r[0], "code"]: float(r[3]) for r in rows}  # every name resolves to a district
            assert set(shown) == set(weights), (code, twin.key)
            for donor, w in weights.items():
                assert shown[donor] == pytest.approx(w, abs=5e-4, rel=1e-2), (code, donor)
            for r in rows:
                assert [r[1], r[2]] == [by_name.at[r[0], "region_name"], by_name.at[r[0], "country"]]
                assert not by_name.at[r[0], "code"].startswith("S"), "a Scottish council among the donors"
            assert sum(weights.values()) == pytest.approx(1, abs=1e-6)
            assert sum(shown.values()) == pytest.approx(1, abs=5e-4 * len(shown))
            assert list(shown.values()) == sorted(shown.values(), reverse=True)
            assert f"mix of {facts.in_words(len(weights))} of the" in _twin_subsection(text, twin)


@pytest.mark.parametrize("code", ["S12000014", "S12000027", "S12000013"])
def test_twin_figure_states_the_gap_and_its_csv_holds_the_paths(pages, code, ledger_rows, twin_details):
    from analysis.pages import claims

    fig, alt, _ = render.twin_figure(code)
    name = register.name_of(code)
    assert alt.startswith(f"Two line charts of {name} ")
    data = pd.read_csv(pages / "figures" / f"{facts.slug(code)}-twin.csv")
    for twin in facts.TWINS:
        row = ledger_rows.loc[_claim(twin, code)]
        gap = claims.fmt(abs(row["estimate"]))
        side = "above" if row["estimate"] > 0 else "below"
        assert f"{facts.possessive(name)} {twin.phrase} ran {gap} log points {side} its synthetic twin" in alt
        assert claims.interval(row["ci_low"], row["ci_high"]) in alt and row["verdict"] in alt
        panel = data[data["panel"] == twin.phrase[0].upper() + twin.phrase[1:]]
        details = twin_details[_claim(twin, code)]
        for series, key in ((name, "actual"), ("synthetic twin", "synthetic")):
            got = panel[panel["series"] == series].set_index("x")["y"]
            want = pd.Series(details[key]).sort_index()
            assert list(got.index.astype(int)) == list(want.index)
            assert np.allclose(got.to_numpy(), want.to_numpy(), rtol=1e-9)


def test_donor_pool_sentence_reports_the_other_rules(pages, twin_details):
    from analysis.pages import claims

    for code in ("S12000014", "S12000033"):
        text = (pages / f"{facts.slug(code)}.md").read_text()
        for twin in facts.TWINS:
            pools = twin_details[_claim(twin, code)]["donor_pools"]
            assert pools[0]["rule"] == "all" and len(pools) >= 2
            sub = _twin_subsection(text, twin)
            for alt in pools[1:]:
                assert f"With {alt['label']} as the donor pool" in sub
                assert f"the gap is {claims.fmt(alt['estimate'])} log points" in sub
                assert f"against {claims.fmt(pools[0]['estimate'])}" in sub
                same = (alt["p_value"] < 0.05) == (pools[0]["p_value"] < 0.05) and \
                    alt["pre_fit_ok"] == pools[0]["pre_fit_ok"]
                assert ("is the same under both rules" in sub) == same


def test_claimant_sentence_states_the_pre_years_and_the_rates(pages):
    from analysis.attribution import descriptive

    c = descriptive.claimant_count()
    assert c.n_pre_event_years == len([y for y in c.pre_event_years if y < c.event])
    nat = c.national.set_index(["group", "year"])["published"]
    for code in ("S12000014", "S12000049"):
        sub = _section(_section((pages / f"{facts.slug(code)}.md").read_text(), TWIN_HEADING),
                       "### The claimant count")
        own = c.councils[c.councils["area_code"] == code].set_index("year")["value"]
        assert f"so it has {facts.in_words(c.n_pre_event_years)} year" in sub
        assert "cannot support attribution" in sub and not c.supports_attribution
        assert f"was {own[c.first_year]:.1f}% of residents" in sub and f"and {own[c.last_year]:.1f}% in" in sub
        for group in ("Scotland", "Great Britain"):
            assert f"{nat[(group, c.first_year)]:.1f}% and {nat[(group, c.last_year)]:.1f}% for {group}" in sub
        assert "as ONS publishes them" in sub and "mean of" not in sub


def test_index_counts_the_twins_verdicts(pages, ledger_rows):
    from analysis.pages import claims

    text = (pages / "index.md").read_text()
    labels = claims.labels()
    for twin in facts.TWINS:
        rows = ledger_rows[ledger_rows.index.str.startswith(f"{twin.test_id}:primary:")]
        assert len(rows) == len(register.council_codes())
        part = text[text.index(f"twins for {twin.phrase},"):].split(";")[0]
        for key, n in rows["verdict_key"].value_counts().items():
            assert f"{n} “{labels[key]}”" in part.replace("have the verdict ", "")


def test_every_png_has_its_plotted_data_beside_it(pages):
    pngs = sorted((pages / "figures").glob("*.png"))
    assert len(pngs) == 32 * len(render.MAKERS) + 1
    for png in pngs:
        data = pd.read_csv(png.with_suffix(".csv"))
        assert len(data) > 0, png.name
    code = "S12000049"
    stem = pages / "figures" / facts.slug(code)
    locator = pd.read_csv(f"{stem}-locator.csv")
    assert list(locator.loc[locator["highlighted"], "area_code"]) == [code]
    outcomes = pd.read_csv(f"{stem}-outcomes.csv")
    frame = facts.comparison(code, facts.OUTCOMES[0].indicator)
    got = outcomes[outcomes["series"] == register.name_of(code)].groupby("panel").size()
    assert len(got) == len(facts.OUTCOMES)
    first = outcomes[(outcomes["panel"] == outcomes["panel"].iloc[0]) & (outcomes["series"] == register.name_of(code))]
    assert np.allclose(first["y"].to_numpy(), frame["council"].dropna().to_numpy())
    sii = pd.read_csv(f"{stem}-inequality.csv")
    assert {"sii", "sii_lowci", "sii_upci"} <= set(sii.columns) and set(sii["area"]) == {register.name_of(code),
                                                                                          "Scotland"}


def test_every_figure_and_table_has_a_provenance_line(pages):
    depth = len(facts.OUT_DIR.relative_to(paths.ROOT).parts)
    mark = re.compile(r'Made by <a class="cpp-source" data-cpp-source="([\w.]+):(\w+)" href="([^"]+)">')
    for page in sorted(pages.glob("*.md")):
        text = page.read_text()
        figures_ = re.findall(r"^````\{figure\} (\S+)\n(.*?)^````$", text, re.S | re.M)
        assert len(figures_) == (1 if page.stem == "index" else len(render.MAKERS))
        for png, body in figures_:
            assert "```{rst-class} cpp-provenance\n```" in body
            module, name, href = mark.search(body).groups()
            assert callable(getattr(importlib.import_module(module), name))
            assert href == "../" * depth + f"_modules/{module.replace('.', '/')}.html#{name}"
            csv = re.search(r"\{download\}`plotted data \(CSV\) <([^>]+)>`", body).group(1)
            assert csv == png.replace(".png", ".csv") and (pages / csv).exists()
        if page.stem != "index":
            makers = [m.group(2) for m in mark.finditer(text)]
            assert makers.count("twin_donors") == len(facts.TWINS) and makers.count("ledger_table") == 1


def test_a_twin_that_could_not_run_gets_a_sentence_not_a_crash(monkeypatch):
    code = "S12000014"
    real = facts.twin_row

    def broken(c, twin):
        row = real(c, twin)
        if twin.key != "gdp":
            return row
        return {"claim_id": row["claim_id"], "ran": False, "unit": "", "ledger": None,
                "error": "fewer than two pre-event years"}

    monkeypatch.setattr(facts, "twin_row", broken)
    facts.twin_facts.cache_clear()
    try:
        values = facts.twin_page_facts(code)
        assert "could not be run: fewer than two pre-event years." in values["twin-gdp-gap"]
        assert values["twin-gdhi-estimate"]  # the other outcome is unaffected
        fig, alt, _ = render.twin_figure(code)
        assert "has no synthetic twin" in alt
        figures.png_bytes(fig)
        figs = {name: ("figures/x.png", "alt text for a test figure", "figures/x.csv") for name in render.MAKERS}
        text = render.page_text(code, figs)
        assert text.count("Donors of ") == 1  # no donor table for the twin that did not run
    finally:
        facts.twin_facts.cache_clear()


# --------------------------------------------------------------------------------------------
# the built book


def _page_text(html: str) -> str:
    main = re.search(r"<main.*?</main>", html, re.S)
    text = re.sub(r"<script.*?</script>", "", main.group(0) if main else html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text)).replace("&amp;", "&")


@pytest.mark.book
def test_built_profiles_show_their_own_values(outputs):
    built = paths.ROOT / "_build" / "html" / "book" / "profiles"
    pages = {p.stem: p for p in built.glob("*.html")}
    assert "index" in pages
    assert len(pages) == 33, sorted(pages)
    reg = register.load_register()
    for rec in reg.itertuples(index=False):
        page = pages[facts.slug(rec.code)]
        html = page.read_text(encoding="utf-8")
        text = _page_text(html)
        year, value = _latest_population(outputs.panel, rec.code)
        assert f"<h1>{rec.name}" in html
        assert rec.code in text
        assert f"{rec.name} had {value:,.0f} residents in {year}" in text, rec.name
        images = re.findall(r'<img [^>]*src="([^"]+)"', html)
        assert len(images) == len(render.MAKERS)
        size = len(html.encode()) + sum((page.parent / src).resolve().stat().st_size for src in images)
        assert size <= MAX_PAGE, f"{page.name}: {size:,} bytes with images"
        for alt in re.findall(r'<img [^>]*alt="([^"]*)"', html):
            assert re.search(r"\d", alt), f"{page.name}: alt text states no finding: {alt!r}"
        assert "Against its own synthetic twin" in text


@pytest.mark.book
def test_built_profile_figures_link_to_their_maker_and_offer_their_data():
    """As on the executed pages: under every figure, a link to its maker's source page (which exists
    and has the function's anchor) and a CSV download that holds rows."""
    from bs4 import BeautifulSoup

    built = paths.ROOT / "_build" / "html" / "book" / "profiles"
    checked = 0
    for page in sorted(built.glob("*.html")):
        soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
        for figure in soup.find_all("figure"):
            line = figure.find(class_="cpp-provenance")
            assert line is not None, f"{page.name}: figure {figure.get('id')} has no provenance line"
            link = line.find("a", class_="cpp-source")
            target, _, anchor = link["href"].partition("#")
            source = (page.parent / target).resolve()
            assert source.exists(), f"{page.name}: {link['href']}"
            assert BeautifulSoup(source.read_text(encoding="utf-8"), "html.parser").find(id=anchor) is not None
            download = line.find("a", class_="download")
            data = (page.parent / download["href"]).resolve()
            assert len(pd.read_csv(data)) > 0, f"{page.name}: {download['href']} holds no rows"
            checked += 1
    assert checked == 32 * len(render.MAKERS) + 1
