"""clustermodel._background: work in forked children, errors back in the parent, nothing left running."""

from __future__ import annotations

import os
import time

import pytest

from clustermodel._background import compute, in_background, submit
from clustermodel._errors import ClusterModelError

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")


def _write(path, text):
    path.write_text(text)


def _fail(message):
    raise ValueError(message)


def test_submitted_work_is_done_by_the_time_the_context_ends(tmp_path):
    with in_background(jobs=2) as bg:
        for k in range(5):
            assert submit(_write, tmp_path / f"f{k}.txt", str(k), what=f"file {k}")
    assert bg is not None
    assert sorted(p.read_text() for p in tmp_path.iterdir()) == [str(k) for k in range(5)]
    assert not submit(_write, tmp_path / "late.txt", "x")  # outside the context the caller does the work
    assert not (tmp_path / "late.txt").exists()


def test_a_failing_child_is_an_error_in_the_parent_naming_the_job(tmp_path):
    with pytest.raises(ClusterModelError, match=r"1 background job\(s\) failed; the first: figure x.png: ValueError: no font"):
        with in_background(jobs=1):
            submit(_fail, "no font", what="figure x.png")
            submit(_write, tmp_path / "ok.txt", "fine")
    assert (tmp_path / "ok.txt").read_text() == "fine"


def test_leaving_the_context_by_an_error_kills_the_children(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        with in_background(jobs=1) as bg:
            submit(time.sleep, 30)
            pid = next(iter(bg._children))
            raise KeyboardInterrupt
    with pytest.raises(ChildProcessError):  # killed and collected: no such child any more
        os.waitpid(pid, 0)



def _square_sum(values):
    return sum(v * v for v in values)


def test_a_computed_value_comes_back_from_the_child_and_outside_a_context_is_computed_here():
    with in_background(jobs=2) as bg:
        pending = [compute(_square_sum, range(k), what=f"sum {k}") for k in range(4)]
        assert all(p._pid is not None and p._pid != os.getpid() for p in pending)  # each in its own child
        assert [p.result() for p in pending] == [0, 0, 1, 5]
        assert not bg.result_files  # every result file read and removed
    outside = compute(_square_sum, [3, 4])
    assert outside._pid is None and outside.result() == 25 and outside.result() == 25


def test_a_failing_computation_is_raised_where_its_result_is_asked_for_not_again_at_the_end():
    with in_background(jobs=1):
        pending = compute(_fail, "singular matrix", what="coverage check")
        with pytest.raises(ClusterModelError, match="background job failed: coverage check: ValueError: singular matrix"):
            pending.result()
    # the context ended without a second error for the same child


def test_leaving_the_context_early_removes_unread_results():
    with pytest.raises(KeyboardInterrupt):
        with in_background(jobs=1) as bg:
            compute(time.sleep, 30)
            paths = set(bg.result_files)
            raise KeyboardInterrupt
    assert paths and not any(os.path.exists(p) for p in paths)
