"""The Key step's plan and apply, against real files in the sandbox and a real journal."""

from __future__ import annotations

import datetime
import json
import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from ivy_setup_tui.core.checks import Diagnosis
from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.facts import facts_for
from ivy_setup_tui.core.journal import Journal
from ivy_setup_tui.core.model import Status
from ivy_setup_tui.core.plan import BadInput, FixOptions, StepPlan
from ivy_setup_tui.core.platform.interpreter import IvyDist, Target
from ivy_setup_tui.core.secrets import fingerprint
from ivy_setup_tui.core.steps.key import check as keys
from ivy_setup_tui.core.steps.key import fix as fix_key
from ivy_setup_tui.core.steps.key import key_input, preview
from tests import certificates

MakeCtx = Callable[..., SystemContext]

KEY = "dGhpc2lzYXRlc3RrZXlmb3JpdnlzZXR1cA=="  # 36 characters, base64 with padding
OTHER = "b3RoZXJrZXlmb3JpdnlzZXR1cHRlc3RzMTI="  # a different, equally clean key
GATED = "0.0.9.0"


# --- helpers -------------------------------------------------------------------------------------


def diagnosis(ctx: SystemContext, version: str | None) -> Diagnosis:
    """A diagnosis with the real facts and lookup for `version` (no interpreter probe)."""
    facts = facts_for(version)
    ivy = IvyDist(version, "/site-packages", "pip", False, None, None) if version else None
    target = Target(python=ctx.python, source="--python", version="3.11.7", pip=True, ivy=ivy)
    return Diagnosis(ctx, target, facts, keys.locate(ctx, facts), [])


def make_plan(
    ctx: SystemContext, version: str | None = GATED, key: bytes | None = None, **options: object
) -> StepPlan:
    opts = FixOptions(key_input=key, key_source="stdin" if key is not None else None, **options)  # type: ignore[arg-type]
    return fix_key.plan(ctx, diagnosis(ctx, version), opts)


def apply_plan(ctx: SystemContext, plan: StepPlan) -> tuple[str, list[str]]:
    with Journal(ctx).begin("fix", "fix --only key") as run:
        result = fix_key.apply(ctx, plan, run)
        assert result.ok, result.failed
        return run.run_id, result.messages


def put(path: Path, content: bytes, mode: int = 0o600) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    path.chmod(mode)
    return path


def mode_of(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def all_text(plan: StepPlan) -> str:
    parts = [*plan.notes, *(r.reason for r in plan.refusals)]
    for refusal in plan.refusals:
        parts += refusal.manual
    for change in plan.changes:
        parts += [change.preview(), json.dumps(change.to_json()), json.dumps(change.data)]
    return "\n".join(parts)


@pytest.fixture
def under_home(home: Path) -> Path:
    """A project folder under the sandbox HOME."""
    project = home / "code" / "proj"
    project.mkdir(parents=True)
    return project


@pytest.fixture
def no_stray_ivy(work: Path) -> None:
    """Skip when a `.ivy` above the sandbox would change ivy's upward walk."""
    for folder in work.parents:
        if (folder / ".ivy").exists():
            pytest.skip(f"a stray {folder / '.ivy'} above the sandbox would change the walk")


def self_signed() -> tuple[bytes, bytes]:
    """A real self-signed certificate and its private key, both PEM, expiring on 2031-05-17."""
    return certificates.self_signed(
        "ivy-test.example", expires=datetime.datetime(2031, 5, 17, tzinfo=datetime.timezone.utc)
    )


# --- the bad-input corpus ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "removed"),
    [
        (KEY.encode(), ()),
        (KEY.encode() + b"\n", ("trailing_newline",)),
        (KEY.encode() + b"\r\n", ("carriage_return", "trailing_newline")),
        (b"\xef\xbb\xbf" + KEY.encode(), ("bom",)),
        (b"  \t" + KEY.encode() + b"  \n", ("trailing_newline", "surrounding_whitespace")),
        ("\ufeff" + KEY + "\n", ("bom", "trailing_newline")),
        ((KEY + "\r\n").encode("utf-16"), None),  # PowerShell 5's `echo KEY > key.pem`
    ],
)
def test_normalises_what_ivy_must_read(raw: bytes | str, removed: tuple[str, ...] | None) -> None:
    key = key_input.read_input(raw)
    assert key.key == KEY
    assert key.fingerprint == fingerprint(KEY)
    if removed is not None:
        assert set(key.removed) == set(removed)


