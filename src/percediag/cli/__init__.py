"""The command line. `main` is the program's entry point: it makes the environment safe (a
closed or full stdout, an encoding that cannot show a character), runs the command, and turns
every failure into one line on stderr.

A plain check line (`percediag check train.log -q`, see cli.quick) runs without typer, whose
import and parser build are about a sixth of a small check's start; anything else (another
command, help, an option cli.quick does not read, a usage error) goes to the typer app
(cli.commands), which reads the whole line.

Exit codes (ruff/pytest style): 0 no finding fails the gate, 1 a finding
does (including `log.no_data`), 2 usage error, unreadable input or bad
configuration, printed as one line on stderr.
"""

from __future__ import annotations

import os
import sys

from percediag.cli.choices import EXIT_OK, EXIT_USAGE
from percediag.cli.streams import Closed, Stderr, Stdout, closed_fd, silence_stdout
from percediag.errors import PercediagError


def __getattr__(name: str):
    # `from percediag.cli import app`: the typer app, imported only when asked for.
    if name == "app":
        from percediag.cli.commands import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _main() -> None:
    """Run the command line; percediag's own errors become one line and exit 2."""
    from percediag.cli.quick import read_check_line

    try:
        request = read_check_line(sys.argv[1:])
        if request is None:
            from percediag.cli.commands import run_app

            code = run_app()
        else:
            from percediag.cli.check import run_check

            try:
                code = run_check(**request)
            except KeyboardInterrupt:
                code = 130  # Ctrl-C: exit 130 and no message, as the typer app ends a command
    except PercediagError as exc:
        # Messages quote file names and values the user gave: controls stripped (report.sanitize).
        from percediag.report.sanitize import clean

        sys.stderr.write(f"percediag: error: {clean(str(exc))}\n")
        sys.exit(EXIT_USAGE)
    except BrokenPipeError:
        # The reader went away (`percediag rules | head`): not an error of ours.
        silence_stdout()
        sys.exit(EXIT_OK)
    sys.exit(code)


def main() -> None:
    """Entry point: `_main`, with the environment made safe around it. No traceback, whatever
    the input or the environment: a closed or full stdout, an unreadable or over-long path, a
    deleted working directory, a bug (`internal error`, one line; PERCEDIAG_DEBUG=1 shows the
    traceback) all end in one line on stderr and exit 2; stdout is flushed before exiting, so
    a write that fails late fails here, not in the interpreter's shutdown."""
    saved = sys.stdout, sys.stderr
    # A closed descriptor 0-2 would be handed to the next file opened: hold each with /dev/null.
    for fd, name in ((1, "standard output"), (2, "standard error")):
        if closed_fd(fd):
            os.dup2(os.open(os.devnull, os.O_RDWR), fd)
            if fd == 1:
                sys.stdout = Closed(name, fd)
            else:
                sys.stderr = open(fd, "w", closefd=False)
    if sys.stdout is None:
        sys.stdout = Closed("standard output", 1)
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w")
    # A terminal or pipe that cannot encode a character of a log (PYTHONIOENCODING=ascii) gets an
    # escape for it, not an internal error and no verdict.
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
    sys.stdout, sys.stderr = Stdout(sys.stdout), Stderr(sys.stderr)
    program = _is_program()
    if program and sys.argv[1:2] and sys.argv[1] in _FORECASTING:
        # numpy's OpenBLAS starts a thread per core when it is imported (40 ms of CPU, measured):
        # a forecast's fits are far too small to use them. Set for the commands that forecast
        # and run no program of the user's (watch does: its command keeps the environment).
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    code = EXIT_OK
    try:
        _main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (EXIT_OK if exc.code is None else EXIT_USAGE)
    except KeyboardInterrupt:
        code = _fatal("interrupted", 130, prefix="percediag: ")
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        code = _fatal(f"{where}{exc.strerror or exc}")
    except MemoryError:
        code = _fatal("out of memory")
    except RecursionError:
        code = _fatal("input nested too deeply")
    except Exception as exc:  # a bug in percediag: still one line (the traceback on request)
        if os.environ.get("PERCEDIAG_DEBUG"):
            import traceback

            traceback.print_exc()
        code = _fatal(f"{type(exc).__name__}: {exc} (set PERCEDIAG_DEBUG=1 for the traceback)", prefix="percediag: internal error: ")
    try:
        sys.stdout.flush()
    except OSError as exc:
        code = _fatal(f"{exc.filename or 'standard output'}: {exc.strerror or exc}")
    finally:
        sys.stdout, sys.stderr = saved
    if program and _nothing_pending():
        # percediag is the program (its entry point or `python -m percediag`), and its output
        # is flushed: end without the interpreter's teardown, which frees every module
        # (numpy, pydantic, rich) one by one (70 ms of CPU for a small check, measured).
        # An in-process caller keeps its interpreter.
        _flush_streams()
        os._exit(code)
    sys.exit(code)


_FORECASTING = ("check", "diff", "history")


def _is_program() -> bool:
    """percediag is the program (its entry point or `python -m percediag`), not a caller's function."""
    return getattr(sys.modules.get("__main__"), "main", None) is main


def _nothing_pending() -> bool:
    """Nothing the teardown would still do: no exit handler registered (by a library or a
    plugin), no thread other than the main one that the interpreter would wait for. Otherwise
    percediag exits the ordinary way, and they run."""
    import atexit
    import threading

    handlers = getattr(atexit, "_ncallbacks", None)  # CPython's count of registered handlers
    if handlers is None or handlers():
        return False
    return all(thread.daemon for thread in threading.enumerate() if thread is not threading.main_thread())


def _flush_streams() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):
            # Closed or gone: whatever it held was already said to be lost (see _fatal).
            pass


def _fatal(message: str, code: int = EXIT_USAGE, prefix: str = "percediag: error: ") -> int:
    """One line on stderr, after what stdout holds (a report printed before the failure) is
    flushed; if stdout cannot take it either, it is dropped, so nothing fails at exit."""
    from percediag.report.sanitize import clean

    try:
        sys.stdout.flush()
    except Exception:
        if isinstance(sys.stdout, Stdout):
            sys.stdout.gone = True
        try:
            silence_stdout()
        except (OSError, ValueError, AttributeError):
            pass
    try:
        sys.stderr.write(prefix + " ".join(clean(message).split()) + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    return code
