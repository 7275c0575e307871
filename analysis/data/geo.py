"""Council-area boundaries for maps, read from the vendored TopoJSON.

``data/raw/geo/martinjc_sco_topo_lad.json`` (Martin Chorley's UK-GeoJSON, CC BY 4.0, containing OS
and ONS/NRS boundary data; see its provenance record) is a TopoJSON topology with one object,
``lad``: a GeometryCollection of the 32 council areas as they were in 2013, each with properties
``LAD13CD`` (the 2013 GSS code), ``LAD13CDO``, ``LAD13NM`` and ``LAD13NMW``. Coordinates are
longitude/latitude, quantised and delta-encoded, with a ``transform``.

Reading. The file's layout is checked with the standard library first (type ``Topology``, one
object ``lad`` of 32 polygonal geometries, the expected properties, a CRS member that, when
present, is CRS84), then the geometries are decoded by GDAL's TopoJSON driver through
``geopandas.read_file`` (pyogrio). Codes are resolved through the partnership register, so the four
councils whose codes changed since 2013 (Fife S12000015 → S12000047, Perth and Kinross S12000024 →
S12000048, North Lanarkshire S12000044 → S12000050, Glasgow City S12000046 → S12000049) carry their
current codes, and the file's name must resolve to the same council as its code.

Validity. Only 4 of the 32 geometries are valid as stored; :func:`shapely.make_valid` repairs all
of them. It returns geometry collections holding stray slivers (lines and points) beside the
polygons, so only the polygonal parts are kept; the areas are unchanged (Scotland 78,809 km²,
Highland 26,162 km² on the British National Grid). The repair takes a few seconds, so its result
is kept in ``data/cache`` under a key of the file's checksum and this module's code; the layout and
code checks run on every read.

Bad input fails loudly: a changed file fails its checksum
(:class:`~analysis.errors.ChecksumError`); a layout the reader does not expect raises
:class:`~analysis.errors.ParseError`, and a code the register does not know
:class:`~analysis.errors.UnknownAreaError`, both naming the file.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import MultiPolygon, Polygon

from analysis import cache
from analysis.data import provenance, register
from analysis.errors import ParseError, UnknownAreaError

#: The boundary file, relative to ``data/raw``.
BOUNDARY_FILE = "geo/martinjc_sco_topo_lad.json"
#: The TopoJSON object holding the council areas.
OBJECT = "lad"
CODE_PROPERTY = "LAD13CD"
NAME_PROPERTY = "LAD13NM"
PROPERTIES = ("LAD13CD", "LAD13CDO", "LAD13NM", "LAD13NMW")
#: Coordinate reference systems: as stored (lon/lat) and for measuring and drawing.
CRS_LONLAT = "EPSG:4326"
CRS_BNG = "EPSG:27700"
#: CRS members the object may carry: both mean WGS 84 longitude/latitude.
_LONLAT_NAMES = {"urn:ogc:def:crs:OGC:1.3:CRS84", "urn:ogc:def:crs:OGC::CRS84", "EPSG:4326",
                 "urn:ogc:def:crs:EPSG::4326"}
_POLYGONAL = {"Polygon", "MultiPolygon"}


def _check_layout(path: Path) -> list[dict]:
    """Check the topology's structure; return the geometries' property dicts in file order."""
    try:
        topo = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ParseError(f"not a JSON document: {exc}", file=path) from exc
    if not isinstance(topo, dict) or topo.get("type") != "Topology":
        raise ParseError("expected a TopoJSON document with type 'Topology'", file=path, column="type")
    objects = topo.get("objects")
    if not isinstance(objects, dict) or list(objects) != [OBJECT]:
        found = list(objects) if isinstance(objects, dict) else objects
        raise ParseError(f"expected exactly one object {OBJECT!r}, found {found!r}", file=path, column="objects")
    if not isinstance(topo.get("arcs"), list) or not topo["arcs"]:
        raise ParseError("the topology has no arcs", file=path, column="arcs")
    obj = objects[OBJECT]
    if obj.get("type") != "GeometryCollection" or not isinstance(obj.get("geometries"), list):
        raise ParseError(f"object {OBJECT!r} is not a GeometryCollection", file=path, column=f"objects.{OBJECT}")
    crs = obj.get("crs") or topo.get("crs")
    if crs is not None:
        name = (crs.get("properties") or {}).get("name") if isinstance(crs, dict) else None
        if name not in _LONLAT_NAMES:
            raise ParseError(f"unexpected CRS {name or crs!r}: expected longitude/latitude (CRS84)",
                             file=path, column="crs")
    props = []
    for number, geom in enumerate(obj["geometries"], start=1):
        if geom.get("type") not in _POLYGONAL:
            raise ParseError(f"feature {number} is a {geom.get('type')!r}, not a polygon", file=path,
                             column="type")
        p = geom.get("properties")
        if not isinstance(p, dict) or set(p) != set(PROPERTIES):
            keys = sorted(p) if isinstance(p, dict) else p
            raise ParseError(f"feature {number} has properties {keys!r}, expected {list(PROPERTIES)}",
                             file=path, column="properties")
        for key in (CODE_PROPERTY, NAME_PROPERTY):
            if not isinstance(p[key], str) or not p[key].strip():
                raise ParseError(f"feature {number} has no {key}", file=path, column=key)
        props.append(p)
    return props


def _resolve(props: list[dict], path: Path) -> list[str]:
    """Current council code of every feature; errors name the file, the feature and the property."""
    codes = []
    for number, p in enumerate(props, start=1):
        try:
            code, area_type = register.resolve_code(p[CODE_PROPERTY], file=path, column=CODE_PROPERTY)
        except UnknownAreaError as exc:
            raise UnknownAreaError(f"feature {number}: {exc.message}", file=path, column=CODE_PROPERTY) from exc
        if area_type != register.COUNCIL:
            raise UnknownAreaError(f"feature {number}: code {p[CODE_PROPERTY]!r} is not a council area",
                                   file=path, column=CODE_PROPERTY)
        by_name, _ = register.resolve_name(p[NAME_PROPERTY], file=path, column=NAME_PROPERTY)
        if by_name != code:
            raise UnknownAreaError(
                f"feature {number}: code {p[CODE_PROPERTY]!r} is {register.name_of(code)} but name "
                f"{p[NAME_PROPERTY]!r} is {register.name_of(by_name)}", file=path, column=NAME_PROPERTY)
        codes.append(code)
    seen: dict[str, int] = {}
    for number, code in enumerate(codes, start=1):
        if code in seen:
            raise ParseError(f"features {seen[code]} and {number} are both {register.name_of(code)} ({code})",
                             file=path, column=CODE_PROPERTY)
        seen[code] = number
    missing = sorted(set(register.council_codes()) - set(codes))
    if missing:
        names = ", ".join(f"{register.name_of(c)} ({c})" for c in missing)
        raise ParseError(f"expected {register.N_PARTNERSHIPS} council areas, found {len(codes)}; missing {names}",
                         file=path, column=CODE_PROPERTY)
    return codes


def polygonal(geom) -> Polygon | MultiPolygon:
    """The polygonal part of a geometry (``make_valid`` may add lines and points along the way)."""
    if geom.geom_type in _POLYGONAL:
        return geom
    parts = [g for g in shapely.get_parts(geom) if g.geom_type in _POLYGONAL]
    polys = [p for part in parts for p in (part.geoms if part.geom_type == "MultiPolygon" else [part])]
    return polys[0] if len(polys) == 1 else MultiPolygon(polys)


def _repair(geoms: np.ndarray) -> list:
    return [polygonal(g) for g in shapely.make_valid(geoms)]


def _repaired(path: Path, geoms: np.ndarray, *, use_cache: bool) -> list:
    """``make_valid`` takes seconds on these boundaries, so the vendored file's repaired geometries
    are kept in ``data/cache`` under a key of the file's checksum, this code and the libraries."""
    if not use_cache:
        return _repair(geoms)
    key = cache.key({BOUNDARY_FILE: provenance.sha256_file(path)}, code=("data/geo.py",), settings_sections=(),
                    step="boundaries", shapely=shapely.__version__)
    wkb = cache.cached("geo-repaired", key,
                       lambda: list(shapely.to_wkb(np.asarray(_repair(geoms), dtype=object))))
    return list(shapely.from_wkb(wkb))


