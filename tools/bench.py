"""Build benchmark: ``make bench`` (``python -m tools.bench``).

Works on a temporary copy of the repository (the working tree is never touched) and runs the
project's own ``make book`` there, with the ``.venv`` of the Python that runs this module:

1. **cold**: from nothing git ignores (no ``_build``, ``data/processed``, ``data/cache`` or generated
   partnership profiles in ``book/profiles``), as on a fresh clone;
2. **no change**: ``make book`` again at once;
3. **text edit**: a sentence appended to one chapter's prose, then ``make book``;
4. **code edit**: a harmless code cell appended to the same chapter, then ``make book``;
5. **tools edit**: a comment appended to ``tools/bench.py`` and ``tools/downloads.py``, then
   ``make book``: the build tools are outside the execution key, so nothing may re-execute.

For each it records the wall time of every phase (data; the ledger; the pre-build steps; page
execution, with the partnership profiles generated alongside; HTML; downloads), the pages that
were executed (those the pre-execution step reports and any Jupyter Book ran itself, from its
build log; the execution cache skips the others) and the pages Sphinx re-read. For every page of
the contents it records the HTML size with its images. It writes ``_build/bench.json`` in the
working tree and prints a summary against the targets: cold ledger ≤ 60 s, cold build ≤ 120 s,
no-change rebuild ≤ 8 s, an edit re-executes at most the edited chapter, editing a build tool
re-executes nothing, every page with its images ≤ 1.5 MB. ``--check`` exits non-zero if a target
is missed.

The machine's speed is not constant: on this kind of shared machine the same build has taken from
about 90 s to about 140 s within one afternoon, every phase slower in proportion. So that a timing
can be read against the state of the machine when it was taken, the benchmark also times a fixed
reference workload (:data:`REFERENCE`: a pure-Python loop and a small NumPy loop, in a fresh
interpreter, the median of three runs) before the cold build and after the last step, and records
both (``machine.reference_s``). The targets are judged on wall time as measured, never rescaled.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from analysis import paths
from tools import downloads

TARGETS = {"cold_s": 120.0, "nochange_s": 8.0, "page_bytes": 1_500_000, "ledger_cold_s": 60.0}
#: A fixed workload whose time tracks the machine's speed (the interpreter and NumPy, one core).
REFERENCE = """
import time
import numpy as np
start = time.perf_counter()
total = 0
for i in range(8_000_000):
    total += i * i
a = np.random.default_rng(0).standard_normal((250, 250))
for _ in range(120):
    a = np.tanh(a @ a.T / 250)
print(time.perf_counter() - start)
"""
#: The build tools the tools-edit step touches.
TOOLS_EDITED = ("tools/bench.py", "tools/downloads.py")
TOOLS_EDIT = "\n# a comment appended by the build benchmark: a change to a build tool only\n"
DEFAULT_CHAPTER = "book/ch03-structures-roles.md"
TEXT_EDIT = "\n\nThis sentence was appended by the build benchmark: a change to the prose only.\n"
CODE_EDIT = "\n```{code-cell} ipython3\n:tags: [remove-cell]\nbench_edit = 'a harmless code change'\n```\n"
#: A page executed before Sphinx reads the pages (``python -m tools.book_cache``).
PRE_EXECUTED = re.compile(r"^executed: (\S+)$")
#: Lines of ``make book`` output that end a phase (matched in order of the phases).
PHASES = [
    ("data", re.compile(r"^written to .* in [\d.]+ s")),
    ("ledger", re.compile(r"^ledger: \d+ rows in [\d.]+ s")),
    ("prebuild", re.compile(r"^book execution cache ")),
    ("execute", re.compile(r"^book pages executed: ")),
    ("html", re.compile(r"build succeeded|Finished generating HTML|Building your book, returns")),
    ("downloads", re.compile(r"^downloads written to ")),
]


def generated(root: Path = paths.ROOT) -> set[Path]:
    """Everything git ignores in ``root``: the environment, build outputs, caches, the tidy data and the
    generated partnership profiles. A cold build starts without any of it."""
    listing = subprocess.run(["git", "-C", str(root), "ls-files", "--others", "--ignored", "--exclude-standard",
                              "--directory"], capture_output=True, text=True, check=True).stdout
    return {(root / line.rstrip("/")).resolve() for line in listing.splitlines() if line}


def copy_repo(target: Path, root: Path = paths.ROOT) -> Path:
    """Copy ``root`` to ``target`` as a fresh clone would have it, with the working tree's edits: without
    version control and without anything :func:`generated`."""
    root = root.resolve()
    skip_paths = generated(root) | {root / ".git"}

    def ignore(folder: str, names: list[str]) -> set[str]:
        here = Path(folder).resolve()
        return {n for n in names if here / n in skip_paths}

    shutil.copytree(root, target, ignore=ignore, symlinks=True)
    return target


def environment(repo: Path) -> dict[str, str]:
    """This environment, less anything that would point the copy's build back at the working tree."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("CPP_") and k not in {"MAKEFLAGS", "MAKELEVEL", "MFLAGS", "PYTHONPATH"}}
    env["PYTHONPATH"] = str(repo)  # the copy's `analysis`, ahead of the editable install of the original
    return env


