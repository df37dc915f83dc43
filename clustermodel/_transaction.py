"""A whole report run as one transaction on its output folder.

- :func:`locked` holds an exclusive lock on the output folder for the whole run (``flock`` on the folder itself,
  so nothing is written into it for the lock); a second run on the same folder is refused with a clear message.
- :func:`transaction` yields a private staging folder inside the output folder. Every output of the run is written
  there. When the run succeeds, a journal listing what to move in and what to delete is written, then applied;
  a run that fails, is interrupted or runs out of disk removes its staging folder and leaves the output folder as
  it was. A run killed outright (SIGKILL) leaves its staging folder behind; the next run removes it, and if it was
  killed while publishing (after the journal was written), the next run completes the publication first.
- Only files the previous run's ``manifest.json`` listed are ever deleted: files of the user's own in the folder
  are left alone, and files of an earlier run that this run did not produce are removed, so a report folder holds
  the outputs of exactly one run.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import shutil
import tempfile
from pathlib import Path

from clustermodel._errors import ClusterModelError

__all__ = ["locked", "transaction", "recover", "STAGING_PREFIX", "JOURNAL"]

STAGING_PREFIX = ".clustermodel-staging-"
JOURNAL = ".clustermodel-publish.json"


@contextlib.contextmanager
def locked(folder: Path):
    """Hold an exclusive, non-blocking lock on ``folder`` (created if needed; removed again if the run fails and
    this call created it)."""
    folder = Path(folder)
    created = not folder.exists()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ClusterModelError(f"cannot create output folder {folder}: {exc.strerror}; choose a writable --out") from None
    if not folder.is_dir():
        raise ClusterModelError(f"output folder {folder} is not a folder; choose another --out")
    fd = os.open(folder, os.O_RDONLY)
    ok = False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise ClusterModelError(
                    f"another clustermodel run is writing into {folder}; wait for it to finish or choose another --out"
                ) from None
            raise
        yield folder
        ok = True
    finally:
        os.close(fd)
        if created and not ok:
            with contextlib.suppress(OSError):
                folder.rmdir()  # only if still empty


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def _previous_outputs(folder: Path) -> list[str]:
    manifest = folder / "manifest.json"
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    names = [str(k) for k in data.get("outputs", {})] + [str(k) for k in data.get("unhashed_outputs", [])] + ["manifest.json"]
    return [n for n in names if not n.startswith(".") and ".." not in Path(n).parts]


def _apply(folder: Path, journal: dict) -> None:
    stage = folder / journal["stage"]
    for rel in journal["move"]:
        src = stage / rel
        if src.exists():
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            os.replace(src, folder / rel)
    for rel in journal["delete"]:
        with contextlib.suppress(FileNotFoundError):
            (folder / rel).unlink()
    shutil.rmtree(stage, ignore_errors=True)
    (folder / JOURNAL).unlink(missing_ok=True)


def recover(folder: Path) -> list[str]:
    """Finish an interrupted publication and remove the staging folders of killed runs; return what was done.

    Call only while holding :func:`locked` on ``folder``.
    """
    folder = Path(folder)
    done = []
    journal = folder / JOURNAL
    if journal.exists():
        try:
            _apply(folder, json.loads(journal.read_text(encoding="utf-8")))
            done.append("completed the publication of an interrupted run")
        except (OSError, ValueError, KeyError):
            journal.unlink(missing_ok=True)
    for p in folder.glob(STAGING_PREFIX + "*"):
        shutil.rmtree(p, ignore_errors=True)
        done.append(f"removed {p.name}, left by a run that was killed")
    return done


#: The interrupt the command line's signal handlers (SIGINT, SIGTERM) received, recorded before they raise it. An
#: exception raised by a signal handler is lost when it lands in code that swallows it (a ``__del__`` or a weakref
#: callback that happens to run at that moment), and the run would go on and publish; a transaction checks this
#: record before it publishes, so an interrupted run never does.
_interrupted: list[type[BaseException]] = []


def record_interrupt(kind: type[BaseException]) -> None:
    """Note that the process was asked to stop with ``kind`` (called from a signal handler)."""
    _interrupted.append(kind)


def clear_interrupts() -> None:
    """Forget earlier interrupts (at the start of a command)."""
    _interrupted.clear()


def raise_if_interrupted() -> None:
    """Raise the recorded interrupt, if any (between stages, and before publishing)."""
    if _interrupted:
        raise _interrupted[0]()


@contextlib.contextmanager
def transaction(folder: Path):
    """Yield a staging folder; publish its whole content into ``folder`` at the end, or nothing at all."""
    folder = Path(folder)
    try:
        stage = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=folder))
    except OSError as exc:
        raise ClusterModelError(f"cannot write into {folder}: {exc.strerror}; choose a writable --out") from None
    try:
        yield stage
    except OSError as exc:
        shutil.rmtree(stage, ignore_errors=True)
        name = exc.filename
        if name and Path(name).is_relative_to(stage):
            name = folder / Path(name).relative_to(stage)  # the file as it would have been published
        fix = "free some space or choose another --out" if exc.errno == errno.ENOSPC else "choose another --out"
        raise ClusterModelError(f"cannot write {name or folder}: {exc.strerror or exc}; {fix}; {folder} is as it was") from None
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    try:  # a signal arrived and its exception was swallowed somewhere: still publish nothing
        raise_if_interrupted()
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    new = _files(stage)
    journal = {"stage": stage.name, "move": new, "delete": [n for n in _previous_outputs(folder) if n not in new]}
    tmp = folder / (JOURNAL + ".tmp")
    try:
        tmp.write_text(json.dumps(journal), encoding="utf-8")
        os.replace(tmp, folder / JOURNAL)
    except OSError as exc:
        shutil.rmtree(stage, ignore_errors=True)
        tmp.unlink(missing_ok=True)
        raise ClusterModelError(f"cannot write {folder / JOURNAL}: {exc.strerror}; free some space or choose another --out") from None
    _apply(folder, journal)
