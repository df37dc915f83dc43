"""Work handed to forked child processes while the parent goes on: a report's figures are rendered beside its
estimators instead of between them.

Inside :func:`in_background`, :func:`submit` forks a child that runs one function (e.g. rendering a figure the parent
has built, without pickling it: the child has the parent's memory) and exits; the parent goes on at once. At most
``jobs`` children run at a time; :meth:`Background.wait` waits for every child and raises the first child's error as a
:class:`~clustermodel._errors.ClusterModelError`; leaving the context early (an error, an interrupt) kills the
children that are still running. Without ``os.fork`` (Windows) or outside the context, :func:`submit` returns False
and the caller does the work itself.

:func:`compute` is the same with a value to bring back: the child pickles what the function returns into a temporary
file and the parent reads it when it asks for the :meth:`Pending.result` (an analysis starts a long independent
simulation, goes on with its other tests, and collects the simulation's result at the end). Outside the context the
function runs in the parent when its result is first asked for, so the numbers are the same either way. A child hands
nothing on: inside it, :func:`submit` and :func:`compute` do the work themselves.

Why a fork is safe here: the child runs only the submitted function and leaves by ``os._exit``, so it never returns
into the parent's code, runs no ``atexit`` handler and flushes no parent buffer; the parent's other threads (dask's
idle workers, BLAS) hold no lock the child needs, and Python re-initialises its own locks (the GIL, the import lock)
in the child.
"""

from __future__ import annotations

import os
import pickle
import signal
import tempfile
import warnings
from contextlib import contextmanager

from clustermodel._errors import ClusterModelError

__all__ = ["Background", "Pending", "compute", "in_background", "submit"]

_CURRENT: Background | None = None


class Background:
    """Children running submitted functions; ``jobs`` at most at once."""

    def __init__(self, jobs: int):
        self.jobs = max(1, int(jobs))
        self._children: dict[int, tuple[str, int]] = {}  # pid -> (what it does, read end of its error pipe)
        self._errors: list[str] = []
        self._awaited: set[int] = set()  # children of compute(): their caller collects the outcome (outcome())
        self._finished: dict[int, str | None] = {}  # the outcome of such a child reaped while waiting for another
        self.result_files: set[str] = set()  # result files not yet read: removed when the context ends

    def submit(self, fn, *args, what: str = "", result_path: str | None = None) -> int:
        """Fork a child running ``fn(*args)``; with ``result_path`` it pickles the return value there. Returns its pid."""
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
                global _CURRENT
                _CURRENT = None  # what the function would hand on, the child does itself
                value = fn(*args)
                if result_path is not None:
                    with open(result_path, "wb") as fh:
                        pickle.dump(value, fh, protocol=pickle.HIGHEST_PROTOCOL)
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
        return pid

    def _reap(self, *, block: bool, pid: int = -1) -> None:
        pid, status = os.waitpid(pid, 0 if block else os.WNOHANG)
        if pid == 0 or pid not in self._children:
            return
        what, read = self._children.pop(pid)
        message = os.read(read, 4096).decode("utf-8", "replace")
        os.close(read)
        code = os.waitstatus_to_exitcode(status)
        error = None if code == 0 else f"{what}: {message or 'the child process ended with status ' + str(code)}"
        if pid in self._awaited:
            self._finished[pid] = error
        elif error is not None:
            self._errors.append(error)

    def outcome(self, pid: int) -> str | None:
        """Wait for one child of :func:`compute` (in ``_awaited``); None if it succeeded, else its error (then not
        counted among :meth:`wait`'s failures)."""
        while pid in self._children:
            self._reap(block=True, pid=pid)
        self._awaited.discard(pid)
        return self._finished.pop(pid, None)

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
        for path in self.result_files:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
        self.result_files.clear()


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


class Pending:
    """The result of :func:`compute`: computed in a child (or, outside a background context, here on first use).
    Collect it inside the context that started it: leaving the context removes unread results."""

    def __init__(self, fn, args, what, bg: Background | None):
        self._fn, self._args = fn, args
        self._bg, self._pid, self._path = bg, None, None
        self._done, self._value = False, None
        if bg is not None:
            fd, self._path = tempfile.mkstemp(prefix="clustermodel-", suffix=".pickle")
            os.close(fd)
            bg.result_files.add(self._path)
            self._pid = bg.submit(fn, *args, what=what, result_path=self._path)
            bg._awaited.add(self._pid)  # before anything can reap it: the parent reaps only inside submit/outcome/wait

    def result(self):
        """The function's return value; a failure in the child is raised here as a ClusterModelError."""
        if not self._done:
            if self._bg is None:
                self._value = self._fn(*self._args)
            else:
                try:
                    error = self._bg.outcome(self._pid)
                    if error is not None:
                        raise ClusterModelError(f"background job failed: {error}")
                    with open(self._path, "rb") as fh:
                        self._value = pickle.load(fh)
                finally:
                    self._bg.result_files.discard(self._path)
                    os.unlink(self._path)
            self._done = True
            self._fn = self._args = None
        return self._value


def compute(fn, *args, what: str = "") -> Pending:
    """Start ``fn(*args)`` in a forked child if a background context is open, else defer it to the first
    :meth:`Pending.result`; either way the caller collects the value with ``.result()``."""
    return Pending(fn, args, what, _CURRENT)
