"""Project paths, resolved from the package location (never from the working directory)."""

from __future__ import annotations

import os
from pathlib import Path

#: Repository root: the folder that holds ``analysis/``, ``data/`` and ``book/``.
ROOT = Path(__file__).resolve().parent.parent

#: Raw data exactly as obtained; read-only.
RAW = Path(os.environ.get("CPP_RAW_DIR", ROOT / "data" / "raw"))

#: Hand-curated reference facts (partnership register, report findings).
REFERENCE = Path(os.environ.get("CPP_REFERENCE_DIR", ROOT / "data" / "reference"))

#: Pipeline outputs (tidy tables, datapackage.json); rebuilt by ``python -m analysis data``.
PROCESSED = Path(os.environ.get("CPP_PROCESSED_DIR", ROOT / "data" / "processed"))

#: Cache of heavy results keyed by input checksums and code version.
CACHE = Path(os.environ.get("CPP_CACHE_DIR", ROOT / "data" / "cache"))

SHA256SUMS = RAW / "SHA256SUMS"
PROVENANCE = RAW / "provenance"
