"""The house style's record of each figure: the data it plots and the function that made it."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from analysis.pages import figures
from analysis.pages.common import PageResult


def _figure():
    fig, (left, right) = figures.new_figure(ncols=2)
    left.plot([2000, 2001, 2002], [1.0, 2.0, 3.5], label="Scotland")
    left.plot([], [], label="legend only")          # a legend handle plots nothing
    left.axvline(2001, color="black")               # a reference line, in axes coordinates
    left.axvspan(2000.5, 2001.5, alpha=0.1)         # a shaded span
    left.errorbar([1, 2], [3.0, 4.0], yerr=[[0.5, 0.5], [1.0, 1.0]], fmt="o", label="estimate")
    left.scatter([5.0, 6.0], [7.0, 8.0], label="councils")
    left.set_title("Left")
    right.barh(["Fife", "Moray"], [5.0, 6.0], label="rate")
    right.set_title("Right")
    return fig


def test_plotted_data_has_every_point_of_every_series_and_nothing_else():
    data = figures.plotted_data(_figure())
    line = data[data["series"] == "Scotland"]
    assert line[["x", "y"]].to_numpy().tolist() == [[2000, 1.0], [2001, 2.0], [2002, 3.5]]
    estimates = data[(data["series"] == "estimate") & (data["kind"] == "estimate")]
    assert estimates[["x", "y"]].to_numpy().tolist() == [[1, 3.0], [2, 4.0]]
    intervals = data[data["kind"] == "interval"].sort_values("x")
    assert intervals[["low", "high"]].to_numpy().tolist() == [[2.5, 4.0], [3.5, 5.0]]
    points = data[data["series"] == "councils"]
    assert points[["x", "y"]].to_numpy().tolist() == [[5.0, 7.0], [6.0, 8.0]]
    bars = data[data["kind"] == "bar"]
    assert dict(zip(bars["category"], bars["y"], strict=True)) == {"Fife": 5.0, "Moray": 6.0}
    assert set(data["panel"]) == {"Left", "Right"}
    assert "legend only" not in set(data["series"])
    assert len(data) == 3 + 2 + 2 + 2 + 2   # no row for the reference line or the span


def test_glue_figure_records_its_maker_and_its_data(monkeypatch):
    glued = {}
    monkeypatch.setattr("myst_nb.glue", lambda key, obj, display=False: glued.update({key: obj}))

    def make_the_figure():
        fig = _figure()
        expected = figures.plotted_data(fig)
        figures.glue_figure("fig-test", fig, "Two panels: the series rises from 1 to 3.5 over three years.")
        return expected

    expected = make_the_figure()
    meta = glued["fig-test"].metadata
    assert meta["source"] == f"{__name__}:test_glue_figure_records_its_maker_and_its_data.<locals>.make_the_figure"
    pd.testing.assert_frame_equal(pd.read_csv(io.StringIO(meta["csv"])), expected.reset_index(drop=True),
                                  check_dtype=False)
    given = pd.DataFrame({"area": ["S1"], "value": [2.5]})
    figures.glue_figure("fig-map", _figure(), "A map of one area whose value is 2.5 in the year.", data=given)
    assert pd.read_csv(io.StringIO(glued["fig-map"].metadata["csv"])).to_dict("records") == [{"area": "S1",
                                                                                               "value": 2.5}]


def test_glue_figure_still_refuses_alt_text_that_states_nothing():
    with pytest.raises(ValueError, match="alt text"):
        figures.glue_figure("fig-x", _figure(), "a chart")


def build_a_page() -> PageResult:
    page = PageResult()
    page.tables["coverage"] = pd.DataFrame({"year": [2002], "n": [3]})
    page.tables.update({"gaps": pd.DataFrame({"x": [1]})})
    return page


def test_each_table_remembers_the_function_that_put_it_on_the_page():
    page = build_a_page()
    assert page.tables.sources == {"coverage": f"{__name__}:build_a_page", "gaps": f"{__name__}:build_a_page"}
    shown = page.table("coverage")
    assert shown.metadata == {"source": f"{__name__}:build_a_page"}
    assert "<table" in shown.data and "2002" in shown.data
