"""Maps of the 32 council areas in the house style.

* Drawn on the British National Grid (EPSG:27700), so distances and shapes are true to Scotland,
  from boundaries simplified to 200 m (well under a pixel at book sizes) so each PNG stays small.
* Each council is one matplotlib patch whose ``gid`` is its area code, so a figure can be checked
  (and a test can find which councils are highlighted).
* Continuous values use the ``cividis`` map with a colour bar; categories use the Okabe–Ito palette
  with a legend; councils without a value are drawn in light grey and named "no data" in the
  legend. Highlighted councils get a thick black outline.
* Small councils and islands stay visible: every island is kept by the simplification, outlines
  are thin, and councils too small to see at map scale can be ringed (:func:`locator`).

Every map caption must carry :data:`MAP_CREDIT`, the attribution the boundary licences require.
"""

from __future__ import annotations

from collections.abc import Iterable

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.patches import Circle, Patch, PathPatch
from matplotlib.path import Path
from shapely.geometry.polygon import orient

from analysis.data import geo, register
from analysis.errors import UnknownAreaError
from analysis.pages import figures

#: Attribution for every map caption, following data/raw/geo/martinjc_licence.txt and
#: martinjc_licence.ons.md (CC BY 4.0 for the boundary files; Crown copyright notices for the
#: OS, ONS and NRS data in them).
MAP_CREDIT = (
    "Boundaries: Martin Chorley, UK-GeoJSON (CC BY 4.0), containing Ordnance Survey, Office for "
    "National Statistics and National Records of Scotland data © Crown copyright and database right, "
    "used under the Open Government Licence v3.0 and the OS OpenData Licence."
)

#: Simplification tolerance for drawing, in metres.
TOLERANCE = 200.0
NO_DATA = "#DDDDDD"
BASE_GREY = "#D9D9D9"
EDGE = "white"
EDGE_WIDTH = 0.3
HIGHLIGHT_WIDTH = 1.6
#: The locator's outline is thinner, so that a small council's colour still shows.
LOCATOR_WIDTH = 0.7
#: Councils smaller than this (km²) get a ring in :func:`locator`, or they would vanish.
RING_BELOW_KM2 = 1000.0