def council_boundaries(raw_dir: str | Path | None = None) -> gpd.GeoDataFrame:
    """The 32 council areas: ``area_code`` (current GSS code), ``area_name`` (register name),
    ``geometry`` (valid, polygonal), CRS EPSG:4326, sorted by code.

    ``raw_dir`` defaults to ``data/raw``; the file's checksum is verified before it is read.
    """
    path = provenance.raw_file(BOUNDARY_FILE, Path(raw_dir) if raw_dir is not None else None)
    props = _check_layout(path)
    codes = _resolve(props, path)
    frame = gpd.read_file(path, layer=OBJECT, engine="pyogrio")
    if len(frame) != len(props) or list(frame[CODE_PROPERTY]) != [p[CODE_PROPERTY] for p in props]:
        raise ParseError("GDAL's TopoJSON reader returned different features from the file's own list",
                         file=path, column=CODE_PROPERTY)
    geoms = np.asarray(frame.geometry.values)
    if any(g is None or g.is_empty for g in geoms):
        raise ParseError("a council area has an empty geometry", file=path, column="arcs")
    valid = _repaired(path, geoms, use_cache=raw_dir is None)
    out = gpd.GeoDataFrame(
        {"area_code": codes, "area_name": [register.name_of(c) for c in codes]},
        geometry=valid,
        crs=CRS_LONLAT,
    )
    if not out.is_valid.all():
        bad = out.loc[~out.is_valid, "area_name"].tolist()
        raise ParseError(f"geometry still invalid after repair: {bad}", file=path, column="arcs")
    return out.sort_values("area_code", ignore_index=True)


