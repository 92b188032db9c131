"""The Permissions step screen over real files: the paths table, Apply all or one row, the manual
commands for what ivy-setup will not do, and the refusal under sudo."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.widgets import Button, DataTable, Static

from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.facts import facts_for
from ivy_setup_tui.core.journal import Journal, Kind
from ivy_setup_tui.core.model import Finding
from ivy_setup_tui.core.platform import access
from ivy_setup_tui.core.steps.key import check as keys
from ivy_setup_tui.core.steps.permissions import check as permissions
from ivy_setup_tui.tui.screens.permissions import PermissionsScreen
from ivy_setup_tui.tui.widgets.fix_view import CommandLine
from tests.tui.fakes import FakeDiagnose, broken_findings
from tests.tui.pilot import SIZE, open_step, settle, text_of, wizard_app

MakeCtx = Callable[..., SystemContext]
KEY = "abcdEFGH1234ijklMNOP5678qrstUVWX=="
GATED = facts_for("0.0.9.0")
OTHER = 65534


def mode_of(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def real_permission_findings(ctx: SystemContext) -> list[Finding]:
    """The fake machine's findings, with the permissions ones checked on the real files."""
    lookup = keys.locate(ctx, GATED)
    real = {f.id: f for f in permissions.check_paths(ctx, GATED, lookup)}
    real["permissions.privilege"] = permissions.check_privilege(ctx)
    return [real.get(f.id, f) for f in broken_findings(ctx)]


def loose_home(home: Path) -> Path:
    ivy = home / ".ivy"
    ivy.mkdir(mode=0o755)
    ivy.chmod(0o755)
    key = ivy / "key.pem"
    key.write_text(KEY)
    key.chmod(0o644)
    return key


def table_rows(screen: PermissionsScreen) -> list[list[str]]:
    table: DataTable[object] = screen.query_one("#perm-table", DataTable)
    return [[str(cell) for cell in table.get_row_at(n)] for n in range(table.row_count)]


async def test_table_shows_every_path_and_apply_all_restricts(
    make_ctx: MakeCtx, home: Path
) -> None:
    key = loose_home(home)
    ctx = make_ctx(project=home)
    app = wizard_app(ctx, FakeDiagnose(real_permission_findings))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_step(app, pilot, "permissions", PermissionsScreen)

        rows = table_rows(screen)
        assert rows[0][:4] == ["~/.ivy/key.pem", "restrict", f"0644 {_me()}", "0600"]
        assert rows[1][:4] == ["~/.ivy", "restrict", f"0755 {_me()}", "0700"]
        assert rows[0][4].startswith("other users can read your API key")
        apply_all = screen.query_one("#perm-apply-all", Button)
        assert str(apply_all.label) == "Apply all (2)"
        assert not apply_all.disabled
        detail = "\n".join(text_of(w) for w in screen.query("#perm-row Static"))
        assert "other users can read your API key" in detail
        assert [c.command for c in screen.query("#perm-row CommandLine").results(CommandLine)] == [
            f"chmod 600 {key}"
        ]
        assert (mode_of(key), mode_of(home / ".ivy")) == (0o644, 0o755)

        await pilot.press("a")
        await settle(app, pilot)

        assert (mode_of(key), mode_of(home / ".ivy")) == (0o600, 0o700)
        result = text_of(screen.query_one("#perm-result", Static))
        assert "~/.ivy/key.pem: 0644 → 0600" in result
        assert "ivy-setup undo" in result
        rows = table_rows(screen)
        assert rows[0][1] == "✓ fine"
        assert rows[1][1] == "✓ fine"
        assert screen.query_one("#perm-apply-all", Button).disabled
        assert app.state.findings["permissions.key_file"].status.value == "ok"
    record = Journal(ctx).last_run()
    assert record is not None
    assert [e.kind for e in record.entries] == [Kind.CHMOD, Kind.CHMOD]


async def test_apply_row_changes_only_the_highlighted_path(make_ctx: MakeCtx, home: Path) -> None:
    key = loose_home(home)
    ctx = make_ctx(project=home)
    app = wizard_app(ctx, FakeDiagnose(real_permission_findings))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_step(app, pilot, "permissions", PermissionsScreen)
        screen.query_one("#perm-table", DataTable).focus()
        await pilot.press("down")  # the .ivy row
        await pilot.pause()
        highlighted = screen.highlighted()
        assert highlighted is not None
        assert highlighted.path == str(home / ".ivy")
        assert not screen.query_one("#perm-apply-row", Button).disabled

        await pilot.press("space")
        await settle(app, pilot)

        assert mode_of(home / ".ivy") == 0o700
        assert mode_of(key) == 0o644
        assert table_rows(screen)[0][1] == "restrict"
        assert str(screen.query_one("#perm-apply-all", Button).label) == "Apply all (1)"


async def test_what_it_will_not_do_comes_with_the_exact_command(
    make_ctx: MakeCtx, home: Path
) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to hand a file in .ivy to another uid")
    loose_home(home)
    cache = home / ".ivy" / "cache.sqlite"
    cache.write_text("x")
    os.chown(cache, OTHER, OTHER)
    ctx = make_ctx(project=home)
    app = wizard_app(ctx, FakeDiagnose(real_permission_findings))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_step(app, pilot, "permissions", PermissionsScreen)

        rows = table_rows(screen)
        cache_row = next(n for n, row in enumerate(rows) if row[0] == "~/.ivy/cache.sqlite")
        assert rows[cache_row][1] == "you: chown"
        manual = [c.command for c in screen.query("#perm-manual CommandLine").results(CommandLine)]
        who = access.principal(ctx)
        assert manual == [f"sudo chown {who.name}:{who.group} {cache}"]
        table = screen.query_one("#perm-table", DataTable)
        table.focus()
        table.move_cursor(row=cache_row)
        await pilot.pause()
        assert screen.query_one("#perm-apply-row", Button).disabled
        assert "1 need you" in text_of(screen.query_one("#perm-headline", Static))


async def test_under_sudo_nothing_can_be_applied(make_ctx: MakeCtx, home: Path) -> None:
    key = loose_home(home)
    if os.geteuid() == 0:  # the files are alice's: only the sudo rule stops the chmods
        for path in (home, home / ".ivy", key):
            os.chown(path, OTHER, OTHER)
    sudo = {"SUDO_USER": "alice", "SUDO_UID": str(OTHER), "SUDO_GID": str(OTHER)}
    ctx = make_ctx(project=home, uid=0, euid=0, env_extra=sudo)
    app = wizard_app(ctx, FakeDiagnose(real_permission_findings))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_step(app, pilot, "permissions", PermissionsScreen)

        assert screen.query_one("#perm-apply-all", Button).disabled
        assert "refused: sudo" in [row[1] for row in table_rows(screen)]
        refusals = "\n".join(text_of(w) for w in screen.query("#perm-manual .refusal"))
        assert "running as root for alice" in refusals
        await pilot.press("a")
        await settle(app, pilot)
        assert mode_of(key) == 0o644


def _me() -> str:
    return access.owner_name(os.getuid())