def make_book(repo: Path, venv: Path, stamp: Path, log: Path) -> dict:
    """Run ``make book`` in ``repo``; return its phases' times, executed notebooks and re-read pages."""
    cmd = ["make", "--no-print-directory", "book", f"VENV={venv}", f"STAMP={stamp}"]
    start = time.perf_counter()
    marks: dict[str, float] = {}
    phase = 0
    executed: set[str] = set()  # pages run before Sphinx (``python -m tools.book_cache``)
    with log.open("a", encoding="utf-8") as fh:
        fh.write(f"\n$ {' '.join(cmd)}\n")
        proc = subprocess.Popen(cmd, cwd=repo, env=environment(repo), stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, bufsize=1)
        assert proc.stdout is not None
        for line in proc.stdout:
            fh.write(line)
            clean = re.sub(r"\x1b\[[0-9;]*m", "", line).strip()
            if match := PRE_EXECUTED.match(clean):
                executed.add(match.group(1))
            for i in range(phase, len(PHASES)):
                if PHASES[i][1].search(clean):
                    marks[PHASES[i][0]] = time.perf_counter() - start
                    phase = i + 1
                    break
        proc.wait()
    total = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"make book failed in {repo} (exit {proc.returncode}); see {log}")
    phases, previous = {}, 0.0
    for name, _ in PHASES:
        if name in marks:
            phases[name] = round(marks[name] - previous, 2)
            previous = marks[name]
    build_log = re.sub(r"\x1b\[[0-9;]*m", "", (repo / "_build" / "build.log").read_text(encoding="utf-8"))
    executed |= {Path(m).relative_to(repo).as_posix() for m in
                 re.findall(r"^(\S+\.md): Executing notebook", build_log, re.M)}  # pages Sphinx ran itself
    reread = sorted(set(re.findall(r"reading sources\.\.\. \[\s*\d+%\] (\S+)", build_log)))
    return {"total_s": round(total, 2), "phases_s": phases, "executed": sorted(executed), "reread": reread}


