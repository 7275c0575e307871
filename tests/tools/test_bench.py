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
