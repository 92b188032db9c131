"""SystemContext: everything the services may know about the outside world, read once at the edge.

Services never call `Path.home()`, read `os.environ` or `os.getcwd()` themselves; they receive a
context. The CLI and the app build it with `SystemContext.from_process()`, tests build it by hand.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

from ivy_setup_tui.core.record import Record


class SystemContext(Record):
    """The machine as ivy-setup sees it: home, environment, working and project dir, user, platform."""

    home: Path
    env: Mapping[str, str]
    cwd: Path
    project: Path
    uid: int
    euid: int
    gid: int
    user: str
    platform: str
    state_dir: Path
    python: Path | None = None
    offline: bool = False
    online: bool = False
    probe_timeout: float = 10.0
    network_timeout: float = 4.0

    @classmethod
    def from_process(
        cls,
        *,
        project: Path | None = None,
        python: Path | None = None,
        offline: bool = False,
        online: bool = False,
    ) -> SystemContext:
        """Read the running process: HOME, environment, cwd, ids. The only place that does."""
        env = dict(os.environ)
        home = Path(env.get("HOME") or os.path.expanduser("~"))
        cwd = Path(os.getcwd())
        uid = os.getuid() if hasattr(os, "getuid") else 0
        euid = os.geteuid() if hasattr(os, "geteuid") else 0
        gid = os.getgid() if hasattr(os, "getgid") else 0
        user = env.get("USER") or env.get("USERNAME") or _user_name(uid)
        return cls(
            home=home,
            env=env,
            cwd=cwd,
            project=(cwd / project) if project is not None else cwd,
            uid=uid,
            euid=euid,
            gid=gid,
            user=user,
            platform=sys.platform,
            state_dir=state_dir_for(env, home, sys.platform),
            python=python,
            offline=offline,
            online=online,
        )

    def with_project(self, project: Path) -> SystemContext:
        """The same context with another project directory (the wizard lets the user change it)."""
        return self._replace(project=project)

    def with_python(self, python: Path | None) -> SystemContext:
        """The same context targeting another interpreter."""
        return self._replace(python=python)

    @property
    def is_windows(self) -> bool:
        """True on native Windows, where mode bits mean nothing."""
        return self.platform.startswith("win")

    def tilde(self, path: Path | str) -> str:
        """`path` with the home directory shown as `~`, for messages and reports."""
        text = str(path)
        home = str(self.home).rstrip("/")
        if home and (text == home or text.startswith(home + "/")):
            return "~" + text[len(home) :]
        return text


def state_dir_for(env: Mapping[str, str], home: Path, platform: str) -> Path:
    """Where ivy-setup keeps its journal and backups, following platformdirs' rules for `env`."""
    if platform.startswith("win"):
        base = env.get("LOCALAPPDATA") or str(home / "AppData" / "Local")
        return Path(base) / "ivy-setup" / "State"
    if platform == "darwin":
        return home / "Library" / "Application Support" / "ivy-setup"
    xdg = env.get("XDG_STATE_HOME", "")
    base_path = Path(xdg) if xdg and os.path.isabs(xdg) else home / ".local" / "state"
    return base_path / "ivy-setup"


def _user_name(uid: int) -> str:
    try:
        import pwd

        return pwd.getpwuid(uid).pw_name
    except (ImportError, KeyError):
        return str(uid)
