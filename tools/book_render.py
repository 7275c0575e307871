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


def module_source(app, module: str) -> tuple[str, dict] | None:
    """A module's source and its tags (viewcode's ``viewcode-find-source`` event), read from its file
    without importing it; None (viewcode's own search) if it has no Python file.

    viewcode's own search imports the module, and the page modules import pandas, matplotlib and scipy:
    that cost the HTML build about 2.5 s on one core. Only the parent packages are imported here."""
    import importlib.util

    from sphinx.pycode import ModuleAnalyzer

    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return None
    analyzer = ModuleAnalyzer.for_file(spec.origin, module)
    analyzer.find_tags()
    return analyzer.code, analyzer.tags


def register_source(env, module: str, name: str, docname: str) -> bool:
    """Register ``module:name`` with viewcode for ``docname``, so its highlighted source page is
    written with an anchor for ``name``; False if the source cannot be found."""
    if not hasattr(env, "_viewcode_modules"):
        env._viewcode_modules = {}
    entry = env._viewcode_modules.get(module)
    if entry is None:
        try:
            found = module_source(env.app, module)
        except Exception:  # noqa: BLE001 - viewcode's own rule: a module without source gets no page
            found = None
        if found is None:
            env._viewcode_modules[module] = False
            return False
        entry = (*found, {}, module)
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


def index_bibtex_backend() -> type:
    """Put pybtex's plain-text backend in pybtex's run-time plugin registry, which pybtex searches first.

    sphinxcontrib-bibtex looks the backend up once per citation it resolves, and each look-up makes
    pybtex scan the entry points of every installed package (about 15 ms; with the book's citations,
    about 2 s of the HTML build). The class registered is the one the entry point names."""
    import pybtex.plugin

    backend = pybtex.plugin.find_plugin("pybtex.backends", "plaintext")
    pybtex.plugin.register_plugin("pybtex.backends", "plaintext", backend, force=True)
    return backend


def setup(app):
    """The Sphinx extension: source pages for the functions that generated pages link to, found
    without importing them (:func:`module_source`), and a quicker citation look-up
    (:func:`index_bibtex_backend`)."""
    app.setup_extension("sphinx.ext.viewcode")
    app.connect("viewcode-find-source", module_source)
    app.connect("doctree-read", _register_marked_sources)
    index_bibtex_backend()
    return {"parallel_read_safe": True, "parallel_write_safe": True}
