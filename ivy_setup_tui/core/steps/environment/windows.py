"""Native Windows: IVY_ROOT in the user environment (HKCU\\Environment), planned as a change,
applied through winreg with a broadcast, and undone from the journal.
"""

from __future__ import annotations

from typing import Any, Protocol

from ivy_setup_tui.core import journal
from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.model import Step
from ivy_setup_tui.core.plan import Change, ChangeKind
from ivy_setup_tui.core.steps.environment.targets import REGISTRY
from ivy_setup_tui.core.steps.environment.values import ROOT

WINDOWS_UNDO_KIND = "windows_user_env"
_WINDOWS_KEY = "HKCU\\Environment"


class WindowsEnvironment(Protocol):
    """The per-user environment of native Windows (HKCU\\Environment), injectable for tests."""

    def get(self, name: str) -> str | None:
        """The stored value, or None."""
        ...

    def set(self, name: str, value: str) -> None:
        """Store `value` (REG_SZ: no %VAR% expansion, so the path stays literal)."""
        ...

    def delete(self, name: str) -> None:
        """Remove the value."""
        ...

    def broadcast(self) -> None:
        """Tell running programs (Explorer) that the environment changed."""
        ...


def _winreg() -> Any:
    # Typed as Any: typeshed only describes winreg when type-checking for Windows.
    import importlib

    return importlib.import_module("winreg")


class _Registry:
    """The real registry, through winreg and a WM_SETTINGCHANGE broadcast (Windows only)."""

    def get(self, name: str) -> str | None:
        winreg = _winreg()

        try:
            with winreg.OpenKey(winreg.HKEY_CURRENT_USER, "Environment") as key:
                value, _ = winreg.QueryValueEx(key, name)
        except OSError:
            return None
        return str(value)

    def set(self, name: str, value: str) -> None:
        winreg = _winreg()

        with winreg.OpenKey(
            winreg.HKEY_CURRENT_USER, "Environment", 0, winreg.KEY_SET_VALUE
        ) as key:
            winreg.SetValueEx(key, name, 0, winreg.REG_SZ, value)

    def delete(self, name: str) -> None:
        winreg = _winreg()

        with winreg.OpenKey(
            winreg.HKEY_CURRENT_USER, "Environment", 0, winreg.KEY_SET_VALUE
        ) as key:
            try:
                winreg.DeleteValue(key, name)
            except FileNotFoundError:
                return

    def broadcast(self) -> None:
        import ctypes

        hwnd_broadcast, wm_settingchange, smto_abortifhung = 0xFFFF, 0x001A, 0x0002
        result = ctypes.c_ulong()
        windll = getattr(ctypes, "windll", None)
        if windll is None:
            return
        windll.user32.SendMessageTimeoutW(
            hwnd_broadcast,
            wm_settingchange,
            0,
            "Environment",
            smto_abortifhung,
            5000,
            ctypes.byref(result),
        )


windows_environment: WindowsEnvironment = _Registry()


def registry_change(root: str, expect: dict[str, Any]) -> Change | None:
    """The change that sets IVY_ROOT in the Windows user environment; None: already set."""
    try:
        current = windows_environment.get(ROOT)
    except OSError:
        current = None
    if current == root:
        return None
    return Change(
        step=Step.ENVIRONMENT,
        kind=ChangeKind.REGISTRY,
        summary="Set IVY_ROOT in your Windows user environment (new programs inherit it)",
        path=f"{_WINDOWS_KEY}\\{ROOT}",
        old=current,
        new=root,
        needs_new_shell=True,
        data={"role": REGISTRY, "name": ROOT, "previous": current, "value": root, "expect": expect},
    )


def _undo_windows(ctx: SystemContext, undo: dict[str, Any]) -> journal.Reversal:
    name = str(undo["name"])
    previous = undo.get("previous")
    now = windows_environment.get(name)
    if previous is None:
        windows_environment.delete(name)
    else:
        windows_environment.set(name, str(previous))
    windows_environment.broadcast()
    shown = "removed" if previous is None else f"set back to {previous}"
    return journal.Reversal(
        f"{name} in the Windows user environment {shown}",
        {"name": name, "previous": now, "value": previous},
    )


def _verify_windows(ctx: SystemContext, undo: dict[str, Any]) -> str | None:
    now = windows_environment.get(str(undo["name"]))
    if now != undo.get("value"):
        return f"{undo['name']} in the Windows user environment changed since (now {now!r})."
    return None


def apply_registry(change: Change, run: journal.Run) -> None:
    """Set the planned value now, journaled so `undo` puts back the one it replaces."""
    data = change.data
    name, value = str(data["name"]), str(data["value"])
    previous = windows_environment.get(name)
    windows_environment.set(name, value)
    windows_environment.broadcast()
    run.record_action(
        WINDOWS_UNDO_KIND,
        change.summary,
        {"name": name, "previous": previous, "value": value},
    )


journal.register_undo_handler(WINDOWS_UNDO_KIND, _undo_windows, verify=_verify_windows)
