"""Drive the wizard through every screen in two sandbox homes and save SVG screenshots.

The sandboxes are real: a venv (made with `python -m venv --without-pip`) holding a hand-made
`ivy-0.0.9.0.dist-info`, a `~/.ivy/key.pem`, shell files. One is broken the way users break it (key
file ending in a newline and readable by others, `IVY_ROOT="~/.ivy"` quoted in `.bashrc`), one is
healthy. The real checks run against them (offline), so the pictures show what users would see.

    python scripts/export_screenshots.py [--out screenshots] [--size 100x32]
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

from ivy_setup_tui.app import IvySetupApp, finish_session, make_app  # noqa: E402
from ivy_setup_tui.services.context import SystemContext, state_dir_for  # noqa: E402
from tests.services.venvs import install_fake_ivy, make_venv, site_packages  # noqa: E402

# A key that looks real; the exported pictures must never contain it.
DEMO_KEY = "ivy-demo-7Hq2LrX9mWc4TzB8kPn6VsY3dFg5JaE1uRo0="
USER = "demo"
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


def build_sandbox(root: Path, *, broken: bool) -> Sandbox:
    """A home under `root` with ivy 0.0.9.0 in a venv and a key placed well or badly."""
    home = root / "home" / USER
    project = home / "projects" / "vision"
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
    """The real app with the real services, animations and cursor blinking off."""
    app = make_app(ctx, cursor_blink=False)
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
        screens = ("version", "key", "permissions", "environment", "summary")
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


def export(out: Path, size: tuple[int, int], root: Path) -> list[Path]:
    """Build the sandboxes under `root` (emptied first) and write every screenshot into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    written: list[Path] = []
    try:
        broken = build_sandbox(root / "broken", broken=True)
        written += asyncio.run(capture(wizard(broken.ctx), out, "", size, every_screen=True))

        # A second run after the user replaced the key and loosened its mode by hand: drift.
        key = broken.home / ".ivy" / "key.pem"
        key.write_text(DEMO_KEY[::-1] + "\n", encoding="utf-8")
        key.chmod(0o666)
        rerun = wizard(broken.ctx)
        written += asyncio.run(capture(rerun, out, "rerun-", size, every_screen=False))

        healthy = wizard(build_sandbox(root / "healthy", broken=False).ctx)
        healthy.theme = "textual-light"
        written += asyncio.run(capture(healthy, out, "healthy-", size, every_screen=False))

        small = wizard(build_sandbox(root / "small", broken=True).ctx)
        written += asyncio.run(capture(small, out, "80x24-", (80, 24), every_screen=False))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, export, and list the files written."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "screenshots")
    parser.add_argument("--size", default="100x32", help="terminal size, COLSxROWS")
    parser.add_argument(
        "--root",
        type=Path,
        default=Path(tempfile.gettempdir()) / "ivy-setup-screens",
        help="where the sandboxes are built (a fixed path keeps the pictures stable)",
    )
    args = parser.parse_args(argv)
    cols, rows = (int(n) for n in args.size.lower().split("x"))
    os.environ["TEXTUAL_ANIMATIONS"] = "none"
    if shutil.which("bash") is None:
        print("note: bash is not installed; the shell checks will say so", file=sys.stderr)
    for path in export(args.out, (cols, rows), args.root):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
