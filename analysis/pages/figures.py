"""House style for every figure in the book.

* Colours come from the Okabe–Ito palette, which stays distinguishable under the common forms of
  colour-blindness; sequential maps use ``cividis``, designed for the same purpose.
* Every figure is glued with :func:`glue_figure` (executed pages) or saved with :func:`save_figure`
  (generated pages) together with alt text that states what the figure shows (the finding, not
  just the chart type); the page places it with a numbered, captioned ``{glue:figure}`` or
  ``{figure}`` directive.
* Numbers for prose are glued as pre-formatted strings with :func:`glue_text`.
* Every glued figure carries, in its output's metadata, the function that made it
  (:func:`maker`) and the data it plots (:func:`plotted_data`, or a table the caller gives); the
  book's renderer (``tools/book_render.py``) puts a link to that function's source and a CSV of
  the data under the figure.
"""

from __future__ import annotations

import inspect
import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

#: Okabe & Ito (2008) colour-blind-safe qualitative palette.
OKABE_ITO = [
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#D55E00",  # vermillion
    "#F0E442",  # yellow
    "#000000",  # black
]
SEQUENTIAL = "cividis"
DPI = 110


def apply_style() -> None:
    # seaborn (and the scipy.stats it imports) loads only when a figure is drawn: importing a page
    # module, as the build's source pages do, stays quick.
    import seaborn as sns

    sns.set_theme(context="notebook", style="whitegrid", palette=OKABE_ITO, font_scale=0.95)
    plt.rcParams.update(
        {
            "figure.dpi": DPI,
            "savefig.dpi": DPI,
            "savefig.bbox": "tight",
            "axes.titlelocation": "left",
            "axes.titleweight": "bold",
            "figure.max_open_warning": 0,
        }
    )


def new_figure(width: float = 8.0, height: float = 4.5, **kwargs):
    apply_style()
    return plt.subplots(figsize=(width, height), **kwargs)