def _refused(raw: bytes | str) -> key_input.KeyInputRefused:
    with pytest.raises(key_input.KeyInputRefused) as caught:
        key_input.read_input(raw)
    assert isinstance(caught.value, BadInput)
    assert "Nothing was written" in str(caught.value)
    return caught.value


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "empty"),
        (b"   \n\t \r\n", "empty"),
        (b"abcd\x00efgh1234", "binary"),
        (b"x" * (10 * 1024 * 1024), "too_long"),
        (b"y" * 600, "too_long"),
        ("caf\u00e9-ключ".encode("latin-1", "replace") + b"\xe9\xe8", "not_utf8"),
        (b"ab\x07cdefgh", "binary"),
        (b"with space inside1234", "contains_whitespace"),
    ],
)
def test_refuses_what_is_not_a_key(raw: bytes, reason: str) -> None:
    assert _refused(raw).reason == reason


def test_two_lines_are_refused_with_masked_candidates() -> None:
    refused = _refused(f"{KEY}\n{OTHER}\n".encode())
    assert refused.reason == "multiple_lines"
    assert [c.line for c in refused.candidates] == [1, 2]
    assert refused.candidates[0].preview == f"{KEY[:4]}…{KEY[-4:]}"
    assert refused.candidates[0].key == KEY  # kept for the wizard's choice, never rendered
    assert KEY not in str(refused)
    assert OTHER not in str(refused)
    assert KEY not in repr(refused.candidates)
    assert key_input.read_input(refused.candidates[1].key.encode()).key == OTHER


def test_a_certificate_is_named_with_subject_issuer_and_expiry() -> None:
    cert, _ = self_signed()
    refused = _refused(cert)
    assert refused.reason == "is_certificate"
    message = str(refused)
    assert "X.509 certificate" in message
    assert "CN=ivy-test.example" in message
    assert "expires 2031-05-17" in message


def test_a_private_key_says_do_not_paste_it_anywhere() -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    refused = _refused(private)
    assert refused.reason == "is_private_key"
    assert "do not paste it anywhere" in str(refused)
    assert "RSA, 2048 bits" in str(refused)
    body = private.decode().splitlines()[1]
    assert body not in str(refused)


def test_an_openssh_private_key_is_named() -> None:
    private = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    refused = _refused(private)
    assert refused.reason == "is_private_key"
    assert "Ed25519" in str(refused)


def test_public_keys_are_named() -> None:
    public = ed25519.Ed25519PrivateKey.generate().public_key()
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    refused = _refused(pem)
    assert refused.reason == "is_public_key"
    assert "public key (Ed25519)" in str(refused)
    ssh = public.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    refused = _refused(ssh + b" me@laptop\n")
    assert refused.reason == "is_public_key"
    assert "SSH public key (Ed25519)" in str(refused)


def test_a_truncated_looking_key_is_placed_with_a_warning(make_ctx: MakeCtx, home: Path) -> None:
    truncated = KEY.rstrip("=") + "A"  # base64 alphabet, length % 4 != 0
    key = key_input.read_input(truncated.encode())
    assert key.warnings == ("looks_truncated",)
    plan = make_plan(make_ctx(), key=truncated.encode())
    assert any("looks truncated" in note for note in plan.notes)
    assert [c.kind for c in plan.changes] == ["mkdir", "create"]


def test_refused_input_writes_nothing(make_ctx: MakeCtx, home: Path, work: Path) -> None:
    cert, _ = self_signed()
    ctx = make_ctx()
    with pytest.raises(BadInput):
        make_plan(ctx, key=cert)
    with pytest.raises(BadInput):
        fix_key.validate_options(FixOptions(key_input=b"\n\n"))
    assert not (home / ".ivy").exists()
    assert list(work.iterdir()) == []
    assert not ctx.state_dir.exists()


