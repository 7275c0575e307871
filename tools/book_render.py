"""A MyST-NB renderer that keeps the alt text a figure carries in its output metadata.

MyST-NB takes an image's alt text only from cell metadata or a directive option, both fixed
text. The book's figures state their finding in the alt text, computed with the figure, so
:func:`analysis.pages.figures.glue_figure` stores it in the image's output metadata
(``{"image/png": {"alt": ...}}``) and this renderer copies it onto the image node. It is selected
with ``nb_render_plugin: house`` (registered as an entry point in ``pyproject.toml``).
"""

from __future__ import annotations

from myst_nb.core.render import MimeData, NbElementRenderer


class HouseRenderer(NbElementRenderer):
    def render_image(self, data: MimeData):  # noqa: D102 - see module docstring
        nodes = super().render_image(data)
        alt = data.output_metadata.get(data.mime_type, {}).get("alt")
        if alt:
            for node in nodes:
                node["alt"] = str(alt)
        return nodes
