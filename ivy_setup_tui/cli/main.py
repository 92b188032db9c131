"""Command-line entry point: parses arguments, builds the SystemContext, runs a command or wizard.

Only what a command needs is imported, and only when it runs: `ivy-setup check` never imports
textual, rich, requests (with --offline), cryptography or ivy, so it starts about as fast as Python.
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Sequence

from ivy_setup_tui import __version__
from ivy_setup_tui.cli.common import UsageError, diagnose, exit_for
from ivy_setup_tui.core.exit_codes import ExitCode

# `check` starts its interpreter probe before importing anything else, so everything imported here
# delays it: `typing` (annotations are never evaluated), `json` (--json), argparse and pathlib
# (not needed by `--version`) load only when needed.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable
    from pathlib import Path
    from typing import Any

    from ivy_setup_tui.core.checks import Diagnosis
    from ivy_setup_tui.core.context import SystemContext
    from ivy_setup_tui.core.explain import StreamedText
    from ivy_setup_tui.core.journal import Journal

# Commands that diagnose and exit within a second or so.
_SHORT_COMMANDS = frozenset({"check", "explain", "report"})


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole CLI: the wizard at top level and the scriptable subcommands.

    With `only` (see `_chosen_command`), the other subcommands get no parser: argparse builds and
    translates every help text of each one, which `check` would pay for on every run.
    """
    import argparse

    target = _target_parser()
    parser = argparse.ArgumentParser(
        prog="ivy-setup",
        parents=[target],
        formatter_class=_help_formatter,
        description=(
            "Make the ivy package's API key work on this machine, and keep it working. "
            "Without a command, starts the interactive wizard."
        ),
        epilog="Exit codes: 0 nothing left to do, 1 findings remain, 2 usage error or bad input, "
        "3 changes applied and a new shell is needed, 130 cancelled.",
    )
    parser.add_argument("--version", action="version", version=_VERSION)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    make = commands.add_parser if only is None else _only(commands, only)

    def add_parser(name: str, **kwargs: Any) -> argparse.ArgumentParser:
        return make(name, formatter_class=_help_formatter, **kwargs)

    _add_check(add_parser, target)
    _add_explain(add_parser, target)
    _add_report(add_parser, target)
    _add_fix(add_parser, target)
    _add_undo(add_parser)
    return parser


def _path(text: str) -> Path:
    """argparse's converter for the path options: pathlib loads only once one is given. `--help`
    never needs it (3.7 ms, with the urllib.parse and ipaddress it imports, of a 7 ms start)."""
    from pathlib import Path

    return Path(text)


def _target_parser() -> argparse.ArgumentParser:
    """The options naming what to check (--project, --python, --offline), shared by the commands."""
    import argparse

    target = argparse.ArgumentParser(add_help=False, formatter_class=_help_formatter)
    target.add_argument(
        "--project",
        metavar="DIR",
        type=_path,
        default=argparse.SUPPRESS,
        help="the directory you run ivy scripts from (default: the current directory)",
    )
    target.add_argument(
        "--python",
        metavar="PATH",
        type=_path,
        default=argparse.SUPPRESS,
        help="the Python interpreter ivy is (or will be) installed in",
    )
    target.add_argument(
        "--offline",
        action="store_true",
        default=argparse.SUPPRESS,
        help="do not use the network (skips the index and reachability checks)",
    )

    return target


def _add_check(
    add_parser: Callable[..., argparse.ArgumentParser], target: argparse.ArgumentParser
) -> None:
    check = add_parser(
        "check", parents=[target], help="diagnose the setup; changes nothing on disk"
    )
    check.add_argument("--json", action="store_true", help="print one JSON object (schema 1)")
    check.add_argument(
        "--online",
        action="store_true",
        help="also ask ivy's key server whether the key is valid (sends the key, as ivy does)",
    )
    check.add_argument("--verbose", "-v", action="store_true", help="details for every finding")


def _add_explain(
    add_parser: Callable[..., argparse.ArgumentParser], target: argparse.ArgumentParser
) -> None:
    explain = add_parser(
        "explain", parents=[target], help="say what an ivy error message means for this machine"
    )
    explain.add_argument(
        "file", nargs="?", metavar="FILE|-", help="file holding the error text, or - for stdin"
    )
    explain.add_argument("--json", action="store_true", help="print the explanation as JSON")