def png_bytes(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": None})
    plt.close(fig)
    return buffer.getvalue()


def check_alt(key: str, alt: str) -> str:
    """The alt text, if it states a finding in a sentence (at least six words, one line)."""
    if not alt or len(alt.split()) < 6 or "\n" in alt:
        raise ValueError(f"figure {key!r}: alt text must state the finding in a sentence, on one line")
    return alt


def maker(skip: int = 0) -> str:
    """The name (``module:function``) of the function outside this module and the table
    helpers that called in: the function that made the figure or table (``skip`` more frames)."""
    helpers = {__name__, "analysis.pages.tables", "analysis.pages.common"}
    for frame in inspect.stack()[1 + skip:]:
        module = frame.frame.f_globals.get("__name__", "")
        if module not in helpers and frame.function != "<module>":
            code = frame.frame.f_code
            name = getattr(code, "co_qualname", code.co_name)
            return f"{module}:{name}"
    return ""


def _category(axis, positions):
    """Tick labels for category positions (bar charts, dot plots), or None for a numeric axis."""
    labels = {round(float(t), 6): lab.get_text() for t, lab in zip(axis.get_ticklocs(), axis.get_ticklabels(),
                                                                    strict=False) if lab.get_text()}
    if not labels or any(_is_number(text) for text in labels.values()):
        return None
    return [labels.get(round(float(p), 6), "") for p in positions]


def _is_number(text: str) -> bool:
    try:
        float(text.replace("\u2212", "-").replace(",", ""))
    except ValueError:
        return False
    return True


def plotted_data(fig):
    """What ``fig`` plots, as one long table: one row per point of every line, scatter, bar and
    error bar, in data coordinates, with the panel's title and the series' label.

    Reference lines (``axvline``, ``axhline``: drawn in axes coordinates) and shaded spans are
    left out. A category axis (bar or dot plots with text tick labels) gives each point's
    category. Columns: panel, series, kind, x, y, low, high, category.
    """
    import numpy as np
    import pandas as pd
    from matplotlib.collections import LineCollection, PathCollection
    from matplotlib.container import BarContainer, ErrorbarContainer

    rows = []

    def label_of(artist, fallback):
        label = artist.get_label() if hasattr(artist, "get_label") else ""
        return fallback if not label or label.startswith("_") else label

    for i, ax in enumerate(fig.axes):
        panel = ax.get_title() or ax.get_title("left") or f"panel {i + 1}"
        # error bars: their central points (a line) and their intervals (line collections), by the bar's label
        centre_of, interval_of = {}, {}
        for c in ax.containers:
            if isinstance(c, ErrorbarContainer):
                line, _, bars = c.lines
                name = label_of(c, "estimate")
                if line is not None:
                    centre_of[id(line)] = name
                interval_of.update({id(b): name for b in bars})
        for j, line in enumerate(ax.get_lines()):
            if line.get_transform() != ax.transData:
                continue  # reference lines drawn in axes coordinates
            xy = np.asarray(line.get_xydata(), dtype=float)
            if not len(xy):
                continue
            kind, series = ("estimate", centre_of[id(line)]) if id(line) in centre_of else (
                "line", label_of(line, f"line {j + 1}"))
            cats = _category(ax.xaxis, xy[:, 0])
            rows += [{"panel": panel, "series": series, "kind": kind, "x": x, "y": y,
                      "category": cats[k] if cats else None} for k, (x, y) in enumerate(xy)]
        for j, coll in enumerate(ax.collections):
            if isinstance(coll, PathCollection):
                offsets = np.asarray(coll.get_offsets(), dtype=float)
                if offsets.ndim != 2 or not len(offsets):
                    continue
                series = label_of(coll, f"points {j + 1}")
                ycats = _category(ax.yaxis, offsets[:, 1])
                rows += [{"panel": panel, "series": series, "kind": "points", "x": x, "y": y,
                          "category": ycats[k] if ycats else None} for k, (x, y) in enumerate(offsets)]
            elif isinstance(coll, LineCollection) and id(coll) in interval_of:
                for seg in coll.get_segments():
                    seg = np.asarray(seg, dtype=float)
                    if len(seg) != 2:
                        continue
                    vertical = seg[0, 0] == seg[1, 0]
                    x, lo, hi = ((seg[0, 0], *sorted(seg[:, 1])) if vertical else (seg[0, 1], *sorted(seg[:, 0])))
                    rows.append({"panel": panel, "series": interval_of[id(coll)], "kind": "interval",
                                 "x": x, "low": lo, "high": hi})
        for j, container in enumerate(ax.containers):
            if not isinstance(container, BarContainer):
                continue
            series = label_of(container, f"bars {j + 1}")
            horizontal = container.orientation == "horizontal" if hasattr(container, "orientation") else False
            for patch in container.patches:
                if horizontal:
                    pos, value = patch.get_y() + patch.get_height() / 2, patch.get_x() + patch.get_width()
                else:
                    pos, value = patch.get_x() + patch.get_width() / 2, patch.get_y() + patch.get_height()
                cats = _category(ax.yaxis if horizontal else ax.xaxis, [pos])
                rows.append({"panel": panel, "series": series, "kind": "bar", "x": pos, "y": value,
                             "category": cats[0] if cats else None})
    columns = ["panel", "series", "kind", "x", "y", "low", "high", "category"]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.dropna(axis=1, how="all")


def glue_figure(key: str, fig, alt: str, data=None) -> None:
    """Glue ``fig`` under ``key`` with alt text ``alt`` (which must state the finding).

    ``data``: the table the figure shows, for its CSV (a map passes its values by area); by default
    what the figure plots (:func:`plotted_data`). The figure's output records both and its maker.
    """
    from IPython.display import Image
    from myst_nb import glue

    alt = check_alt(key, alt)
    table = plotted_data(fig) if data is None else data
    metadata = {"alt": alt, "key": key, "source": maker(), "csv": table.to_csv(index=False)}
    glue(key, Image(png_bytes(fig), format="png", metadata=metadata), display=False)


def save_figure(path, fig, alt: str) -> str:
    """Save ``fig`` as a PNG at ``path`` for a generated page; return the checked alt text.

    The file is rewritten only when its bytes change, so an unchanged figure keeps its date and
    Sphinx does not copy it again.
    """
    from pathlib import Path

    alt = check_alt(str(path), alt)
    data = png_bytes(fig)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_bytes() != data:
        path.write_bytes(data)
    return alt


def glue_text(key: str, value: object) -> None:
    """Glue a pre-formatted string (never a NumPy scalar) for ``{glue:text}`` in prose."""
    from myst_nb import glue

    glue(key, str(value), display=False)