# --- placement, key.pem scheme -------------------------------------------------------------------


def test_home_scope_places_the_key_byte_exact(
    make_ctx: MakeCtx, home: Path, work: Path, no_stray_ivy: None
) -> None:
    ctx = make_ctx()
    plan = make_plan(ctx, key=KEY.encode() + b"\r\n")
    assert [c.kind for c in plan.changes] == ["mkdir", "create"]
    create = plan.changes[1]
    assert create.path == str(home / ".ivy" / "key.pem")
    assert create.new == f"fingerprint {fingerprint(KEY)}"
    assert create.secret == KEY.encode()
    text = all_text(plan)
    assert KEY not in text
    assert f"IVY_ROOT={home / '.ivy'}" in text  # the Environment step's absolute IVY_ROOT
    assert "outside your home folder" in text  # why the working-folder walk is not enough
    assert plan.needs_input is None

    _, messages = apply_plan(ctx, plan)
    key_file = home / ".ivy" / "key.pem"
    assert key_file.read_bytes() == KEY.encode()
    assert mode_of(key_file) == 0o600
    assert mode_of(home / ".ivy") == 0o700
    assert any(line.startswith("key.location:") for line in messages)

    # From outside home, once IVY_ROOT is persisted (the Environment step): found and clean.
    later = make_ctx(env_extra={"IVY_ROOT": str(home / ".ivy")})
    facts = facts_for(GATED)
    lookup = keys.locate(later, facts)
    assert lookup.path == key_file
    assert keys.check_location(later, facts, lookup).status is Status.OK
    assert keys.check_content(later, facts, lookup).status is Status.OK


def test_home_scope_from_a_project_under_home(
    make_ctx: MakeCtx, home: Path, under_home: Path
) -> None:
    ctx = make_ctx(project=under_home, cwd=under_home)
    plan = make_plan(ctx, key=KEY.encode())
    assert "only because" in "\n".join(plan.notes)  # the walk finds it, but only from under ~
    apply_plan(ctx, plan)
    facts = facts_for(GATED)
    lookup = keys.locate(ctx, facts)
    assert lookup.path == home / ".ivy" / "key.pem"
    assert keys.check_location(ctx, facts, lookup).status is Status.OK
    assert keys.check_content(ctx, facts, lookup).status is Status.OK


def test_the_after_chain_is_the_lookup_of_the_planned_state(
    make_ctx: MakeCtx, home: Path, no_stray_ivy: None
) -> None:
    ctx = make_ctx()
    info = preview.preview(ctx, diagnosis(ctx, GATED), FixOptions(key_input=KEY.encode()))
    assert info.before is not None
    assert info.before.reads is None
    assert info.after is not None
    assert info.after.reads == str(home / ".ivy" / "key.pem")
    assert [e.found for e in info.after.entries] == [True, True]
    assert info.walk_only is not None
    assert info.walk_only.reads is None
    plan = fix_key.plan_from(ctx, diagnosis(ctx, GATED), FixOptions(), info)
    apply_plan(ctx, plan)
    real_after = keys.locate(make_ctx(env_extra={"IVY_ROOT": str(home / ".ivy")}), facts_for(GATED))
    assert str(real_after.path) == info.after.reads
    assert [e.path for e in real_after.searched] == [e.path for e in info.after.entries]


def test_project_scope(make_ctx: MakeCtx, work: Path) -> None:
    ctx = make_ctx()
    plan = make_plan(ctx, key=KEY.encode(), scope="project")
    target = work / ".ivy" / "key.pem"
    assert [c.path for c in plan.changes] == [str(work / ".ivy"), str(target)]
    assert "must not persist an IVY_ROOT" in "\n".join(plan.notes)
    apply_plan(ctx, plan)
    assert target.read_bytes() == KEY.encode()
    assert (mode_of(work / ".ivy"), mode_of(target)) == (0o700, 0o600)
    facts = facts_for(GATED)
    lookup = keys.locate(ctx, facts)
    assert lookup.path == target
    assert keys.check_content(ctx, facts, lookup).status is Status.OK


