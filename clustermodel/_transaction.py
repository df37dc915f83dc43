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
- Nothing outside the output folder is ever touched. ``manifest.json`` and the publish journal are files anyone can
  edit (``reports/manifest.json`` is committed, so a crafted one arrives with a clone): every name either lists
  must be a plain relative path inside the folder, reached without following a symbolic link, naming a regular
  file (a journal's staging folder: a folder named ``.clustermodel-staging-*`` directly inside it). A manifest or
  journal that names anything else is refused with one line and nothing is moved or deleted.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import re
import shutil
import stat
import tempfile
from pathlib import Path

from clustermodel._errors import ClusterModelError

__all__ = ["locked", "transaction", "published", "recover", "STAGING_PREFIX", "JOURNAL"]

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


class UnsafePath(ClusterModelError):
    """A manifest or journal names a path this package may not touch."""


def _checked(folder: Path, rel: object, *, source: str, kind: str = "file") -> Path:
    """``folder / rel`` if ``rel`` names a path this package may remove or replace, else raise :class:`UnsafePath`.

    ``rel`` must be a non-empty relative path of plain components (no ``..``, no component starting with ``.``
    unless it is the staging folder, no backslash or NUL), and every folder on the way to it must be a real
    folder, not a symbolic link (``lstat``, so a link is never followed). The last component must not exist, or be
    a regular file (``kind="file"``) or a real folder (``kind="folder"``).
    """
    def refuse(why: str) -> UnsafePath:
        return UnsafePath(
            f"{source} lists {rel!r}, {why}; clustermodel only removes or replaces files it wrote inside {folder}. "
            f"Nothing was changed: delete {source} if you did not write it, then run again"
        )

    if not isinstance(rel, str) or not rel or "\0" in rel or "\\" in rel:
        raise refuse("which is not a file name")
    path = Path(rel)
    if path.is_absolute() or rel.startswith("~"):
        raise refuse("an absolute path outside the output folder")
    parts = path.parts
    if any(part in ("", ".", "..") for part in parts) or rel != "/".join(parts):
        raise refuse("a path that leaves the output folder or is not in plain form")
    for i, part in enumerate(parts):
        if part.startswith(".") and not (kind == "folder" and i == len(parts) - 1 and part.startswith(STAGING_PREFIX)):
            raise refuse("a hidden name")
    current = folder
    for i, part in enumerate(parts):
        current = current / part
        try:
            st = os.lstat(current)
        except FileNotFoundError:
            return folder.joinpath(*parts)  # nothing there yet (or any more): nothing to remove, nothing followed
        except OSError as exc:
            raise refuse(f"which cannot be inspected ({exc.strerror})") from None
        last = i == len(parts) - 1
        if stat.S_ISLNK(st.st_mode):
            raise refuse("a path through a symbolic link" if not last else "a symbolic link")
        if not last and not stat.S_ISDIR(st.st_mode):
            raise refuse("a path through something that is not a folder")
        if last and kind == "file" and not stat.S_ISREG(st.st_mode):
            raise refuse("which is not a regular file")
        if last and kind == "folder" and not stat.S_ISDIR(st.st_mode):
            raise refuse("which is not a folder")
    return folder.joinpath(*parts)


def _previous_outputs(folder: Path) -> list[str]:
    """The files the previous run's ``manifest.json`` lists, each checked to be a file it may remove."""
    manifest = folder / "manifest.json"
    if manifest.is_symlink():
        raise UnsafePath(f"{manifest} is a symbolic link; clustermodel only replaces files it wrote. Nothing was changed: "
                         "remove it, then run again")
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    if not isinstance(data, dict):
        return []
    outputs = data.get("outputs", {})
    unhashed = data.get("unhashed_outputs", [])
    names = (list(outputs) if isinstance(outputs, dict) else []) + (list(unhashed) if isinstance(unhashed, list) else [])
    for name in names:
        _checked(folder, name, source=str(manifest))
    return sorted({str(n) for n in names} | {"manifest.json"})


_STAGE_NAME = re.compile(re.escape(STAGING_PREFIX) + r"[A-Za-z0-9_]+")


def _checked_journal(folder: Path, journal: object, source: str) -> dict:
    """The journal, with every path in it checked (:func:`_checked`); raise :class:`UnsafePath` otherwise."""
    if not (isinstance(journal, dict) and isinstance(journal.get("stage"), str)
            and isinstance(journal.get("move"), list) and isinstance(journal.get("delete"), list)):
        raise UnsafePath(f"{source} is not a publish journal clustermodel wrote. Nothing was changed: delete it, then run again")
    stage_name = journal["stage"]
    if not _STAGE_NAME.fullmatch(stage_name):
        raise UnsafePath(
            f"{source} names the staging folder {stage_name!r}, which is not one clustermodel makes. "
            "Nothing was changed: delete it, then run again"
        )
    stage = _checked(folder, stage_name, source=source, kind="folder")
    for rel in journal["move"]:
        _checked(stage, rel, source=source)
        _checked(folder, rel, source=source)
    for rel in journal["delete"]:
        _checked(folder, rel, source=source)
    return journal


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
    if journal.is_symlink():
        raise UnsafePath(f"{journal} is a symbolic link, not a journal clustermodel wrote. Nothing was changed: "
                         "remove it, then run again")
    if journal.exists():
        try:
            record = json.loads(journal.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            record = None
        if record is None:  # a journal cut short while it was written is never applied (its .tmp was not renamed)
            journal.unlink(missing_ok=True)
        else:
            _apply(folder, _checked_journal(folder, record, str(journal)))
            done.append("completed the publication of an interrupted run")
    for p in sorted(folder.glob(STAGING_PREFIX + "*")):
        if p.is_symlink() or not p.is_dir() or not _STAGE_NAME.fullmatch(p.name):
            continue  # not a staging folder of ours: left alone
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
def transaction(folder: Path, *, replace_previous: bool = True):
    """Yield a staging folder; publish its whole content into ``folder`` at the end, or nothing at all.

    With ``replace_previous`` (a report run) the files of the previous run that ``manifest.json`` lists and this run
    did not write are removed; without it (a single command writing into a folder) nothing is ever removed.
    """
    folder = Path(folder)
    previous = _previous_outputs(folder) if replace_previous else []  # a crafted manifest is refused before any work
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
    except ClusterModelError as exc:  # a writer's own message (e.g. a full disk met by atomic_path): nothing published
        shutil.rmtree(stage, ignore_errors=True)
        if str(exc).startswith("cannot write"):
            raise ClusterModelError(f"{exc}; {folder} is as it was") from None
        raise
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    try:  # a signal arrived and its exception was swallowed somewhere: still publish nothing
        raise_if_interrupted()
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    new = _files(stage)
    try:
        journal = {"stage": stage.name, "move": new, "delete": [n for n in previous if n not in new]}
        _checked_journal(folder, journal, "the publish journal")
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    tmp = folder / (JOURNAL + ".tmp")
    try:
        tmp.unlink(missing_ok=True)  # a link planted under this name is removed, never written through
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o644)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(journal))
        os.replace(tmp, folder / JOURNAL)
    except OSError as exc:
        shutil.rmtree(stage, ignore_errors=True)
        tmp.unlink(missing_ok=True)
        raise ClusterModelError(
            f"cannot write {folder / JOURNAL}: {exc.strerror}; free some space or choose another --out; {folder} is as it was"
        ) from None
    _apply(folder, journal)