def _add_report(
    add_parser: Callable[..., argparse.ArgumentParser], target: argparse.ArgumentParser
) -> None:
    report = add_parser(
        "report", parents=[target], help="a redacted Markdown report to share in a bug tracker"
    )
    report.add_argument("--output", "-o", metavar="FILE", type=_path, help="write it to FILE")
    report.add_argument(
        "--force", action="store_true", help="with --output: replace FILE if it exists"
    )


def _add_fix(
    add_parser: Callable[..., argparse.ArgumentParser], target: argparse.ArgumentParser
) -> None:
    fix = add_parser(
        "fix", parents=[target], help="apply the fixes the checks propose (for scripts)"
    )
    fix.add_argument("--yes", "-y", action="store_true", help="apply without asking")
    fix.add_argument(
        "--dry-run", action="store_true", help="print exactly what would change; change nothing"
    )
    fix.add_argument(
        "--only", metavar="STEP,...", help="steps to run: version, key, permissions, environment"
    )
    fix.add_argument(
        "--key-file",
        metavar="PATH|-",
        help="read the API key from a file, or - for stdin (never give the key itself)",
    )
    fix.add_argument(
        "--scope",
        choices=("home", "project"),
        help="key.pem placement: ~/.ivy for all projects (default) or this project's .ivy",
    )
    fix.add_argument("--ivy-version", metavar="SPEC", help="the ivy release to install")
    fix.add_argument(
        "--create-venv",
        action="store_true",
        help="for an externally-managed Python: create a venv in the project and install there",
    )
    fix.add_argument("--ivy-root", metavar="PATH", help="the IVY_ROOT to persist (absolute)")
    fix.add_argument(
        "--shells",
        metavar="LIST",
        help="shells to configure: bash,zsh,fish,pwsh,sh, and desktop for apps started outside "
        "a terminal (default: the shells you use)",
    )
    fix.add_argument(
        "--no-modify-rc",
        action="store_true",
        help="write the env files only and print the line to add to your shell files",
    )


def _add_undo(add_parser: Callable[..., argparse.ArgumentParser]) -> None:
    undo = add_parser("undo", help="revert the changes of a run (default: the last one)")
    undo.add_argument("run_id", nargs="?", metavar="RUN_ID")
    undo.add_argument("--list", action="store_true", help="list the runs that can be undone")
    undo.add_argument(
        "--force", action="store_true", help="undo even files that changed since the run"
    )
    undo.add_argument(
        "--forget",
        action="store_true",
        help="delete the backups of RUN (or of runs older than --older-than DAYS); they hold "
        "earlier file contents and keys, and that run can then no longer restore them",
    )
    undo.add_argument(
        "--older-than",
        metavar="DAYS",
        type=float,
        help="with --forget: every run that finished more than DAYS days ago",
    )


_COMMANDS = frozenset({"check", "explain", "report", "fix", "undo"})
# Top-level options that take a value: the token after them is not a command.
_VALUE_OPTIONS = frozenset({"--project", "--python"})


def _chosen_command(argv: Sequence[str]) -> str | None:
    """The subcommand `argv` names before any help option, "" for `--version` before a command
    (it prints and exits first), else None (then the whole parser is built: top-level help lists
    every command, and errors name them)."""
    after_value = False
    for token in argv:
        if after_value:
            after_value = False
        elif token.startswith("--") and any(o.startswith(token) for o in _VALUE_OPTIONS):
            after_value = True  # argparse also takes unambiguous prefixes (`--proj DIR`)
        elif token == "--version":
            return ""
        elif token in ("-h", "--help", "--"):
            return None
        elif not token.startswith("-"):
            return token if token in _COMMANDS else None
    return None


def _only(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], only: str
) -> Callable[..., argparse.ArgumentParser]:
    import argparse

    class Skipped(argparse.ArgumentParser):
        """Stands in for the parser of a subcommand the command line does not name."""

        def __init__(self) -> None:  # no super().__init__(): not building a parser is the point
            pass

        def add_argument(self, *args: Any, **kwargs: Any) -> Any:
            """Nothing to add to a parser that is not built."""
            return None

    def add_parser(name: str, **kwargs: Any) -> argparse.ArgumentParser:
        return commands.add_parser(name, **kwargs) if name == only else Skipped()

    return add_parser


_VERSION = f"ivy-setup {__version__}"


def _version_fits() -> bool:
    """Whether argparse would print `_VERSION` on one line: it wraps to the terminal's width
    less 2, and never below 11 columns."""
    return len(_VERSION) <= max(_terminal_columns() - 2, 11)


