"""Drive the wizard through every screen in two sandbox homes and save SVG screenshots.

The sandboxes are real: a venv (made with `python -m venv --without-pip`) holding a hand-made
`ivy-0.0.9.0.dist-info`, a `~/.ivy/key.pem`, shell files. One is broken the way users break it (key
file ending in a newline and readable by others, `IVY_ROOT="~/.ivy"` quoted in `.bashrc`), one is
healthy. The real checks run against them (offline), so the pictures show what users would see.

    python scripts/export_screenshots.py [--out screenshots] [--size 100x32] [--home-base /home]

The sandbox home is built at `<home base>/demo` (default `/home/demo` where `/home` is writable),
so the pictures show paths as on a real machine, never a temporary folder; it is removed after.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from textual.widgets import TextArea  # noqa: E402

from ivy_setup_tui.core.context import SystemContext, state_dir_for  # noqa: E402
from ivy_setup_tui.core.platform.interpreter import Candidate  # noqa: E402
from ivy_setup_tui.tui.app import IvySetupApp, finish_session, make_app  # noqa: E402
from tests.core.venvs import install_fake_ivy, make_venv, site_packages  # noqa: E402

# A key that looks real; the exported pictures must never contain it.
DEMO_KEY = "ivy-demo-7Hq2LrX9mWc4TzB8kPn6VsY3dFg5JaE1uRo0="
USER = "demo"
MARKER = ".ivy-setup-screenshot-sandbox"  # a home the script made (and may remove) holds this
TRACEBACK = f"""Traceback (most recent call last):
  File "/home/{USER}/projects/vision/train.py", line 12, in <module>
    graph = ivy.trace_graph(model, args=(x,))
  File "MC.pyx", line 141, in MC.connect_to_unify
