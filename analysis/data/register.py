"""The partnership register: Scotland's 32 Community Planning Partnerships (one per council area).

Every area name or code that a raw file carries is resolved here, and only here, to the council's
current (2019) GSS code. The register itself is a hand-curated table,
``data/reference/partnerships.csv`` (documented in ``partnerships.md`` beside it), in which each
council lists every spelling that any raw source uses; matching is exact up to the light
:func:`normalise` below. An unknown name or code is an error, never a silent miss.

Scotland as a whole is not a partnership, but most sources carry a Scotland row; it resolves to
area type ``"scotland"`` with code :data:`SCOTLAND_CODE`.
"""

from __future__ import annotations

import functools
import math
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis.errors import SchemaError, UnknownAreaError
from analysis.paths import REFERENCE

#: File name of the register inside :data:`analysis.paths.REFERENCE`.
REGISTER_FILE = "partnerships.csv"

#: The register's columns, in order.
COLUMNS = [
    "code",
    "former_codes",
    "name",
    "name_variants",
    "itl3_codes",
    "itl3_names",
    "itl3_shared",
    "nuts3_codes",
    "nuts3_names",
    "lgbf_family_group_people",
    "lgbf_family_group_other",
    "case_study",
    "pilot",
    "code_source",
    "variants_source",
    "itl3_source",
    "nuts3_source",
    "family_group_source",
    "case_study_source",
]
SOURCE_COLUMNS = [c for c in COLUMNS if c.endswith("_source")]
FAMILY_GROUP_COLUMNS = ["lgbf_family_group_people", "lgbf_family_group_other"]
BOOL_COLUMNS = ["itl3_shared", "case_study", "pilot"]

#: Separator of multi-valued cells (former codes, variants, ITL3/NUTS3 parts).
SEP = "|"

N_PARTNERSHIPS = 32
N_CASE_STUDIES = 9
N_PILOTS = 1
FAMILY_GROUPS = (1, 2, 3, 4)
COUNCILS_PER_FAMILY_GROUP = 8

COUNCIL_CODE_RE = re.compile(r"^S12\d{6}$")
ITL3_CODE_RE = re.compile(r"^TLM\d{2}$")
NUTS3_CODE_RE = re.compile(r"^UKM\d{2}$")

#: Area types returned by the resolvers.
COUNCIL = "council"
SCOTLAND = "scotland"
AREA_TYPES = (COUNCIL, SCOTLAND)

# --- Scotland as a whole ------------------------------------------------------------------------

#: GSS code of Scotland (country), used as the canonical code of Scotland rows.
SCOTLAND_CODE = "S92000003"
SCOTLAND_NAME = "Scotland"
#: Every code a source uses for Scotland as a whole, mapped to :data:`SCOTLAND_CODE`:
#: S00000001 is ScotPHO's code for Scotland (scotpho_deprivation_data rds, areatype "Scotland");
#: TLM (ITL1) and UKM (NUTS1) are the codes of the row named "Scotland" in the ITL and NUTS tables
#: of data/raw/gb/ (the same territory).
SCOTLAND_CODES = {
    "S92000003": SCOTLAND_CODE,
    "S00000001": SCOTLAND_CODE,
    "TLM": SCOTLAND_CODE,
    "UKM": SCOTLAND_CODE,
}
#: Every spelling of Scotland as a whole in the raw files, exactly as written:
#: "Scotland" (NRS drug deaths Table C1, NRS mid-year estimates xlsx, ScotPHO rds, LGBF rds, both
#: CPOP csvs, ITL1/NUTS1 rows of the gb/ tables); "All Scotland1" (NRS alcohol deaths Table 5
#: header, where the 1 marks footnote 1). The sgred_la_t*.csv tables and the two map files have
#: no Scotland row.
SCOTLAND_VARIANTS = ("Scotland", "All Scotland1")

#: Strings whose trailing digit is a documented footnote marker, mapped to the string without it.
#: Only these are stripped; no other digit is ever removed. ("Council area1" in NRS drug deaths
#: Table C1 is also footnoted, but it is the header of the name column, not an area: it does not
#: resolve.)
DOCUMENTED_FOOTNOTES = {
    "All Scotland1": "All Scotland",  # nrs_alcohol_specific_deaths_by_council_1979_2019.csv, footnote 1
}

