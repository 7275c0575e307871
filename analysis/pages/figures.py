"""House style for every figure in the book.

* Colours come from the Okabe–Ito palette, which stays distinguishable under the common forms of
  colour-blindness; sequential maps use ``cividis``, designed for the same purpose.
* Every figure is glued with :func:`glue_figure` (executed pages) or saved with :func:`save_figure`
  (generated pages) together with alt text that states what the figure shows (the finding, not
  just the chart type); the page places it with a numbered, captioned ``{glue:figure}`` or
  ``{figure}`` directive.
* Numbers for prose are glued as pre-formatted strings with :func:`glue_text`.
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import seaborn as sns  # noqa: E402

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


def glue_figure(key: str, fig, alt: str) -> None:
    """Glue ``fig`` under ``key`` with alt text ``alt`` (which must state the finding)."""
    from IPython.display import Image
    from myst_nb import glue

    glue(key, Image(png_bytes(fig), format="png", metadata={"alt": check_alt(key, alt)}), display=False)


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
