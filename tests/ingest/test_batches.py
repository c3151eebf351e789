"""Files are sent to the cluster in batches: few tasks for many small files, yet work for every worker."""

from __future__ import annotations

from halric.ingest.runner import batches, run


def test_batches_keep_every_file_once_and_respect_the_limits():
    sizes = [145 << 20] * 29 + [8 << 20] * 75 + [30 << 20] * 14
    groups = batches(sizes, lambda n: n, workers=2)
    assert sorted(x for g in groups for x in g) == sorted(sizes)
    total = sum(sizes)
    limit = total // 8
    assert all(len(g) == 1 or sum(g) <= limit for g in groups)
    assert all(len(g) <= 64 for g in groups)
    assert 8 <= len(groups) < len(sizes)  # fewer tasks than files, at least four per worker


def test_small_folders_get_one_file_per_task_and_empty_gives_none():
    assert batches([10, 20, 30], lambda n: n, workers=2) == [[10], [20], [30]]
    assert batches([], lambda n: n, workers=4) == []
    one_huge = batches([5 << 30], lambda n: n, workers=1)
    assert one_huge == [[5 << 30]]


def test_run_delivers_each_result_of_a_batch():
    seen: list[dict] = []
    run(lambda root, paths: [{"path": p} for p in paths], [("r", ["a", "b"]), ("r", ["c"])], seen.append)
    assert [r["path"] for r in seen] == ["a", "b", "c"]