#: The report's nine case-study CPPs as named in Stevenson (2002a), executive summary para 2
#: (http://www.scotland.gov.uk/Publications/2002/10/15602/12057), mapped to register names.
#: The report's short forms ("Aberdeen", "Glasgow" …) are deliberately *not* register variants:
#: no raw file uses them, and "Aberdeen" alone would be ambiguous beside "Aberdeenshire" in data.
REPORT_CASE_STUDY_NAMES = {
    "Aberdeen": "Aberdeen City",
    "Dundee": "Dundee City",
    "Edinburgh": "City of Edinburgh",
    "Glasgow": "Glasgow City",
    "Highland": "Highland",
    "East Ayrshire": "East Ayrshire",
    "Argyll & Bute": "Argyll and Bute",
    "Renfrewshire": "Renfrewshire",
    "Stirling": "Stirling",
}
#: The pilot exercise named in the same paragraph.
REPORT_PILOT_NAMES = {"North Lanarkshire": "North Lanarkshire"}


# --- normalisation ------------------------------------------------------------------------------


def normalise(name: str) -> str:
    """Light normalisation used for matching names.

    Strips surrounding whitespace, removes a trailing footnote digit only for the strings listed
    in :data:`DOCUMENTED_FOOTNOTES`, case-folds, reads "&" as "and", deletes hyphens (the NRS
    hyphenation artefacts "Aberdeen-shire", "Clackma-nnanshire") and collapses runs of whitespace.
    Commas and every other character are kept, so "Edinburgh, City of" is still its own key and
    must be listed as a variant. The register checks that no two councils share a key.
    """
    text = str(name).strip()
    text = DOCUMENTED_FOOTNOTES.get(text, text)
    text = text.casefold().replace("&", " and ").replace("-", "")
    return " ".join(text.split())


def split_list(cell: object) -> list[str]:
    """Split a ``|``-separated register cell into its items (empty cell -> empty list)."""
    if cell is None or (isinstance(cell, float) and math.isnan(cell)):
        return []
    text = str(cell)
    return [] if text == "" else text.split(SEP)


# --- loading and validation ---------------------------------------------------------------------


def default_path() -> Path:
    return Path(REFERENCE) / REGISTER_FILE


def load_register(path: str | Path | None = None) -> pd.DataFrame:
    """Read and validate the partnership register; the default file's load is cached.

    Returns one row per partnership, sorted by code, with the columns in :data:`COLUMNS`; family
    groups are ``int64``, the flags ``bool``, every other column a string (multi-valued cells
    stay ``|``-separated; see :func:`split_list`). Raises :class:`~analysis.errors.SchemaError`
    naming the file, the line and the column of the first problem found.
    """
    target = default_path() if path is None else Path(path)
    return _load_cached(str(target.resolve())).copy()


@functools.lru_cache(maxsize=8)
def _load_cached(path: str) -> pd.DataFrame:
    return _read_and_validate(Path(path))


def _line(index: int) -> int:
    """1-based line number of data record ``index`` (0-based); line 1 is the header."""
    return int(index) + 2