requests: GET https://cloud-db-gateway-94jg94af.ew.gateway.dev/apikey/{DEMO_KEY}%0A -> 403
Exception: Please sign up for free pilot access here [https://ivy.dev/pilot], in order to use
ivy.trace, ivy.transpile and ivy.unify
"""


@dataclass(frozen=True)
class Sandbox:
    """A sandbox machine: its home, the project folder, the venv's python, and its context."""

    home: Path
    project: Path
    python: Path
    ctx: SystemContext


def build_sandbox(root: Path, *, broken: bool, home: Path | None = None) -> Sandbox:
    """A home (`home`, else under `root`) with ivy 0.0.9.0 in a venv and a key placed well or
    badly."""
    home = home or root / "home" / USER
    project = home / "projects" / "demo"
    project.mkdir(parents=True)
    venv = home / ".venvs" / "ml"
    python = make_venv(venv)
    install_fake_ivy(site_packages(venv), "0.0.9.0", with_package=False)

    ivy_dir = home / ".ivy"
    ivy_dir.mkdir(mode=0o700)
    key = ivy_dir / "key.pem"
    env = {
        "HOME": str(home),
        "USER": USER,
        "SHELL": "/bin/bash",
        "PATH": f"{python.parent}:/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "VIRTUAL_ENV": str(venv),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
        "NO_PROXY": "*",
    }
    if broken:
        key.write_text(DEMO_KEY + "\n", encoding="utf-8")  # what `echo KEY > key.pem` leaves
        key.chmod(0o644)
        # Quoted, so ~ stays literal; just added, so this terminal does not have it yet.
        rc = 'export IVY_ROOT="~/.ivy"\n'
    else:
        key.write_text(DEMO_KEY, encoding="utf-8")
        key.chmod(0o600)
        rc = f"export IVY_ROOT={ivy_dir}\n"
        env["IVY_ROOT"] = str(ivy_dir)
    (home / ".bashrc").write_text("# ~/.bashrc\nalias ll='ls -l'\n" + rc, encoding="utf-8")
    (home / ".profile").write_text("[ -f ~/.bashrc ] && . ~/.bashrc\n", encoding="utf-8")

    ctx = SystemContext(
        home=home,
        env=env,
        cwd=project,
        project=project,
        uid=os.getuid(),
        euid=os.geteuid(),
        gid=os.getgid(),
        user=USER,
        platform=sys.platform,
        state_dir=state_dir_for(env, home, sys.platform),
        python=python,
        offline=True,
    )
    return Sandbox(home, project, python, ctx)


def wizard(ctx: SystemContext) -> IvySetupApp:
    """The real app with the real services, animations and cursor blinking off; interpreters
    outside the sandbox (the one running this script) are not offered."""
    from ivy_setup_tui.core.platform.interpreter import discover

    def inside(c: SystemContext) -> list[Candidate]:
        return [found for found in discover(c) if str(found.path).startswith(str(c.home))]

    app = make_app(ctx, cursor_blink=False, discover=inside)
    app.animation_level = "none"
    return app


async def capture(
    app: IvySetupApp, out: Path, prefix: str, size: tuple[int, int], *, every_screen: bool
) -> list[Path]:
    """Walk the wizard, saving a screenshot per screen; returns the files written."""
    written: list[Path] = []

    def save(name: str) -> None:
        path = out / f"{prefix}{name}.svg"
        app.save_screenshot(path.name, str(out))
        written.append(path)

    async with app.run_test(size=size) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        if every_screen:
            save("welcome")
        started = time.monotonic()
        await pilot.press("n")
        await app.workers.wait_for_complete()
        await pilot.pause()
        print(f"{prefix or 'broken-'}overview complete in {time.monotonic() - started:.2f} s")
        save("overview")
        screens = ("version", "key", "permissions", "environment", "summary", "history")
        for name in screens if every_screen else ("summary",):
            await app.action_open(name)
            await app.workers.wait_for_complete()
            await pilot.pause()
            save(name)
            if every_screen and name == "key":
                await pilot.press("k")  # the key input panel, below the findings
                await pilot.pause()
                save("key-input")
            if every_screen and name == "environment":
                await pilot.press("a")  # apply: writes the blocks, verifies in the real shells
                await app.workers.wait_for_complete()
                await pilot.pause()
                await app.workers.wait_for_complete()
                await pilot.pause()
                save("environment-applied")
        if every_screen:
            await app.action_open("explain")
            await pilot.pause()
            app.screen.query_one(TextArea).load_text(TRACEBACK)
            await pilot.press("ctrl+r")
            await pilot.pause()
            save("explain")
            await app.action_back()
            await app.action_open("help")
            await pilot.pause()
            save("help")
        await pilot.press("q")
    finish_session(app)  # the snapshot the next run compares with is stored on leaving
    return written


def claim_home(home: Path) -> Path:
    """Make `home` a fresh, empty sandbox home; refuses a folder this script did not make."""
    if home.exists() and not (home / MARKER).exists():
        raise SystemExit(f"{home} exists and is not a screenshot sandbox: pass another --home-base")
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    (home / MARKER).write_text("made by scripts/export_screenshots.py\n", encoding="utf-8")
    return home


def release_home(home: Path) -> None:
    """Remove a sandbox home this script made (and nothing else)."""
    if (home / MARKER).exists():
        shutil.rmtree(home, ignore_errors=True)


def export(out: Path, size: tuple[int, int], home_base: Path) -> list[Path]:
    """Build each sandbox in turn at `<home_base>/demo` and write every screenshot into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    home = home_base / USER
    written: list[Path] = []
    try:
        broken = build_sandbox(home_base, broken=True, home=claim_home(home))
        written += asyncio.run(capture(wizard(broken.ctx), out, "", size, every_screen=True))

        # A second run after the user replaced the key and loosened its mode by hand: drift.
        key = broken.home / ".ivy" / "key.pem"
        key.write_text(DEMO_KEY[::-1] + "\n", encoding="utf-8")
        key.chmod(0o666)
        rerun = wizard(broken.ctx)
        written += asyncio.run(capture(rerun, out, "rerun-", size, every_screen=False))

        healthy = wizard(build_sandbox(home_base, broken=False, home=claim_home(home)).ctx)
        healthy.theme = "textual-light"
        written += asyncio.run(capture(healthy, out, "healthy-", size, every_screen=False))

        small = wizard(build_sandbox(home_base, broken=True, home=claim_home(home)).ctx)
        written += asyncio.run(capture(small, out, "80x24-", (80, 24), every_screen=False))
    finally:
        release_home(home)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, export, and list the files written."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "screenshots")
    parser.add_argument("--size", default="100x32", help="terminal size, COLSxROWS")
    default_base = (
        Path("/home") if os.access("/home", os.W_OK) else Path(tempfile.gettempdir()) / "screens"
    )
    parser.add_argument(
        "--home-base",
        type=Path,
        default=default_base,
        help="the sandbox home is <this>/demo (a fixed, real-looking path keeps pictures stable)",
    )
    args = parser.parse_args(argv)
    cols, rows = (int(n) for n in args.size.lower().split("x"))
    os.environ["TEXTUAL_ANIMATIONS"] = "none"
    if shutil.which("bash") is None:
        print("note: bash is not installed; the shell checks will say so", file=sys.stderr)
    for path in export(args.out, (cols, rows), args.home_base):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
