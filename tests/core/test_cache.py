"""The pickle cache of heavy results: computed once per key, stale files removed."""

from __future__ import annotations

import pickle

from analysis import cache, paths


def test_cached_computes_once_then_reads_the_file(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "CACHE", tmp_path)
    calls = []

    def compute() -> dict:
        calls.append(1)
        return {"value": 1.5}

    assert cache.cached("thing", "a" * 64, compute) == {"value": 1.5}
    target = tmp_path / f"thing-{'a' * 24}.pkl"
    assert [p.name for p in tmp_path.iterdir()] == [target.name]
    target.write_bytes(pickle.dumps({"value": "from the file"}))
    assert cache.cached("thing", "a" * 64, compute) == {"value": "from the file"}
    assert len(calls) == 1


def test_cached_recomputes_under_a_new_key_and_removes_the_stale_file(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "CACHE", tmp_path)
    (tmp_path / "other-0123.pkl").write_bytes(pickle.dumps("another prefix"))
    assert cache.cached("thing", "a" * 64, lambda: "old") == "old"
    assert cache.cached("thing", "b" * 64, lambda: "new") == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other-0123.pkl", f"thing-{'b' * 24}.pkl"]
    assert cache.cached("thing", "b" * 64, lambda: "not called") == "new"


def test_a_prefix_leaves_longer_prefixes_alone_and_force_recomputes(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "CACHE", tmp_path)
    assert cache.cached("geo-drawing", "c" * 64, lambda: "drawing") == "drawing"
    assert cache.cached("geo", "a" * 64, lambda: "old") == "old"
    assert cache.cached("geo", "b" * 64, lambda: "new") == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"geo-{'b' * 24}.pkl", f"geo-drawing-{'c' * 24}.pkl"]
    assert cache.cached("geo", "b" * 64, lambda: "forced", force=True) == "forced"
    assert cache.cached("geo", "b" * 64, lambda: "not called") == "forced"
    assert not list(tmp_path.glob(".*.tmp"))  # written under a temporary name, then renamed