def test_project_scope_warns_about_an_overriding_ivy_root(
    make_ctx: MakeCtx, home: Path, work: Path
) -> None:
    elsewhere = home / "shared" / ".ivy"
    elsewhere.mkdir(parents=True)
    ctx = make_ctx(env_extra={"IVY_ROOT": str(elsewhere)})
    plan = make_plan(ctx, key=KEY.encode(), scope="project")
    notes = "\n".join(plan.notes)
    assert f"IVY_ROOT={elsewhere} is set in this process" in notes
    info = preview.preview(
        ctx, diagnosis(ctx, GATED), FixOptions(key_input=KEY.encode(), scope="project")
    )
    assert info.after is not None
    assert info.after.reads is None


def test_existing_other_key_is_replaced_with_both_fingerprints_and_undo_restores(
    make_ctx: MakeCtx, home: Path
) -> None:
    old = put(home / ".ivy" / "key.pem", OTHER.encode() + b"\n", mode=0o640)
    before = old.read_bytes()
    ctx = make_ctx()
    plan = make_plan(ctx, key=KEY.encode())
    (change,) = plan.changes
    assert change.kind == "write"
    assert (change.old, change.new) == (
        f"fingerprint {fingerprint(OTHER)}",
        f"fingerprint {fingerprint(KEY)}",
    )
    assert "backed up" in change.summary
    run_id, _ = apply_plan(ctx, plan)
    assert old.read_bytes() == KEY.encode()
    assert mode_of(old) == 0o600
    Journal(ctx).undo(run_id)
    assert old.read_bytes() == before
    assert mode_of(old) == 0o640


def test_undo_removes_a_new_key_and_its_folder(make_ctx: MakeCtx, home: Path) -> None:
    ctx = make_ctx()
    run_id, _ = apply_plan(ctx, make_plan(ctx, key=KEY.encode()))
    assert (home / ".ivy" / "key.pem").exists()
    Journal(ctx).undo(run_id)
    assert not (home / ".ivy").exists()


def test_an_existing_key_that_only_needs_normalising_is_rewritten(
    make_ctx: MakeCtx, home: Path, under_home: Path
) -> None:
    key_file = put(home / ".ivy" / "key.pem", b"\xef\xbb\xbf" + KEY.encode() + b"  \r\n")
    ctx = make_ctx(project=under_home, cwd=under_home)
    plan = make_plan(ctx)  # no key given
    (change,) = plan.changes
    assert change.kind == "write"
    assert "fingerprint unchanged" in change.summary
    assert change.new == f"fingerprint {fingerprint(KEY)}"
    apply_plan(ctx, plan)
    assert key_file.read_bytes() == KEY.encode()


def test_extra_lines_after_the_key_are_dropped_on_rewrite(
    make_ctx: MakeCtx, home: Path, under_home: Path
) -> None:
    key_file = put(home / ".ivy" / "key.pem", f"{KEY}\n# from the console\n".encode())
    ctx = make_ctx(project=under_home, cwd=under_home)
    (change,) = make_plan(ctx).changes
    assert "drops 1 extra line" in change.summary
    apply_plan(ctx, make_plan(ctx))
    assert key_file.read_bytes() == KEY.encode()


def test_the_same_key_again_changes_nothing(
    make_ctx: MakeCtx, home: Path, under_home: Path
) -> None:
    put(home / ".ivy" / "key.pem", KEY.encode())
    ctx = make_ctx(project=under_home, cwd=under_home)
    plan = make_plan(ctx, key=KEY.encode() + b"\n")
    assert plan.changes == ()
    assert any("already holds exactly this key" in note for note in plan.notes)
    assert make_plan(ctx).changes == ()