def reference_seconds(repeats: int = 3) -> float:
    """The median wall time of :data:`REFERENCE`, each run in a fresh interpreter of this environment."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    times = sorted(float(subprocess.run([sys.executable, "-c", REFERENCE], capture_output=True, text=True, env=env,
                                        check=True).stdout) for _ in range(repeats))
    return round(times[len(times) // 2], 3)


def page_sizes(html: Path, root: Path) -> list[dict]:
    """Each page of the contents: its HTML bytes plus the bytes of the images it shows."""
    rows = []
    for docname in downloads.toc_docnames(root):
        page = html / f"{docname}.html"
        text = page.read_text(encoding="utf-8")
        images = sorted({(page.parent / src).resolve() for src in re.findall(r'<img[^>]+src="([^"]+)"', text)
                         if not src.startswith(("http:", "https:", "data:"))})
        image_bytes = sum(p.stat().st_size for p in images if p.exists())
        rows.append({"page": docname, "html_bytes": page.stat().st_size, "images": len(images),
                     "image_bytes": image_bytes, "total_bytes": page.stat().st_size + image_bytes})
    return rows


def run(chapter: str = DEFAULT_CHAPTER, keep: bool = False) -> dict:
    venv = Path(sys.prefix)
    work = Path(tempfile.mkdtemp(prefix="cpp-bench-"))
    repo = copy_repo(work / "repo")
    stamp = work / "venv-installed"
    stamp.touch()  # the venv is present and current: make must not reinstall it
    log = work / "bench.log"
    print(f"bench: building a copy of the repository in {repo} with {venv}", flush=True)
    result: dict = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "chapter_edited": chapter,
    }
    reference = {"before": reference_seconds()}
    result["machine"]["reference_s"] = reference
    try:
        result["cold"] = make_book(repo, venv, stamp, log)
        print(f"bench: cold build {result['cold']['total_s']:.1f} s", flush=True)
        result["pages"] = page_sizes(repo / "_build" / "html", repo)
        result["nochange"] = make_book(repo, venv, stamp, log)
        print(f"bench: no-change rebuild {result['nochange']['total_s']:.1f} s", flush=True)
        source = repo / chapter
        source.write_text(source.read_text(encoding="utf-8") + TEXT_EDIT, encoding="utf-8")
        result["text_edit"] = make_book(repo, venv, stamp, log)
        print(f"bench: rebuild after a text edit {result['text_edit']['total_s']:.1f} s", flush=True)
        source.write_text(source.read_text(encoding="utf-8") + CODE_EDIT, encoding="utf-8")
        result["code_edit"] = make_book(repo, venv, stamp, log)
        print(f"bench: rebuild after a code edit {result['code_edit']['total_s']:.1f} s", flush=True)
        for name in TOOLS_EDITED:
            tool = repo / name
            tool.write_text(tool.read_text(encoding="utf-8") + TOOLS_EDIT, encoding="utf-8")
        result["tools_edit"] = make_book(repo, venv, stamp, log)
        print(f"bench: rebuild after editing the build tools {result['tools_edit']['total_s']:.1f} s", flush=True)
        reference["after"] = reference_seconds()
    finally:
        (paths.ROOT / "_build").mkdir(exist_ok=True)
        if log.exists():
            shutil.copy(log, paths.ROOT / "_build" / "bench.log")
        if keep:
            print(f"bench: kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    result["targets"] = targets(result, chapter)
    return result


def targets(result: dict, chapter: str) -> dict:
    cold = result["cold"]["total_s"]
    cold_html = round(cold - result["cold"]["phases_s"].get("downloads", 0.0), 2)
    docname = chapter.removesuffix(".md")
    largest = max(result["pages"], key=lambda r: r["total_bytes"])
    return {
        "cold ledger (every design, placebo and permutation) ≤ 60 s": {
            "value": result["cold"]["phases_s"].get("ledger"),
            "pass": result["cold"]["phases_s"].get("ledger", float("inf")) <= TARGETS["ledger_cold_s"]},
        "cold build to HTML (data, results, pages) ≤ 120 s": {
            "value": cold_html, "pass": cold_html <= TARGETS["cold_s"]},
        "cold make book with the downloads (PDF, notebooks, data) ≤ 120 s": {
            "value": cold, "pass": cold <= TARGETS["cold_s"]},
        "no-change rebuild ≤ 8 s": {
            "value": result["nochange"]["total_s"], "pass": result["nochange"]["total_s"] <= TARGETS["nochange_s"]},
        "no-change rebuild executes nothing": {"value": result["nochange"]["executed"],
                                               "pass": not result["nochange"]["executed"]},
        "text edit re-executes at most that chapter": {
            "value": result["text_edit"]["executed"], "pass": set(result["text_edit"]["executed"]) <= {chapter}},
        "code edit re-executes only that chapter": {
            "value": result["code_edit"]["executed"], "pass": result["code_edit"]["executed"] == [chapter]},
        "editing bench.py and downloads.py re-executes nothing": {
            "value": result["tools_edit"]["executed"], "pass": not result["tools_edit"]["executed"]},
        "text edit re-reads that chapter": {"value": result["text_edit"]["reread"],
                                            "pass": docname in result["text_edit"]["reread"]},
        "every page with its images ≤ 1.5 MB": {
            "value": f"largest: {largest['page']} {largest['total_bytes'] / 1e6:.2f} MB",
            "pass": all(r["total_bytes"] <= TARGETS["page_bytes"] for r in result["pages"])},
    }


def summary(result: dict) -> str:
    lines = ["", "build benchmark (wall time, seconds)"]
    for step in ("cold", "nochange", "text_edit", "code_edit", "tools_edit"):
        r = result[step]
        phases = ", ".join(f"{k} {v:.1f}" for k, v in r["phases_s"].items())
        lines.append(f"  {step:<10} {r['total_s']:7.1f}   ({phases}); executed: {r['executed'] or 'none'}")
    ref = result["machine"].get("reference_s", {})
    if ref:
        lines.append("machine: the reference workload took " + " and ".join(
            f"{v:.2f} s {k} the steps" for k, v in ref.items()) + " (longer means a slower machine at that moment)")
    lines.append("pages (HTML + images)")
    for r in result["pages"]:
        lines.append(f"  {r['page']:<40} {r['total_bytes'] / 1e6:6.2f} MB  ({r['images']} images)")
    lines.append("targets")
    for name, t in result["targets"].items():
        lines.append(f"  [{'pass' if t['pass'] else 'MISS'}] {name}: {t['value']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chapter", default=DEFAULT_CHAPTER, help=f"the chapter to edit (default {DEFAULT_CHAPTER})")
    parser.add_argument("--keep", action="store_true", help="keep the temporary copy and its log")
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    args = parser.parse_args(argv)
    result = run(args.chapter, keep=args.keep)
    out = paths.ROOT / "_build" / "bench.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(summary(result))
    print(f"written to {out}")
    return 1 if args.check and not all(t["pass"] for t in result["targets"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