@functools.cache
def _boundaries_cached() -> gpd.GeoDataFrame:
    return council_boundaries()


def boundaries() -> gpd.GeoDataFrame:
    """:func:`council_boundaries` of the vendored file, read once per process (a copy each call)."""
    return _boundaries_cached().copy()


@functools.cache
def _drawing_cached(tolerance: float) -> dict:
    """Drawing geometries and areas. Reading, checking and repairing the boundaries takes over a
    second and every profile page draws a map, so the result is kept in ``data/cache`` under a key
    of the file's checksum (verified here on every call), this code and the library versions: the
    cached geometries are those of a file that passed every check in :func:`council_boundaries`."""
    import pyproj

    path = provenance.raw_file(BOUNDARY_FILE)
    key = cache.key({BOUNDARY_FILE: provenance.sha256_file(path)}, code=("data/geo.py",), settings_sections=(),
                    step="drawing", tolerance=tolerance, shapely=shapely.__version__, pyproj=pyproj.__version__)

    def compute() -> dict:
        bng = _boundaries_cached().to_crs(CRS_BNG)
        # Topology-preserving simplification keeps every island (none collapses to nothing).
        simple = bng.geometry.simplify(tolerance, preserve_topology=True)
        return {"area_code": list(bng["area_code"]), "area_name": list(bng["area_name"]),
                "wkb": list(shapely.to_wkb(np.asarray(simple.values, dtype=object))),
                "area_km2": list(bng.area.to_numpy() / 1e6)}

    return cache.cached("geo-drawing", key, compute)


def drawing_boundaries(tolerance: float = 200.0) -> gpd.GeoDataFrame:
    """Boundaries on the British National Grid (EPSG:27700, metres), simplified to ``tolerance``
    metres for drawing (a fraction of a pixel at book sizes); cached on disk and per process."""
    d = _drawing_cached(float(tolerance))
    return gpd.GeoDataFrame({"area_code": d["area_code"], "area_name": d["area_name"]},
                            geometry=list(shapely.from_wkb(d["wkb"])), crs=CRS_BNG)


def areas_km2() -> pd.Series:
    """Land area of each council in km², measured on the British National Grid (full resolution)."""
    d = _drawing_cached(200.0)
    return pd.Series(d["area_km2"], index=pd.Index(d["area_code"], name="area_code"), name="area_km2")