def _read_and_validate(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise SchemaError("partnership register not found", file=path)
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    err = functools.partial(SchemaError, file=path)

    header = list(raw.columns)
    for col in COLUMNS:
        if col not in header:
            raise err(f"missing column {col!r}", row=1, column=col)
    for col in header:
        if col not in COLUMNS:
            raise err(f"unexpected column {col!r}", row=1, column=col)
    if header != COLUMNS:
        raise err(f"columns out of order: expected {COLUMNS}", row=1)

    if len(raw) != N_PARTNERSHIPS:
        raise err(
            f"expected {N_PARTNERSHIPS} partnerships (one per council area), found {len(raw)} rows",
            row=_line(len(raw) - 1) if len(raw) else 1,
            column="code",
        )

    for i, rec in raw.iterrows():
        line = _line(i)
        for col in COLUMNS:
            value = rec[col]
            if value != value.strip():
                raise err(f"surrounding whitespace in {value!r}", row=line, column=col)
        if not COUNCIL_CODE_RE.match(rec["code"]):
            raise err(f"code {rec['code']!r} does not match S12 + 6 digits", row=line, column="code")
        for former in split_list(rec["former_codes"]):
            if not COUNCIL_CODE_RE.match(former):
                raise err(
                    f"former code {former!r} does not match S12 + 6 digits", row=line, column="former_codes"
                )
        if not rec["name"]:
            raise err("empty name", row=line, column="name")
        for variant in split_list(rec["name_variants"]):
            if not variant:
                raise err("empty name variant (stray '|')", row=line, column="name_variants")
        for kind, code_re in (("itl3", ITL3_CODE_RE), ("nuts3", NUTS3_CODE_RE)):
            codes = split_list(rec[f"{kind}_codes"])
            names = split_list(rec[f"{kind}_names"])
            if not codes:
                raise err(f"no {kind.upper()} area", row=line, column=f"{kind}_codes")
            for c in codes:
                if not code_re.match(c):
                    raise err(f"{kind.upper()} code {c!r} malformed", row=line, column=f"{kind}_codes")
            if len(set(codes)) != len(codes):
                raise err(f"{kind.upper()} code listed twice", row=line, column=f"{kind}_codes")
            if len(names) != len(codes) or not all(names):
                raise err(
                    f"{len(codes)} {kind.upper()} codes but {len(names)} names",
                    row=line,
                    column=f"{kind}_names",
                )
        for col in BOOL_COLUMNS:
            if rec[col] not in ("true", "false"):
                raise err(f"expected true or false, found {rec[col]!r}", row=line, column=col)
        for col in FAMILY_GROUP_COLUMNS:
            if rec[col] not in {str(g) for g in FAMILY_GROUPS}:
                raise err(f"family group must be 1, 2, 3 or 4, found {rec[col]!r}", row=line, column=col)
        for col in SOURCE_COLUMNS:
            if col == "variants_source" and not rec["name_variants"]:
                continue
            if not rec[col]:
                raise err("empty source", row=line, column=col)

    # uniqueness of codes (current and former together); reported at the former code if one is involved
    code_claims: dict[str, list[tuple[int, str]]] = defaultdict(list)  # code -> (line, column)
    for i, rec in raw.iterrows():
        code_claims[rec["code"]].append((_line(i), "code"))
        for former in split_list(rec["former_codes"]):
            code_claims[former].append((_line(i), "former_codes"))
    for code, entries in code_claims.items():
        if len(entries) > 1:
            line, col = sorted(entries, key=lambda e: (e[1] != "former_codes", -e[0]))[0]
            others = ", ".join(f"line {ln} ({c})" for ln, c in entries if (ln, c) != (line, col))
            raise err(f"code {code!r} is already used on {others}", row=line, column=col)

    # uniqueness of names and variants, after normalisation, across rows and against Scotland.
    # A council may list several exact spellings with one key ("Argyll & Bute" beside "Argyll and
    # Bute"); a key shared by two councils (or by a council and Scotland) is an error, reported at
    # the variant (rather than the official name) wherever possible.
    claims: dict[str, list[tuple[int, str, str, str]]] = defaultdict(list)  # key -> (line, col, text, owner)
    for v in SCOTLAND_VARIANTS:
        claims[normalise(v)].append((0, "", v, "Scotland as a whole"))
    for i, rec in raw.iterrows():
        variants = split_list(rec["name_variants"])
        for variant in variants:
            if variant == rec["name"]:
                raise err(f"variant {variant!r} repeats the name", row=_line(i), column="name_variants")
            if variants.count(variant) > 1:
                raise err(f"variant {variant!r} listed twice", row=_line(i), column="name_variants")
        for col, texts in (("name", [rec["name"]]), ("name_variants", variants)):
            for text in texts:
                claims[normalise(text)].append((_line(i), col, text, rec["name"]))
    for key, entries in claims.items():
        if len({line for line, _, _, _ in entries}) < 2:  # one row (or Scotland) only
            continue
        # the offending claim: a variant that does not even normalise to its own council's name
        ranked = sorted(
            (e for e in entries if e[0]),
            key=lambda e: (normalise(e[3]) == key, e[1] != "name_variants", -e[0]),
        )
        line, col, text, owner = ranked[0]
        others = "; ".join(
            f"{o} ({'Scotland constants in register.py' if ln == 0 else f'line {ln}, {c}'}: {t!r})"
            for ln, c, t, o in entries
            if ln != line
        )
        raise err(
            f"{'variant' if col == 'name_variants' else 'name'} {text!r} of {owner} (key {key!r}) is also "
            f"claimed by {others}",
            row=line,
            column=col,
        )

    # sorted by code
    if list(raw["code"]) != sorted(raw["code"]):
        first = next(
            i for i, (a, b) in enumerate(zip(raw["code"], sorted(raw["code"]), strict=True)) if a != b
        )
        raise err("rows are not sorted by code", row=_line(first), column="code")

    df = raw.copy()
    for col in FAMILY_GROUP_COLUMNS:
        df[col] = df[col].astype("int64")
    for col in BOOL_COLUMNS:
        df[col] = df[col].eq("true")

    for col in FAMILY_GROUP_COLUMNS:
        counts = df[col].value_counts()
        for group in FAMILY_GROUPS:
            n = int(counts.get(group, 0))
            if n != COUNCILS_PER_FAMILY_GROUP:
                rows = [_line(i) for i in df.index[df[col] == group]]
                raise err(
                    f"family group {group} has {n} councils (lines {rows}), "
                    f"expected {COUNCILS_PER_FAMILY_GROUP}",
                    row=rows[-1] if rows else None,
                    column=col,
                )
    for col, expected in (("case_study", N_CASE_STUDIES), ("pilot", N_PILOTS)):
        n = int(df[col].sum())
        if n != expected:
            rows = [_line(i) for i in df.index[df[col]]]
            raise err(
                f"{n} rows flagged {col} (lines {rows}), expected {expected}",
                row=rows[-1] if rows else None,
                column=col,
            )
    both = df.index[df["case_study"] & df["pilot"]]
    if len(both):
        raise err("a council cannot be both case study and pilot", row=_line(both[0]), column="pilot")
    return df


# --- lookup tables ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Tables:
    by_key: dict[str, tuple[str, str]]  # normalised name -> (current code, area type)
    by_code: dict[str, tuple[str, str]]  # any known code -> (current code, area type)
    names: dict[str, str]  # current code -> official name


@functools.lru_cache(maxsize=8)
def _tables_for(path: str) -> _Tables:
    reg = _load_cached(path)
    by_key: dict[str, tuple[str, str]] = {normalise(v): (SCOTLAND_CODE, SCOTLAND) for v in SCOTLAND_VARIANTS}
    by_code: dict[str, tuple[str, str]] = {c: (cur, SCOTLAND) for c, cur in SCOTLAND_CODES.items()}
    names = {SCOTLAND_CODE: SCOTLAND_NAME}
    for rec in reg.itertuples(index=False):
        for text in [rec.name, *split_list(rec.name_variants)]:
            by_key[normalise(text)] = (rec.code, COUNCIL)
        by_code[rec.code] = (rec.code, COUNCIL)
        for former in split_list(rec.former_codes):
            by_code[former] = (rec.code, COUNCIL)
        names[rec.code] = rec.name
    return _Tables(by_key=by_key, by_code=by_code, names=names)


def _tables() -> _Tables:
    return _tables_for(str(default_path().resolve()))


def _is_missing(value: object) -> bool:
    if value is None or value is pd.NA:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _lookup_name(name: object) -> tuple[str, str] | None:
    if _is_missing(name) or not isinstance(name, str):
        return None
    return _tables().by_key.get(normalise(name))


def _lookup_code(code: object) -> tuple[str, str] | None:
    if _is_missing(code) or not isinstance(code, str):
        return None
    return _tables().by_code.get(code.strip())


# --- public resolvers ---------------------------------------------------------------------------


def resolve_name(
    name: str, *, file: str | Path | None, row: int | None = None, column: str | None = None
) -> tuple[str, str]:
    """Resolve an area name to ``(current council code or SCOTLAND_CODE, area_type)``.

    ``area_type`` is ``"council"`` or ``"scotland"``. An unknown name raises
    :class:`~analysis.errors.UnknownAreaError` naming the file, row, column and the name.
    """
    hit = _lookup_name(name)
    if hit is None:
        raise UnknownAreaError(
            f"unknown area name {name!r} (not in {REGISTER_FILE} nor a Scotland variant)",
            file=file,
            row=row,
            column=column,
        )
    return hit


def resolve_code(
    code: str, *, file: str | Path | None, row: int | None = None, column: str | None = None
) -> tuple[str, str]:
    """Resolve a current or former council code, or a Scotland code, to ``(current code, area_type)``."""
    hit = _lookup_code(code)
    if hit is None:
        raise UnknownAreaError(
            f"unknown area code {code!r} "
            f"(not a current or former code in {REGISTER_FILE} nor a Scotland code)",
            file=file,
            row=row,
            column=column,
        )
    return hit


def _where(df: pd.DataFrame, label: object) -> tuple[object, int | None]:
    """File and row of frame row ``label`` for error messages (from ``source``/``source_row``)."""
    file = df.at[label, "source"] if "source" in df.columns else None
    row = df.at[label, "source_row"] if "source_row" in df.columns else None
    file = None if _is_missing(file) else file
    row = None if _is_missing(row) else int(row)
    return file, row


def resolve_frame(
    df: pd.DataFrame, *, name_col: str = "area_name", code_col: str = "area_code"
) -> pd.DataFrame:
    """Resolve every row of a parsed frame; return a copy with ``area_code`` and ``area_type`` added.

    Rows must have ``area_level`` in {"council", "scotland"} (when the frame has that column) and
    resolve to the matching area type. Names are resolved once per distinct value. Where
    ``code_col`` holds a code, it is resolved too and must give the same current code as the name.
    Errors name the file and row from the frame's ``source`` and ``source_row`` columns.
    """
    if name_col not in df.columns:
        raise SchemaError(f"frame has no column {name_col!r}", column=name_col)
    out = df.copy()
    if out.empty:
        out["area_code"] = pd.Series(dtype="object")
        out["area_type"] = pd.Series(dtype="object")
        return out

    if "area_level" in out.columns:
        bad = ~out["area_level"].isin(AREA_TYPES)
        if bad.any():
            label = out.index[bad.to_numpy()][0]
            file, row = _where(out, label)
            raise SchemaError(
                f"area_level {out.at[label, 'area_level']!r} cannot be resolved through the register "
                f"(only {AREA_TYPES}); filter the frame first",
                file=file,
                row=row,
                column="area_level",
            )

    names = out[name_col]
    name_map = {n: _lookup_name(n) for n in pd.unique(names)}
    unknown = [n for n, hit in name_map.items() if hit is None]
    if unknown:
        mask = names.isin([u for u in unknown if not _is_missing(u)]) | names.isna()
        label = out.index[mask.to_numpy()][0]
        file, row = _where(out, label)
        resolve_name(out.at[label, name_col], file=file, row=row, column=name_col)  # raises
    codes_by_name = names.map({n: hit[0] for n, hit in name_map.items()})
    types_by_name = names.map({n: hit[1] for n, hit in name_map.items()})

    if code_col in out.columns:
        raw_codes = out[code_col]
        present = raw_codes.notna() & raw_codes.astype("object").astype(str).str.strip().ne("")
        if present.any():
            given = raw_codes[present]
            code_map = {c: _lookup_code(c) for c in pd.unique(given)}
            bad_codes = [c for c, hit in code_map.items() if hit is None]
            if bad_codes:
                label = given.index[given.isin(bad_codes).to_numpy()][0]
                file, row = _where(out, label)
                resolve_code(out.at[label, code_col], file=file, row=row, column=code_col)  # raises
            by_code = given.map({c: hit[0] for c, hit in code_map.items()})
            disagree = by_code.ne(codes_by_name[present])
            if disagree.any():
                label = by_code.index[disagree.to_numpy()][0]
                file, row = _where(out, label)
                raise UnknownAreaError(
                    f"code {out.at[label, code_col]!r} resolves to {by_code[label]} "
                    f"({name_of(by_code[label])}) but name {out.at[label, name_col]!r} resolves to "
                    f"{codes_by_name[label]} ({name_of(codes_by_name[label])})",
                    file=file,
                    row=row,
                    column=code_col,
                )

    if "area_level" in out.columns:
        mismatch = out["area_level"].ne(types_by_name)
        if mismatch.any():
            label = out.index[mismatch.to_numpy()][0]
            file, row = _where(out, label)
            raise SchemaError(
                f"name {out.at[label, name_col]!r} is a {types_by_name[label]} area but area_level is "
                f"{out.at[label, 'area_level']!r}",
                file=file,
                row=row,
                column="area_level",
            )

    out["area_code"] = codes_by_name.astype("object")
    out["area_type"] = types_by_name.astype("object")
    return out


# --- helpers ------------------------------------------------------------------------------------


def council_codes() -> tuple[str, ...]:
    """Current codes of the 32 councils, sorted."""
    return tuple(load_register()["code"])


def case_study_codes() -> tuple[str, ...]:
    """Current codes of the report's nine case-study partnerships, sorted."""
    reg = load_register()
    return tuple(reg.loc[reg["case_study"], "code"])


def pilot_codes() -> tuple[str, ...]:
    """Current code(s) of the report's pilot partnership (North Lanarkshire)."""
    reg = load_register()
    return tuple(reg.loc[reg["pilot"], "code"])


def name_of(code: str) -> str:
    """Official name of a council (current or former code), or "Scotland" for a Scotland code."""
    hit = _lookup_code(code)
    if hit is None:
        raise UnknownAreaError(f"unknown area code {code!r} (not in {REGISTER_FILE} nor a Scotland code)")
    return _tables().names[hit[0]]


def variants_of(code: str) -> list[str]:
    """Official name followed by every listed variant of a council."""
    current, area_type = resolve_code(code, file=None)
    if area_type == SCOTLAND:
        return list(SCOTLAND_VARIANTS)
    rec = load_register().set_index("code").loc[current]
    return [rec["name"], *split_list(rec["name_variants"])]
