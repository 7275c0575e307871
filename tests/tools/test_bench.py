"""The build benchmark's cold copy: what a fresh clone has, with the working tree's edits."""

from __future__ import annotations

import subprocess

from tools import bench


def test_the_cold_copy_leaves_out_everything_git_ignores(tmp_path):
    repo = tmp_path / "repo"
    (repo / "book" / "profiles").mkdir(parents=True)
    (repo / "book" / "ch01.md").write_text("tracked\n")
    (repo / "book" / "new.md").write_text("an edit not yet committed\n")
    (repo / "book" / "profiles" / "fife.md").write_text("generated\n")
    (repo / "_build").mkdir()
    (repo / "_build" / "index.html").write_text("built\n")
    (repo / ".gitignore").write_text("_build/\nbook/profiles/\n")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "add", ".gitignore", "book/ch01.md"], check=True)

    copy = bench.copy_repo(tmp_path / "copy", repo)
    files = sorted(p.relative_to(copy).as_posix() for p in copy.rglob("*") if p.is_file())
    assert files == [".gitignore", "book/ch01.md", "book/new.md"]


def test_the_reference_workload_times_what_it_runs(monkeypatch):
    """The machine's reference time is the median of real runs: a workload that sleeps 0.3 s takes at
    least that, and the real workload runs and gives a positive time."""
    monkeypatch.setattr(bench, "REFERENCE", "import time\nt = time.perf_counter()\ntime.sleep(0.3)\n"
                                            "print(time.perf_counter() - t)\n")
    assert 0.3 <= bench.reference_seconds(repeats=1) < 3
    monkeypatch.undo()
    assert bench.reference_seconds(repeats=1) > 0


def test_the_summary_states_the_machines_reference_times():
    step = {"total_s": 1.0, "phases_s": {"data": 1.0}, "executed": [], "reread": []}
    result = {"machine": {"reference_s": {"before": 1.25, "after": 1.5}},
              **{k: step for k in ("cold", "nochange", "text_edit", "code_edit", "tools_edit")},
              "pages": [], "targets": {}}
    text = bench.summary(result)
    assert "the reference workload took 1.25 s before the steps and 1.50 s after the steps" in text
