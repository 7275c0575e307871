"""The book's MyST-NB renderer: alt text from the output, and under every figure and table a link to
the code that made it and, for figures, the plotted data as CSV.

* **Alt text.** MyST-NB takes an image's alt text only from cell metadata or a directive option,
  both fixed text. The book's figures state their finding in the alt text, computed with the
  figure, so :func:`analysis.pages.figures.glue_figure` stores it in the image's output metadata
  (``{"image/png": {"alt": ...}}``) and this renderer copies it onto the image node.
* **Source and data.** The same metadata names the function that made the figure (``source``,
  ``module:function``) and carries the data it plots (``csv``); a table's output names its maker
  too (:func:`analysis.pages.tables.show`). Under each, the renderer adds a line: a link to the
  function in the book's highlighted source pages (``sphinx.ext.viewcode``, which this renderer
  registers the function with, so the page and its anchor exist offline) and a download link to
  the CSV, written beside the notebook outputs and copied by Sphinx into ``_downloads``.

It is selected with ``nb_render_plugin: house`` (an entry point in ``pyproject.toml``). Pages that
are not notebooks (the generated profiles) write the same line themselves, marking the source link
with ``data-cpp-source="module:function"``; as a Sphinx extension (``tools.book_render`` in
``_config.yml``) this module registers those functions with viewcode too (:func:`setup`).
"""

from __future__ import annotations

import hashlib
import re

from docutils import nodes
from myst_nb.core.render import MimeData, NbElementRenderer
from sphinx import addnodes

#: The folder, beside the executed notebooks' outputs, that holds the figures' CSV files.
DATA_FOLDER = "figure-data"
#: viewcode's output folder for highlighted source pages.
SOURCE_FOLDER = "_modules"
#: How a page that is not a notebook marks a link to the function that made a figure.
SOURCE_MARK = re.compile(r'data-cpp-source="([\w.]+):([\w.]+)"')


def register_source(env, module: str, name: str, docname: str) -> bool:
    """Register ``module:name`` with viewcode for ``docname``, so its highlighted source page is
    written with an anchor for ``name``; False if the source cannot be found."""
    from sphinx.pycode import ModuleAnalyzer

    if not hasattr(env, "_viewcode_modules"):
        env._viewcode_modules = {}
    entry = env._viewcode_modules.get(module)
    if entry is None:
        try:
            analyzer = ModuleAnalyzer.for_module(module)
            analyzer.find_tags()
        except Exception:  # noqa: BLE001 - viewcode's own rule: a module without source gets no page
            env._viewcode_modules[module] = False
            return False
        entry = (analyzer.code, analyzer.tags, {}, module)
        env._viewcode_modules[module] = entry
    if not entry or name not in entry[1]:
        return False
    entry[2][name] = docname
    return True


class HouseRenderer(NbElementRenderer):
    def _provenance(self, source: str, *, csv: str | None = None, key: str = "") -> list[nodes.Element]:
        """The line under a figure or table: its maker's source and, for a figure, its data."""
        env = self.renderer.sphinx_env
        if env is None or not source:
            return []
        module, _, name = source.partition(":")
        line = nodes.paragraph(classes=["cpp-provenance"])
        if register_source(env, module, name, env.docname):
            page = f"{SOURCE_FOLDER}/{module.replace('.', '/')}"
            uri = env.app.builder.get_relative_uri(env.docname, page) + f"#{name}"
            line += nodes.Text("Made by ")
            line += nodes.reference("", "", nodes.literal("", f"{module}.{name}()"), refuri=uri,
                                    classes=["cpp-source"])
            anchor = f"{module}.{name}"  # viewcode's link back from the source lands here
            document = self.renderer.document
            if anchor not in document.ids:
                line["ids"].append(anchor)
                document.ids[anchor] = line
        if csv:
            digest = hashlib.sha256(csv.encode()).hexdigest()[:12]
            target = self.write_file([DATA_FOLDER, f"{key or 'figure'}-{digest}.csv"], csv.encode(), exists_ok=True)
            if len(line):
                line += nodes.Text(" · ")
            line += addnodes.download_reference(
                "", "", nodes.literal("", "plotted data (CSV)", classes=["xref", "download"]),
                reftarget=target, refdoc=env.docname, refexplicit=True, reftype="download", refdomain="")
        return [line] if len(line) else []

    def render_image(self, data: MimeData):  # noqa: D102 - see module docstring
        nodes_ = super().render_image(data)
        meta = data.output_metadata.get(data.mime_type, {})
        alt = meta.get("alt")
        if alt:
            for node in nodes_:
                node["alt"] = str(alt)
        return nodes_ + self._provenance(str(meta.get("source", "")), csv=meta.get("csv"), key=str(meta.get("key", "")))

    def render_text_html(self, data: MimeData):  # noqa: D102 - see module docstring
        source = str(data.output_metadata.get("text/html", {}).get("source", ""))
        return super().render_text_html(data) + self._provenance(source)


def _register_marked_sources(app, doctree) -> None:
    """Register with viewcode every function a page's raw HTML marks with ``data-cpp-source``."""
    for node in doctree.findall(nodes.raw):
        for module, name in SOURCE_MARK.findall(node.astext()):
            if not register_source(app.env, module, name, app.env.docname):
                from sphinx.util import logging

                logging.getLogger(__name__).warning(f"no source found for {module}:{name}", location=node)


def setup(app):
    """The Sphinx extension: source pages for the functions that generated pages link to."""
    app.setup_extension("sphinx.ext.viewcode")
    app.connect("doctree-read", _register_marked_sources)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
