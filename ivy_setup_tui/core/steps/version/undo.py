"""Undoing the Version step: put back the ivy a Python had before (re-install it with the same
installer, or uninstall), and remove a virtual environment the step created (or re-create it when
that removal is undone). `fix` registers these as the journal's undo handlers of its actions.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.journal import Reversal
from ivy_setup_tui.core.steps.version.installer import (
    PIP,
    UV,
    Installer,
    InstallFailed,
    child_env,
    install_argv,
    installed_version,
    reprobe,
    run_streaming,
    uninstall_argv,
)
from ivy_setup_tui.core.steps.version.words import explain_failure


def _undo_installer(data: Mapping[str, Any]) -> Installer:
    name = str(data.get("installer") or PIP)
    uv = data.get("uv")
    if name == UV and not uv:
        name = PIP
    return Installer(name, str(data["python"]), str(uv) if uv else None)


def undo_upgrade(ctx: SystemContext, data: dict[str, Any]) -> Reversal:
    """Put back the ivy that was there before: re-install it, or uninstall when there was none."""
    installer = _undo_installer(data)
    python = Path(installer.python)
    where = ctx.tilde(python)
    previous = data.get("from")
    current = data.get("to")
    if not python.exists():
        raise InstallFailed(f"{where} no longer exists, so its ivy cannot be put back.")
    if previous is None:
        argv = uninstall_argv(installer)
    else:
        argv = install_argv(installer, str(previous), upgrade=True, env=ctx.env)
    outcome = run_streaming(argv, env=child_env(ctx))
    now = installed_version(reprobe(ctx, python))
    if not outcome.ok or now != previous:
        wanted = f"ivy {previous}" if previous else "no ivy"
        raise InstallFailed(
            f"could not put {wanted} back into {where} (it has "
            f"{f'ivy {now}' if now else 'no ivy'}): "
            + explain_failure(outcome, tool=installer.name, requested=previous)
        )
    if previous is None:
        summary = f"Uninstalled ivy {current} from {where} (it was not installed before)"
    else:
        summary = f"Re-installed ivy {previous} in {where} (was {current}) with {installer.name}"
    undo = dict(data)
    undo.update({"from": current, "to": previous, "command": list(argv), "outcome": "ok"})
    return Reversal(summary, undo)


def verify_upgrade(ctx: SystemContext, data: dict[str, Any]) -> str | None:
    """None while the Python still has the version the run left; else what changed since."""
    python = Path(str(data["python"]))
    if not python.exists():
        return f"{ctx.tilde(python)} no longer exists"
    target = reprobe(ctx, python)
    if not target.ok:
        return f"{ctx.tilde(python)} cannot be run any more ({target.error})"
    now = installed_version(target)
    left = data.get("to")
    if now != left:
        return (
            f"{ctx.tilde(python)} now has {f'ivy {now}' if now else 'no ivy'}, not "
            f"{f'ivy {left}' if left else 'no ivy'} as the run left it"
        )
    return None


def undo_venv(ctx: SystemContext, data: dict[str, Any]) -> Reversal:
    """Remove a venv this step created (or re-create one whose removal is being undone)."""
    venv = Path(str(data["path"]))
    shown = ctx.tilde(venv)
    undo = dict(data)
    if data.get("state") == "created":
        if not venv.exists():
            undo["state"] = "removed"
            return Reversal(f"The virtual environment {shown} was already gone", undo)
        if venv.is_symlink() or not (venv / "pyvenv.cfg").is_file():
            raise InstallFailed(f"{shown} is no longer a virtual environment; left in place.")
        shutil.rmtree(venv)
        undo["state"] = "removed"
        return Reversal(f"Removed the virtual environment {shown}", undo)
    if venv.exists():
        raise InstallFailed(f"{shown} exists again; left in place.")
    if data.get("tool") == UV and data.get("uv"):
        argv: tuple[str, ...] = (
            str(data["uv"]),
            "venv",
            "--python",
            str(data["python"]),
            str(venv),
        )
    else:
        argv = (str(data["python"]), "-m", "venv", str(venv))
    outcome = run_streaming(argv, env=child_env(ctx))
    if not outcome.ok:
        raise InstallFailed(
            f"could not re-create {shown}: " + explain_failure(outcome, tool="venv")
        )
    undo["state"] = "created"
    return Reversal(f"Re-created the virtual environment {shown}", undo)


def verify_venv(ctx: SystemContext, data: dict[str, Any]) -> str | None:
    """None while the venv is as the run left it (created, or removed); else what changed."""
    venv = Path(str(data["path"]))
    if data.get("state") == "created":
        if not (venv / "pyvenv.cfg").is_file():
            return f"{ctx.tilde(venv)} is no longer a virtual environment"
        return None
    if venv.exists():
        return f"{ctx.tilde(venv)} exists again"
    return None