def _terminal_columns() -> int:
    """The terminal's width as `shutil.get_terminal_size()` gives it: $COLUMNS, else stdout's
    terminal, else 80. (argparse asks shutil, whose import brings bz2, lzma and zlib: 2.4 ms of
    every `ivy-setup check`.)"""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


def _help_formatter(prog: str) -> argparse.HelpFormatter:
    """argparse's own formatter, at the width it would choose (see `_terminal_columns`)."""
    import argparse

    return argparse.HelpFormatter(prog, width=_terminal_columns() - 2)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ivy-setup with `argv` and return the exit code."""
    tokens = sys.argv[1:] if argv is None else argv
    if list(tokens) == ["--version"] and _version_fits():
        print(_VERSION)  # what argparse's version action prints, without building a parser
        return ExitCode.OK
    parser = build_parser(_chosen_command(tokens))
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse already printed usage and the reason
        return int(exc.code) if isinstance(exc.code, int) else ExitCode.USAGE
    return _run(args.command in _SHORT_COMMANDS, lambda: _dispatch(args))


def _run(short: bool, command: Callable[[], int]) -> int:
    """Run a command, every failure the user can act on becoming a sentence and an exit code."""
    # The diagnosis commands allocate mostly what lives until exit (modules, classes), which the
    # cyclic GC would only scan again and again (about 5% of `check`), and once more at exit.
    # Longer runs (the wizard, fix, undo) keep the collector as it is.
    pause_gc = short and gc.isenabled()
    if pause_gc:
        gc.disable()
    previous_handlers = _exit_on_termination() if short else {}
    try:
        return command()
    except UsageError as exc:
        print(f"ivy-setup: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    except KeyboardInterrupt:
        print("\nivy-setup: cancelled.", file=sys.stderr)
        return ExitCode.CANCELLED
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): nothing more to say.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return ExitCode.OK
    except OSError as exc:
        # The one place every file-system failure ends: a sentence and exit 2, no traceback.
        print(f"ivy-setup: {os_error_message(exc)}", file=sys.stderr)
        return ExitCode.USAGE
    except Exception as exc:
        from ivy_setup_tui.core.platform.fsops import WriteRefused

        if not isinstance(exc, WriteRefused):
            raise
        print(f"ivy-setup: {os_error_message(exc)}", file=sys.stderr)
        return ExitCode.USAGE
    finally:
        if pause_gc:
            # What exists now lives until the process ends: frozen, the interpreter's final
            # collection skips it (about 10 ms of `check`). A caller that carries on still frees
            # it by reference counting; only cycles among it would stay.
            gc.freeze()
            gc.enable()
        if previous_handlers:
            import signal

            for signum, handler in previous_handlers.items():
                signal.signal(signum, handler)


def _exit_on_termination() -> dict[int, Any]:
    """Have SIGTERM and SIGHUP (`timeout`, a closed terminal) end a diagnosis as an exception
    would, with exit code 128 + the signal: the interpreter then ends the shells and the probe still
    running (`procread.start`). Python's default is to die at once, which leaves them running
    in their own sessions. Returns the handlers it replaced, to put back."""
    import signal
    import threading

    if os.name != "posix" or threading.current_thread() is not threading.main_thread():
        return {}
    return {
        signum: signal.signal(signum, _terminated) for signum in (signal.SIGTERM, signal.SIGHUP)
    }


def _terminated(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


# What the user can do about a file-system failure, by errno (ENOSPC, EDQUOT, EROFS, EACCES...).
_OS_ERROR_ADVICE = {
    "ENOSPC": "the disk is full: free some space and run the command again",
    "EDQUOT": "your disk quota is used up: free some space and run the command again",
    "EROFS": "it is on a read-only file system: remount it writable, or make the change yourself",
    "EACCES": "permission denied: make it writable for your user (or run as its owner)",
    "EPERM": "the operation is not permitted (an immutable file, or a foreign owner)",
    "EIO": "the disk reported an input/output error: check it, then run the command again",
}


def os_error_message(exc: Exception) -> str:
    """One plain sentence for an OSError: where, what, what to do, and how to undo a cut run."""
    import errno

    from ivy_setup_tui.core.platform.fsops import WriteRefused

    if isinstance(exc, WriteRefused):
        text = exc.reason
    elif not isinstance(exc, OSError):
        text = str(exc)
    else:
        name = errno.errorcode.get(exc.errno or 0, "")
        where = f" {exc.filename}" if exc.filename else ""
        what = exc.strerror or str(exc) or type(exc).__name__
        advice = _OS_ERROR_ADVICE.get(name)
        text = f"cannot write{where}: {what}" + (f"; {advice}." if advice else ".")
    run_id = getattr(exc, "ivy_setup_run", None)
    if isinstance(run_id, str):
        text += (
            f" Run {run_id} stopped part-way; its journal records every change it made, so "
            f"`ivy-setup undo {run_id}` reverts them (once there is room again)."
        )
    return text


def _dispatch(args: argparse.Namespace) -> int:
    command = args.command
    if command == "undo":
        return _cmd_undo(args)
    ctx = _context(args)
    if command == "check":
        return _cmd_check(ctx, as_json=args.json, verbose=args.verbose)
    if command == "explain":
        return _cmd_explain(ctx, args.file, as_json=args.json)
    if command == "report":
        return _cmd_report(ctx, args.output, force=args.force)
    if command == "fix":
        from ivy_setup_tui.cli.fix import run_fix

        return run_fix(ctx, args)
    return _cmd_wizard(ctx)


def _context(args: argparse.Namespace) -> SystemContext:
    """Validate --project/--python and read the process into a SystemContext."""
    from pathlib import Path

    from ivy_setup_tui.core.context import SystemContext

    project: Path | None = getattr(args, "project", None)
    python: Path | None = getattr(args, "python", None)
    if project is not None:
        resolved = Path(os.path.abspath(project))
        if not resolved.exists():
            raise UsageError(
                f"--project {project}: no such directory. Give the folder you run ivy from."
            )
        if not resolved.is_dir():
            raise UsageError(
                f"--project {project}: not a directory. Give the folder you run ivy from."
            )
        project = resolved
    if python is not None:
        if not python.exists() and os.sep not in str(python):
            from ivy_setup_tui.core.platform.pathsearch import which

            found = which(str(python), os.environ.get("PATH", os.defpath))
            if found is None:
                raise UsageError(
                    f"--python {python}: not found on PATH. Give the interpreter's path."
                )
            python = Path(found)
        elif not python.exists():
            raise UsageError(
                f"--python {python}: no such file. Give the path of a Python interpreter."
            )
        python = Path(os.path.abspath(python))
    return SystemContext.from_process(
        project=project,
        python=python,
        offline=bool(getattr(args, "offline", False)),
        online=bool(getattr(args, "online", False)),
    )


def _cmd_check(ctx: SystemContext, *, as_json: bool, verbose: bool) -> int:
    diagnosis = diagnose(ctx)
    if as_json:
        import json

        print(json.dumps(check_json(diagnosis), indent=2, ensure_ascii=False))
    else:
        sys.stdout.write(_human_report(diagnosis, verbose=verbose))
    return exit_for(diagnosis)


def check_json(diagnosis: Diagnosis) -> dict[str, object]:
    """The `check --json` object (SPEC §4): schema, tool version, target, findings, summary."""
    from ivy_setup_tui.core.model import summarize

    target = diagnosis.target
    ctx = diagnosis.ctx
    return {
        "schema": 1,
        "ivy_setup": __version__,
        "target": {
            "python": str(target.python) if target.python else None,
            "python_version": target.version,
            "source": target.source,
            "project": str(ctx.project),
            "ivy_version": target.ivy.version if target.ivy else None,
            "scheme": diagnosis.facts.scheme,
            "measured": diagnosis.facts.measured,
            "offline": ctx.offline,
            "online": ctx.online,
        },
        # Which terminal the findings describe (core/outcome.py): `check` reports the one it
        # runs in; `environment.persisted` reports what new terminals get.
        "view": diagnosis.view,
        "new_terminal_differs": new_terminal_differs(diagnosis),
        # Each finding says which terminal it describes, too (scripts may keep findings apart).
        "findings": [{**f.to_json(), "view": diagnosis.view} for f in diagnosis.findings],
        "summary": summarize(diagnosis.findings),
    }


def new_terminal_differs(diagnosis: Diagnosis) -> str | None:
    """IVY_ROOT as a new terminal of the user's login shell gets it, when that differs from this
    process's (read from `environment.persisted`, no second reading); None when they agree."""
    from ivy_setup_tui.core.model import THIS_TERMINAL

    if diagnosis.view != THIS_TERMINAL:
        return None
    try:
        shells = diagnosis.finding("environment.persisted").evidence.get("shells") or {}
    except KeyError:
        return None
    login = next((e for e in shells.values() if isinstance(e, dict) and e.get("login")), None)
    if login is None:
        return None
    value = login.get("value")
    current = diagnosis.ctx.env.get("IVY_ROOT")
    if value == current or (
        value is not None
        and current is not None
        and os.path.normpath(value) == os.path.normpath(current)
    ):
        return None
    return value if value is not None else ""