def test_no_key_anywhere_asks_for_one(make_ctx: MakeCtx, home: Path) -> None:
    plan = make_plan(make_ctx())
    assert plan.needs_input == "key"
    assert plan.changes == ()
    assert "--key-file" in plan.refusals[0].reason


def test_a_certificate_in_key_pem_asks_for_the_key(
    make_ctx: MakeCtx, home: Path, under_home: Path
) -> None:
    cert, _ = self_signed()
    put(home / ".ivy" / "key.pem", cert)
    plan = make_plan(make_ctx(project=under_home, cwd=under_home))
    assert plan.needs_input == "key"
    assert "is certificate" in "\n".join(plan.notes)


def test_a_key_ivy_does_not_reach_is_kept_and_the_root_explained(
    make_ctx: MakeCtx, home: Path, no_stray_ivy: None
) -> None:
    put(home / ".ivy" / "key.pem", KEY.encode())
    ctx = make_ctx()  # the project is outside home: the walk never reaches ~/.ivy
    info = preview.preview(ctx, diagnosis(ctx, GATED), FixOptions())
    assert info.source == "existing"
    assert info.after is not None
    assert info.after.reads == str(home / ".ivy" / "key.pem")
    plan = fix_key.plan_from(ctx, diagnosis(ctx, GATED), FixOptions(), info)
    assert plan.changes == ()
    assert any("Environment step: persist IVY_ROOT" in note for note in plan.notes)


def test_ivy_dir_that_is_a_file_is_refused(make_ctx: MakeCtx, home: Path) -> None:
    (home / ".ivy").write_text("oops")
    plan = make_plan(make_ctx(), key=KEY.encode())
    assert plan.changes == ()
    assert "is a file" in plan.refusals[0].reason
    assert plan.refusals[0].manual
    assert KEY not in "\n".join(plan.refusals[0].manual)


def test_sudo_refuses_to_write_into_the_users_home(make_ctx: MakeCtx, home: Path) -> None:
    ctx = make_ctx(euid=0, env_extra={"SUDO_USER": "alice"})
    plan = make_plan(ctx, key=KEY.encode())
    assert plan.changes == ()
    assert "through sudo" in plan.refusals[0].reason


def test_unknown_scope_is_bad_input(make_ctx: MakeCtx) -> None:
    with pytest.raises(BadInput, match="unknown scope"):
        make_plan(make_ctx(), key=KEY.encode(), scope="everywhere")


# --- other schemes -------------------------------------------------------------------------------


def test_ivy_key_scheme_places_ivy_key_pem_in_the_project(make_ctx: MakeCtx, work: Path) -> None:
    ctx = make_ctx()
    plan = make_plan(ctx, "0.0.9.2", key=KEY.encode() + b"\n")
    target = work / "ivy-key.pem"
    assert [(c.kind, c.path) for c in plan.changes] == [("create", str(target))]
    apply_plan(ctx, plan)
    assert target.read_bytes() == KEY.encode()
    assert mode_of(target) == 0o600
    facts = facts_for("0.0.9.2")
    lookup = keys.locate(ctx, facts)
    assert lookup.path == target
    assert keys.check_location(ctx, facts, lookup).status is Status.OK
    assert keys.check_content(ctx, facts, lookup).status is Status.OK


def test_ivy_key_scheme_for_all_projects_goes_through_the_environment_step(
    make_ctx: MakeCtx, work: Path
) -> None:
    ctx = make_ctx()
    plan = make_plan(ctx, "0.0.9.2", key=KEY.encode(), scope="home")
    assert plan.changes == ()
    notes = "\n".join(plan.notes)
    assert "Environment step writes IVY_KEY" in notes
    assert "0600" in notes
    assert KEY not in notes
    assert list(work.iterdir()) == []


def test_ivy_key_scheme_reuses_an_old_key_pem(make_ctx: MakeCtx, home: Path, work: Path) -> None:
    put(home / ".ivy" / "key.pem", KEY.encode() + b"\n")
    ctx = make_ctx()
    plan = make_plan(ctx, "0.0.9.2")
    (change,) = plan.changes
    assert "copied from ~/.ivy/key.pem" in change.summary
    apply_plan(ctx, plan)
    assert (work / "ivy-key.pem").read_bytes() == KEY.encode()


