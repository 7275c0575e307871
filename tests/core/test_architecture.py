"""The package's imports run one way: pages → attribution → data → core, and tools → analysis.

Layers, lowest first: the core (``analysis.paths``, ``errors``, ``settings``, ``settings_model``,
``cache``, ``environment``), ``analysis.data``, ``analysis.attribution``, ``analysis.pages``, the
command line (``analysis.__main__``) and the build tools (``tools``). A module may import from its
own layer and the layers below it, never from one above: the data layer knows nothing of the
designs, the designs nothing of the pages, and nothing in ``analysis`` imports a build tool. Every
import counts, including those inside functions.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from analysis import paths

LAYERS = ("core", "data", "attribution", "pages", "cli", "tools")
PACKAGES = ("analysis", "tools")


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer(module: str) -> str:
    if module == "tools" or module.startswith("tools."):
        return "tools"
    if module == "analysis.__main__":
        return "cli"
    for name in ("data", "attribution", "pages"):
        if module == f"analysis.{name}" or module.startswith(f"analysis.{name}."):
            return name
    return "core"


def imports(path: Path, root: Path) -> set[str]:
    """Every project module ``path`` imports (``from a.b import c`` counts as a.b and a.b.c)."""
    found: set[str] = set()
    here = module_name(path, root)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*parent, base] if base else parent)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {m for m in found if m.split(".")[0] in PACKAGES}


def violations(root: Path) -> list[str]:
    """Each import that points up the layers, as 'module (layer) imports target (layer)'."""
    rank = {name: i for i, name in enumerate(LAYERS)}
    out = []
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            module = module_name(path, root)
            for target in sorted(imports(path, root)):
                if rank[layer(target)] > rank[layer(module)]:
                    out.append(f"{module} ({layer(module)}) imports {target} ({layer(target)})")
    return out


def test_imports_run_one_way():
    assert violations(paths.ROOT) == []


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    for package in PACKAGES:
        (tmp_path / package).mkdir(exist_ok=True)
    return tmp_path


@pytest.mark.parametrize(("files", "expected"), [
    ({"analysis/data/panel.py": "def f():\n    from analysis.attribution import ledger\n"},
     "analysis.data.panel (data) imports analysis.attribution (attribution)"),
    ({"analysis/attribution/did.py": "from analysis.pages import figures\n"},
     "analysis.attribution.did (attribution) imports analysis.pages (pages)"),
    ({"analysis/settings.py": "import tools.bench\n"}, "analysis.settings (core) imports tools.bench (tools)"),
    ({"analysis/data/sources/x.py": "from ...pages import tables\n"},
     "analysis.data.sources.x (data) imports analysis.pages (pages)"),
])
def test_the_check_catches_an_import_that_points_up(tmp_path, files, expected):
    assert expected in violations(_tree(tmp_path, files))


def test_the_check_allows_imports_down_the_layers(tmp_path):
    root = _tree(tmp_path, {
        "analysis/pages/ch01.py": "from analysis.attribution import ledger\nfrom analysis.data import panel\n",
        "analysis/attribution/ledger.py": "from analysis import settings\nfrom analysis.data.panel import Outputs\n",
        "tools/bench.py": "from analysis.pages import ch01\n",
    })
    assert violations(root) == []


def test_every_top_folder_says_what_lives_there():
    for folder in ("analysis", "analysis/data", "analysis/attribution", "analysis/pages", "tools", "tests", "data"):
        readme = paths.ROOT / folder / "README.md"
        assert readme.exists(), f"{folder} has no README.md"
        assert len(readme.read_text(encoding="utf-8").split()) >= 40, f"{folder}/README.md says too little"
