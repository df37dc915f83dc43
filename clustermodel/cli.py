"""Command-line interface: ``clustermodel <command> …`` or ``python -m clustermodel``.

Errors on bad input are printed as one line (``clustermodel: error: …``) with
exit status 2; warnings as one line each on standard error.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import warnings
from pathlib import Path

from clustermodel._version import __version__
from clustermodel._errors import ClusterModelError, ClusterModelWarning

__all__ = ["main", "build_parser", "run_guarded"]


def _commands():
    import clustermodel.commands as pkg

    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        mod = importlib.import_module(f"clustermodel.commands.{info.name}")
        yield mod


class _UsageError(Exception):
    """A command line argparse rejects (unknown option, a value of the wrong type …)."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error becomes one line (like every other error), not usage + message."""

    def error(self, message):
        raise _UsageError(f"{message} (run '{self.prog} --help' for the options)")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The command line; with ``command``, only that subcommand's options are built (the others import nothing)."""
    parser = _Parser(
        prog="clustermodel",
        description=(
            "Audit a composite index: its scores, ranks and conclusions, how much they depend on the weights and on "
            "every construction choice, with honest statistics. Give your own units with --units and --weights "
            "or --structure; without data options every command runs on the paper's 25 clusters in data/."
        ),
        epilog="Run 'clustermodel <command> --help' for the options of one command.",
    )
    parser.add_argument("-V", "--version", action="version", version=f"clustermodel {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="<command>")
    for mod in _commands():
        p = sub.add_parser(mod.NAME, help=mod.HELP, description=mod.HELP)
        if command is None or command == mod.NAME:
            mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def _command_of(argv) -> str:
    """The subcommand a command line names (its first word that is not an option), or '' for none."""
    for word in sys.argv[1:] if argv is None else argv:
        if not word.startswith("-"):
            return word
    return ""


def _one_line_warning(message, category, filename, lineno, file=None, line=None):
    """Every warning as one line: ours as written; another library's (e.g. numpy's RuntimeWarning) with its
    category and the module and line it came from, never the source line that Python prints beneath it."""
    if issubclass(category, ClusterModelWarning):
        print(f"clustermodel: warning: {message}", file=sys.stderr)
        return
    text = " ".join(str(message).split())
    print(f"clustermodel: warning: {category.__name__}: {text} (at {Path(filename).name}:{lineno})", file=sys.stderr)


def main(argv=None) -> int:
    parser = build_parser(_command_of(argv))
    try:
        args = parser.parse_args(argv)
    except _UsageError as exc:
        print(f"clustermodel: error: {exc}", file=sys.stderr)
        return 2
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        return run_guarded(lambda: _run(args))
    except KeyboardInterrupt:  # a Ctrl-C handled only once run_guarded had restored the default handler (seen once
        # under load in tests/test_transaction.py: the process died of SIGINT instead of exiting 130); the transaction
        # had finished by then, one way or the other, so nothing is said about the folder
        print("clustermodel: interrupted", file=sys.stderr)
        return 130


def _run(args):
    out = getattr(args, "out", None)
    if out:  # finish what a killed run left in the output folder before anything else (docs/bad_inputs.md)
        from clustermodel._transaction import finish_interrupted

        finish_interrupted(out, say=lambda line: print(line, file=sys.stderr))
    try:
        return args._run(args)
    except ClusterModelError as exc:
        raise _located(exc, args) from None


#: The options that name an input file, in the order a message lists them.
_INPUT_OPTIONS = ("clusters", "weights", "structure", "spec", "regions", "region_weights", "config", "experts")


def _located(exc: ClusterModelError, args) -> ClusterModelError:
    """``exc``, or, when its message names no input file and no option (an error found while computing, e.g. a
    geometric mean of a negative score naming only the node and the unit), the same message followed by the input
    files this command was given, so the one line says where to look."""
    text = str(exc)
    if getattr(exc, "file", None) is not None or "--" in text or "`" in text:  # names a file, an option or an argument
        return exc
    given = [(name, getattr(args, name, None)) for name in _INPUT_OPTIONS]
    given = [(name, str(v)) for name, v in given if v]
    if any(v in text or Path(v).name in text for _, v in given):
        return exc
    option = {"clusters": "units"}  # the unit table's option is --units (--clusters is its alias)
    where = ", ".join(f"--{option.get(name, name).replace('_', '-')} {v}" for name, v in given) or "the paper's data (data/)"
    located = type(exc).__new__(type(exc))
    located.__dict__.update(exc.__dict__)
    located.args = (f"{text} (inputs: {where})",)
    return located


class _Terminated(BaseException):
    """SIGTERM, raised in the main thread so that a run cleans up its staging folder like on Ctrl-C."""


def _on_sigterm(signum, frame):
    from clustermodel._transaction import record_interrupt

    record_interrupt(_Terminated)
    raise _Terminated()


def _on_sigint(signum, frame):
    from clustermodel._transaction import record_interrupt

    record_interrupt(KeyboardInterrupt)
    raise KeyboardInterrupt()


def run_guarded(func) -> int:
    """Call ``func()``; turn clustermodel errors into one line on stderr and exit status 2.

    clustermodel's warnings are messages to the user: each is printed as one line, whatever the process's
    warning filters say (``-W error`` or pytest's ``filterwarnings = error`` included). SIGINT (Ctrl-C) and
    SIGTERM interrupt a run cleanly: the output folder is left as it was (exit 130 / 143).
    """
    import signal
    import threading

    from clustermodel._transaction import clear_interrupts

    clear_interrupts()
    old_term = old_int = None
    if threading.current_thread() is threading.main_thread():
        old_term = signal.signal(signal.SIGTERM, _on_sigterm)
        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:  # not where the shell ignores Ctrl-C
            old_int = signal.signal(signal.SIGINT, _on_sigint)
    try:
        with warnings.catch_warnings():  # restores the filters and showwarning afterwards
            warnings.simplefilter("default", ClusterModelWarning)
            warnings.showwarning = _one_line_warning
            return _run_guarded(func)
    finally:
        if old_term is not None:
            signal.signal(signal.SIGTERM, old_term)
        if old_int is not None:
            signal.signal(signal.SIGINT, old_int)


def _run_guarded(func) -> int:
    try:
        return int(func() or 0)
    except ClusterModelError as exc:
        print(f"clustermodel: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into e.g. `head`
        sys.stderr.close()
        return 0
    except OSError as exc:
        print(f"clustermodel: error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), file=sys.stderr)
        return 2
    except MemoryError:
        print(
            "clustermodel: error: out of memory; give the run less to hold at once (a smaller --memory-limit, fewer "
            "samples with --n / --n-resamples, or fewer units), or run it on a machine with more memory; "
            "the output folder is as it was",
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:
        print("clustermodel: interrupted; the output folder is as it was", file=sys.stderr)
        return 130
    except _Terminated:
        print("clustermodel: terminated; the output folder is as it was", file=sys.stderr)
        return 143


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