def test_scheme_none_places_nothing_and_keeps_the_old_key(make_ctx: MakeCtx, home: Path) -> None:
    old = put(home / ".ivy" / "key.pem", OTHER.encode() + b"\n")
    plan = make_plan(make_ctx(), "0.0.9.1", key=KEY.encode())
    assert plan.changes == ()
    assert plan.refusals == ()
    assert "needs no API key" in plan.notes[0]
    assert "left untouched" in plan.notes[0]
    assert old.read_bytes() == OTHER.encode() + b"\n"


def test_not_installed_follows_the_key_pem_scheme_and_says_it_is_assumed(
    make_ctx: MakeCtx, home: Path
) -> None:
    plan = make_plan(make_ctx(), None, key=KEY.encode())
    assert [c.kind for c in plan.changes] == ["mkdir", "create"]
    assert any("Assumed" in note for note in plan.notes)


# --- how the file is written ---------------------------------------------------------------------


def test_the_key_file_is_never_wider_than_0600_before_the_rename(
    make_ctx: MakeCtx, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[str, int, bytes]] = []
    real_replace = os.replace

    def spying_replace(
        src: str | os.PathLike[str], dst: str | os.PathLike[str], **kw: int | None
    ) -> None:
        # fsops renames relative to the folder it opened (src_dir_fd), so read through it.
        fd = os.open(src, os.O_RDONLY, dir_fd=kw.get("src_dir_fd"))
        try:
            mode = stat.S_IMODE(os.fstat(fd).st_mode)
            data = os.read(fd, 1 << 16)
        finally:
            os.close(fd)
        seen.append((os.fspath(dst), mode, data))
        real_replace(src, dst, **kw)

    monkeypatch.setattr(os, "replace", spying_replace)  # fsops renames with os.replace
    old_umask = os.umask(0)  # a permissive umask must not widen the temp file either
    try:
        ctx = make_ctx()
        apply_plan(ctx, make_plan(ctx, key=KEY.encode()))
    finally:
        os.umask(old_umask)
    key_writes = [item for item in seen if item[0].endswith("key.pem")]
    assert key_writes, "the key file was not written through an atomic rename"
    for _, mode, data in key_writes:
        assert mode & 0o077 == 0, oct(mode)
        assert data == KEY.encode()


def test_a_target_changed_since_the_plan_is_left_alone(make_ctx: MakeCtx, home: Path) -> None:
    ctx = make_ctx()
    plan = make_plan(ctx, key=KEY.encode())
    put(home / ".ivy" / "key.pem", OTHER.encode())  # someone placed a key meanwhile
    with Journal(ctx).begin("fix") as run:
        result = fix_key.apply(ctx, plan, run)
    assert not result.ok
    assert "changed since" in result.failed[-1][1]
    assert (home / ".ivy" / "key.pem").read_bytes() == OTHER.encode()


def test_the_key_is_never_in_the_journal_or_its_texts(make_ctx: MakeCtx, home: Path) -> None:
    put(home / ".ivy" / "key.pem", OTHER.encode() + b"\n")
    ctx = make_ctx()
    plan = make_plan(ctx, key=KEY.encode())
    assert KEY not in all_text(plan)
    assert OTHER not in all_text(plan)
    assert KEY not in repr(plan)
    run_id, messages = apply_plan(ctx, plan)
    assert KEY not in "\n".join(messages)
    Journal(ctx).undo(run_id)
    for path in ctx.state_dir.rglob("*"):
        if path.is_file() and "backups" not in path.parts:
            data = path.read_bytes()
            assert KEY.encode() not in data, path
            assert OTHER.encode() not in data, path
        if path.is_file() and "backups" in path.parts:
            # Backups hold previous contents for byte-exact undo: private to the user.
            assert mode_of(path) == 0o600
            assert mode_of(path.parent) == 0o700