def _human_report(diagnosis: Diagnosis, *, verbose: bool = False) -> str:
    from ivy_setup_tui.cli.output import Style, header_line, render_findings

    ctx = diagnosis.ctx
    target = diagnosis.target
    style = Style.for_stream(sys.stdout, ctx.env)
    header = header_line(
        python=ctx.tilde(target.python) if target.python else "no interpreter",
        python_version=target.version,
        ivy_version=target.ivy.version if target.ivy else None,
        scheme=diagnosis.facts.scheme,
        project=ctx.tilde(ctx.project),
    )
    text = render_findings(diagnosis.findings, style, header=header, verbose=verbose)
    differs = new_terminal_differs(diagnosis)
    if differs is not None:
        now = ctx.env.get("IVY_ROOT")
        here = f"IVY_ROOT={now}" if now else "no IVY_ROOT"
        there = f"IVY_ROOT={differs}" if differs else "no IVY_ROOT"
        text += (
            f"\nThis report describes this terminal ({here}); a new terminal gets {there} from "
            "your shell files. Open a new terminal and run `ivy-setup check` there to see what "
            "it gets.\n"
        )
    return text


def _cmd_explain(ctx: SystemContext, source: str | None, *, as_json: bool) -> int:
    from ivy_setup_tui.core.explain import explain, render_explanation

    streamed = _read_input(source)
    text = streamed.text
    if not text.strip():
        raise UsageError(
            "nothing to explain: give a file holding the error, or paste it on stdin (`-`)."
        )
    offline_ctx = ctx if ctx.offline else _replace_offline(ctx)
    explanation = explain(text, diagnose(offline_ctx))
    note = streamed.note()
    if as_json:
        import json

        data = explanation.to_json()
        data["input"] = {
            "bytes_read": streamed.total_bytes,
            "partial": streamed.partial,
            "stopped_at_limit": streamed.stopped,
            "note": note,
        }
        print(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        sys.stdout.write(render_explanation(explanation))
        if note:
            print(f"\n{note}")
    return ExitCode.OK if explanation.recognised else ExitCode.FINDINGS


def _replace_offline(ctx: SystemContext) -> SystemContext:

    # explain relates the message to local state only; it has no reason to wait on the network
    return ctx._replace(offline=True)


# How long `explain` waits on a FIFO, pipe or terminal that sends nothing (a paste may take a while).
_EXPLAIN_WAIT = 600.0


def _read_input(source: str | None) -> StreamedText:
    """The text of FILE, or stdin for `-` (or when no FILE is given and stdin is not a terminal).

    Streamed with bounded memory (see `explain.stream_text`); binary input is refused the same
    way (exit 2) from a file and from stdin.
    """
    from itertools import chain

    from ivy_setup_tui.core.explain import stream_text
    from ivy_setup_tui.core.inputs import InputError, is_binary, open_source, read_chunks

    if source is None and sys.stdin.isatty():
        print("Paste the error or traceback, then press Ctrl-D:", file=sys.stderr)
    name = "-" if source in (None, "-") else str(source)
    try:
        opened = open_source(name, stdin_fd=sys.stdin.fileno())
    except InputError as exc:
        raise UsageError(str(exc)) from None
    try:
        chunks = read_chunks(opened, timeout=_EXPLAIN_WAIT)
        head = b""
        for chunk in chunks:  # enough to tell text from binary, then stream the rest
            head += chunk
            if len(head) >= 8192:
                break
        if is_binary(head):
            shown = "stdin" if name == "-" else name
            raise UsageError(f"{shown}: is binary data, not an error message.")
        return stream_text(chain((head,), chunks))
    except InputError as exc:
        raise UsageError(str(exc)) from None
    finally:
        opened.close()


def _cmd_report(ctx: SystemContext, output: Path | None, *, force: bool = False) -> int:
    from ivy_setup_tui.core.report import render_report

    if output is not None:
        _check_report_output(ctx, output, force=force)
    diagnosis = diagnose(ctx)
    text = render_report(diagnosis)  # it collects the key texts to scrub itself
    if output is None:
        sys.stdout.write(text)
        return exit_for(diagnosis)
    from ivy_setup_tui.core.platform import fsops

    try:
        # Atomic: a full disk leaves the old file whole, never a mix of old and new.
        fsops.atomic_write(output, text.encode("utf-8"))
    except fsops.WriteRefused as exc:
        raise UsageError(f"cannot write the report to {output}: {exc.reason}") from None
    except OSError as exc:
        raise UsageError(f"cannot write the report to {output}: {os_error_message(exc)}") from None
    print(f"Report written to {output} (home shown as ~, user name and key removed).")
    return exit_for(diagnosis)


def _check_report_output(ctx: SystemContext, output: Path, *, force: bool) -> None:
    """Refuse `report -o FILE` before any work: an existing FILE without --force, or a write
    into the home folder as root for another user."""
    from pathlib import Path

    absolute = Path(os.path.abspath(output))
    if os.path.lexists(absolute) and not force:
        raise UsageError(
            f"{output} already exists; ivy-setup does not replace it without asking. Pass "
            "--force to replace it, or choose another file name."
        )
    home = Path(os.path.abspath(ctx.home))
    if absolute == home or home in absolute.parents:
        from ivy_setup_tui.core.steps.permissions.ownership import write_refusal

        refused = write_refusal(ctx, "report -o")
        if refused is not None:
            raise UsageError(refused)


def _cmd_undo(args: argparse.Namespace) -> int:
    from ivy_setup_tui.core.context import SystemContext
    from ivy_setup_tui.core.journal import Journal, JournalError

    ctx = SystemContext.from_process()
    if args.forget and args.list:
        raise UsageError("--forget and --list do not go together.")
    journal = Journal(ctx)
    if not args.list:
        from ivy_setup_tui.core.steps.permissions.ownership import write_refusal

        # Before the journal takes its lock: a refused undo must create nothing, not even a folder.
        refused = write_refusal(ctx, "undo")
        if refused is not None:
            raise UsageError(refused)
    if args.forget or args.older_than is not None:
        return _cmd_forget(journal, args)
    if args.list:
        runs = journal.list_runs()
        if not runs:
            print("No runs recorded yet: ivy-setup has not changed anything on this machine.")
            return ExitCode.OK
        for info in runs:
            print(info.describe())
        return ExitCode.OK
    from ivy_setup_tui.core.steps.registry import load_undo_handlers

    load_undo_handlers()  # steps register how to reverse their actions (e.g. an ivy upgrade)
    try:
        result = journal.undo(args.run_id, force=args.force)
    except JournalError as exc:
        raise UsageError(str(exc)) from None
    print(result.describe())
    if result.status != "ok":
        return ExitCode.FINDINGS
    return ExitCode.NEW_SHELL if result.needs_new_shell else ExitCode.OK


def _cmd_forget(journal: Journal, args: argparse.Namespace) -> int:
    """`ivy-setup undo --forget RUN` / `--forget --older-than DAYS`: delete backups, say the cost."""
    from ivy_setup_tui.core.journal import JournalError

    if not args.forget:
        raise UsageError(
            "--older-than goes with --forget: `ivy-setup undo --forget --older-than 30`"
        )
    if (args.run_id is None) == (args.older_than is None):
        raise UsageError(
            "--forget needs either a run id (`ivy-setup undo --forget RUN`) or an age "
            "(`ivy-setup undo --forget --older-than DAYS`), not both or neither."
        )
    if args.older_than is not None and args.older_than < 0:
        raise UsageError("--older-than: give a number of days, 0 or more.")
    try:
        results = journal.forget(args.run_id, older_than_days=args.older_than)
    except JournalError as exc:
        raise UsageError(str(exc)) from None
    if not results:
        print("No run is that old: no backup was deleted.")
    for result in results:
        print(result.describe())
    return ExitCode.OK


def _cmd_wizard(ctx: SystemContext) -> int:
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        diagnosis = diagnose(ctx)
        sys.stdout.write(_human_report(diagnosis))
        print(
            "\n(No terminal: this is the `ivy-setup check` report. "
            "Run `ivy-setup` in a terminal for the wizard.)"
        )
        return exit_for(diagnosis)
    from ivy_setup_tui.tui.app import run_wizard

    return run_wizard(ctx)