def _ring(coords: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    codes = np.full(len(coords), Path.LINETO, dtype=Path.code_type)
    codes[0] = Path.MOVETO
    codes[-1] = Path.CLOSEPOLY
    return coords, codes


def geometry_path(geom) -> Path:
    """A matplotlib path for a (multi)polygon, holes included (rings oriented for the fill rule)."""
    verts, codes = [], []
    for poly in getattr(geom, "geoms", [geom]):
        poly = orient(poly, sign=1.0)
        for ring in [poly.exterior, *poly.interiors]:
            v, c = _ring(np.asarray(ring.coords)[:, :2])
            verts.append(v)
            codes.append(c)
    return Path(np.concatenate(verts), np.concatenate(codes))


def _check_codes(codes: Iterable[str], what: str) -> list[str]:
    known = set(register.council_codes())
    codes = list(codes)
    unknown = [c for c in codes if c not in known]
    if unknown:
        raise UnknownAreaError(f"{what}: {unknown!r} are not current council area codes")
    return codes


def _base_axes(ax, width: float, height: float):
    if ax is None:
        fig, ax = figures.new_figure(width, height)
    else:
        fig = ax.figure
    ax.set_aspect("equal")
    ax.set_axis_off()
    return fig, ax


def _draw(ax, frame, facecolors: dict[str, str], highlight: set[str], width: float = HIGHLIGHT_WIDTH) -> None:
    # add_artist, not add_patch: the limits are set once below, and add_patch's per-vertex
    # limit update takes most of a second on these boundaries. The patches are still ax.patches.
    for code, geom in zip(frame["area_code"], frame.geometry, strict=True):
        lit = code in highlight
        ax.add_artist(PathPatch(
            geometry_path(geom), facecolor=facecolors[code], gid=code,
            edgecolor="black" if lit else EDGE, linewidth=width if lit else EDGE_WIDTH,
            zorder=3 if lit else 2, joinstyle="round",
        ))
    xmin, ymin, xmax, ymax = frame.total_bounds
    pad = 0.02 * (xmax - xmin)
    ax.set_xlim(xmin - pad, xmax + pad)
    ax.set_ylim(ymin - pad, ymax + pad)


def choropleth(
    values: pd.Series,
    *,
    title: str,
    label: str,
    highlight: Iterable[str] = (),
    categorical: bool = False,
    ax=None,
):
    """Map ``values`` (indexed by current council area code) over the 32 council areas.

    Continuous values are coloured with ``cividis`` and a colour bar labelled ``label``; with
    ``categorical=True`` each distinct value gets an Okabe–Ito colour and the legend is titled
    ``label``. Councils in ``highlight`` are outlined in thick black. Returns ``(fig, ax)``.
    Raises :class:`~analysis.errors.UnknownAreaError` for a code that is not a council.
    """
    values = pd.Series(values)
    _check_codes(values.index, "values")
    if values.index.duplicated().any():
        raise ValueError(f"values: duplicate codes {sorted(values.index[values.index.duplicated()])}")
    lit = set(_check_codes(highlight, "highlight"))
    frame = geo.drawing_boundaries(TOLERANCE)
    fig, ax = _base_axes(ax, 6.0, 7.0)
    present = values.dropna()
    colours: dict[str, str] = {}
    handles = []
    if categorical:
        # ordered categories keep their order; anything else is sorted
        categories = ([c for c in values.cat.categories if c in set(present)]
                      if isinstance(values.dtype, pd.CategoricalDtype) else sorted(pd.unique(present)))
        if len(categories) > len(figures.OKABE_ITO):
            raise ValueError(f"{len(categories)} categories: the palette has {len(figures.OKABE_ITO)} colours")
        palette = dict(zip(categories, figures.OKABE_ITO, strict=False))
        colours = {code: palette[v] for code, v in present.items()}
        handles = [Patch(facecolor=palette[c], edgecolor="none", label=str(c)) for c in categories]
    else:
        norm = mpl.colors.Normalize(vmin=float(present.min()), vmax=float(present.max()))
        cmap = mpl.colormaps[figures.SEQUENTIAL]
        colours = {code: mpl.colors.to_hex(cmap(norm(float(v)))) for code, v in present.items()}
        bar = fig.colorbar(mpl.cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax, shrink=0.6, pad=0.01)
        bar.set_label(label)
        bar.outline.set_visible(False)
    missing = [c for c in frame["area_code"] if c not in colours]
    colours.update({c: NO_DATA for c in missing})
    if missing:
        handles.append(Patch(facecolor=NO_DATA, edgecolor="none", label="no data"))
    if lit:
        handles.append(Patch(facecolor="none", edgecolor="black", linewidth=HIGHLIGHT_WIDTH, label="outlined"))
    _draw(ax, frame, colours, lit)
    if handles:
        ax.legend(handles=handles, title=label if categorical else None, loc="upper left", frameon=False,
                  fontsize="small", title_fontsize="small")
    ax.set_title(title)
    return fig, ax


def shade(ax, values: pd.Series, *, norm, cmap, highlight: Iterable[str] = ()) -> None:
    """Colour the 32 councils on ``ax`` by ``values`` (indexed by council code) through ``norm`` and
    ``cmap``, councils without a value grey and those in ``highlight`` outlined: for figures that put
    several maps on one scale with one colour bar of their own (unlike :func:`choropleth`). Raises
    :class:`~analysis.errors.UnknownAreaError` for a code that is not a council."""
    values = pd.Series(values)
    _check_codes(values.index, "values")
    lit = set(_check_codes(highlight, "highlight"))
    frame = geo.drawing_boundaries(TOLERANCE)
    present = values.dropna()
    colours = {c: (mpl.colors.to_hex(cmap(norm(float(present[c])))) if c in present.index else NO_DATA)
               for c in frame["area_code"]}
    ax.set_aspect("equal")
    ax.set_axis_off()
    _draw(ax, frame, colours, lit)


def locator(code: str, *, title: str, ax=None):
    """All councils in light grey and ``code`` in a strong colour, ringed if it is small."""
    (code,) = _check_codes([code], "locator")
    frame = geo.drawing_boundaries(TOLERANCE)
    fig, ax = _base_axes(ax, 3.2, 4.2)
    colours = {c: (figures.OKABE_ITO[5] if c == code else BASE_GREY) for c in frame["area_code"]}
    _draw(ax, frame, colours, {code}, width=LOCATOR_WIDTH)
    if geo.areas_km2()[code] < RING_BELOW_KM2:
        point = frame.loc[frame["area_code"] == code].geometry.iloc[0].representative_point()
        ax.add_patch(Circle((point.x, point.y), radius=22_000, fill=False, edgecolor="black",
                            linewidth=1.2, zorder=4, gid=f"ring-{code}"))
    ax.set_title(title, fontsize="medium")
    return fig, ax


def highlighted(ax) -> list[str]:
    """Codes of the councils outlined in black in ``ax`` (for checks and tests)."""
    return sorted(p.get_gid() for p in ax.patches
                  if isinstance(p, PathPatch) and p.get_gid() and p.get_linewidth() > EDGE_WIDTH
                  and mpl.colors.to_hex(p.get_edgecolor()) == "#000000")