@contextlib.contextmanager
def published(folder: Path, *, replace_previous: bool, say=None):
    """The one way any command writes into an output folder: lock it, finish or clear what an earlier killed run
    left (reporting each line to ``say``), and yield a staging folder published at once at the end.

    ``replace_previous``: a report run replaces the previous run's files (see :func:`transaction`); a single
    command (``index``, ``sobol``, …) only adds or replaces its own files.
    """
    with locked(folder) as folder:
        for line in recover(folder):
            if say is not None:
                say(f"[clustermodel] {line}")
        with transaction(folder, replace_previous=replace_previous) as stage:
            yield stage


def finish_interrupted(folder: Path, say=None) -> list[str]:
    """If ``folder`` holds what a killed run left (a publish journal or staging folders), lock it and finish or
    remove that now; return what was done. Every command that names an output folder calls this first, before
    it validates anything, so a half-published folder is repaired by the next command whatever that command does
    (even one that then fails on its own input)."""
    folder = Path(folder)
    if folder.is_symlink() or not folder.is_dir():
        return []
    if not ((folder / JOURNAL).exists() or (folder / JOURNAL).is_symlink() or any(folder.glob(STAGING_PREFIX + "*"))):
        return []
    with locked(folder):
        done = recover(folder)
    for line in done:
        if say is not None:
            say(f"[clustermodel] {line}")
    return done
