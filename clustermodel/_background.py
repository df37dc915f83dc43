"""Work handed to forked child processes while the parent goes on: a report's figures are rendered beside its
estimators instead of between them.

Inside :func:`in_background`, :func:`submit` forks a child that runs one function (e.g. rendering a figure the parent
has built, without pickling it: the child has the parent's memory) and exits; the parent goes on at once. At most
``jobs`` children run at a time; :meth:`Background.wait` waits for every child and raises the first child's error as a
:class:`~clustermodel._errors.ClusterModelError`; leaving the context early (an error, an interrupt) kills the
children that are still running. Without ``os.fork`` (Windows) or outside the context, :func:`submit` returns False
and the caller does the work itself.

Why a fork is safe here: the child runs only the submitted function and leaves by ``os._exit``, so it never returns
into the parent's code, runs no ``atexit`` handler and flushes no parent buffer; the parent's other threads (dask's
idle workers, BLAS) hold no lock the child needs, and Python re-initialises its own locks (the GIL, the import lock)
in the child.
"""

from __future__ import annotations

import os
import signal
import warnings
from contextlib import contextmanager

from clustermodel._errors import ClusterModelError

__all__ = ["Background", "in_background", "submit"]

_CURRENT: Background | None = None


class Background:
    """Children running submitted functions; ``jobs`` at most at once."""

    def __init__(self, jobs: int):
        self.jobs = max(1, int(jobs))
        self._children: dict[int, tuple[str, int]] = {}  # pid -> (what it does, read end of its error pipe)
        self._errors: list[str] = []

    def submit(self, fn, *args, what: str = "") -> None:
        while len(self._children) >= self.jobs:
            self._reap(block=True)
        read, write = os.pipe()
        with warnings.catch_warnings():  # Python >= 3.12 warns on every fork of a threaded process (see the module doc)
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
        if pid == 0:  # the child: run, report a failure through the pipe, leave without returning
            code = 1
            try:
                os.close(read)
                signal.signal(signal.SIGINT, signal.SIG_DFL)  # the parent decides about interrupts; it kills us
                fn(*args)
                code = 0
            except BaseException as exc:  # noqa: BLE001 (everything goes back to the parent as text)
                try:
                    os.write(write, f"{type(exc).__name__}: {exc}".encode("utf-8", "replace")[:4000])
                except BaseException:  # noqa: BLE001
                    pass
            finally:
                os._exit(code)
        os.close(write)
        self._children[pid] = (what, read)

    def _reap(self, *, block: bool) -> None:
        pid, status = os.waitpid(-1, 0 if block else os.WNOHANG)
        if pid == 0 or pid not in self._children:
            return
        what, read = self._children.pop(pid)
        message = os.read(read, 4096).decode("utf-8", "replace")
        os.close(read)
        if os.waitstatus_to_exitcode(status) != 0:
            self._errors.append(f"{what}: {message or 'the child process ended with status ' + str(os.waitstatus_to_exitcode(status))}")

    def wait(self) -> None:
        """Wait for every child; raise the first failure."""
        while self._children:
            self._reap(block=True)
        if self._errors:
            raise ClusterModelError(f"{len(self._errors)} background job(s) failed; the first: {self._errors[0]}")

    def stop(self) -> None:
        """Kill and collect every child still running."""
        for pid, (_, read) in list(self._children.items()):
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
            os.close(read)
        self._children.clear()


@contextmanager
def in_background(jobs: int | None = None):
    """A context in which :func:`submit` hands work to forked children (``jobs`` at once, default one per core: on 2
    cores the paper's report took 10.5 s with two, 11.1 s with one, since a submit waits while ``jobs`` run). Yields the :class:`Background` (or None without ``os.fork``); its ``wait()`` is called on a normal
    exit, ``stop()`` on any other."""
    global _CURRENT
    if not hasattr(os, "fork") or _CURRENT is not None:  # no fork, or already inside one: the callers do the work
        yield _CURRENT
        return
    bg = Background(jobs if jobs is not None else (os.cpu_count() or 2))
    _CURRENT = bg
    try:
        yield bg
        bg.wait()
    finally:
        _CURRENT = None
        bg.stop()


def submit(fn, *args, what: str = "") -> bool:
    """Run ``fn(*args)`` in a forked child if a background context is open (True), else do nothing (False)."""
    if _CURRENT is None:
        return False
    _CURRENT.submit(fn, *args, what=what)
    return True
