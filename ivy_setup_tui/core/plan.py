"""The shape of a fix: a step's plan (the changes it proposes and what it refuses) and its outcome.

Each step service offers `plan(ctx, diagnosis, options) -> StepPlan` and
`apply(ctx, plan, run, progress) -> StepResult`. `ivy-setup fix --dry-run` prints the plan, the
wizard previews the very same plan; applying it goes through one journal run, so it can be undone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ivy_setup_tui.core.model import Step
from ivy_setup_tui.core.text_enum import TextEnum

# Progress lines from long work (pip output, shell probes), delivered as they happen.
ProgressCallback = Callable[[str], None]


class ChangeKind(TextEnum):
    """What a proposed change does (its value is the word `fix --json` prints)."""

    WRITE = "write"  # rewrite a file that exists
    CREATE = "create"  # a new file, or a new virtual environment
    CHMOD = "chmod"
    MKDIR = "mkdir"
    INSTALL = "install"  # run an installer (ivy into a Python)
    REMOVE = "remove"
    REGISTRY = "registry"  # a Windows registry value


@dataclass(frozen=True)
class Change:
    """One change a step proposes: what, where, a preview (a diff for text, old → new otherwise).

    `data` carries what `apply` needs (never a secret in clear: a key travels in `secret`, which is
    excluded from every rendering and from the journal).
    """

    step: Step
    kind: ChangeKind
    summary: str
    path: str | None = None
    old: str | None = None  # e.g. "0644", "0.0.9.0", a fingerprint
    new: str | None = None
    diff: str | None = None  # unified diff for text files (never for secrets)
    command: tuple[str, ...] | None = None  # the exact command for installs (no secrets in argv)
    needs_new_shell: bool = False
    data: dict[str, Any] = field(default_factory=dict)
    secret: bytes | None = field(default=None, repr=False, compare=False)

    def preview(self) -> str:
        """The text `fix --dry-run` prints for this change, and the wizard shows."""
        lines = [f"{self.summary}"]
        if self.old is not None or self.new is not None:
            lines.append(f"    {self.old or '(none)'} → {self.new or '(none)'}")
        if self.command:
            lines.append("    $ " + " ".join(_quote(part) for part in self.command))
        if self.diff:
            lines += ["    " + line for line in self.diff.rstrip("\n").splitlines()]
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe form without the secret."""
        return {
            "step": self.step.value,
            "kind": self.kind,
            "summary": self.summary,
            "path": self.path,
            "old": self.old,
            "new": self.new,
            "diff": self.diff,
            "command": list(self.command) if self.command else None,
            "needs_new_shell": self.needs_new_shell,
        }


@dataclass(frozen=True)
class Refusal:
    """Something the step will not do automatically, why, and what the user can do instead."""

    reason: str
    manual: tuple[str, ...] = ()  # exact commands or a snippet to paste
    # fsops.WriteRefused.code when a path refusal caused it; `fix` exits 2 on fsops.POLICY_CODES.
    code: str | None = None


@dataclass(frozen=True)
class StepPlan:
    """Everything a step would change now, what it refuses, and notes for the user."""

    step: Step
    changes: tuple[Change, ...] = ()
    refusals: tuple[Refusal, ...] = ()
    notes: tuple[str, ...] = ()
    needs_input: str | None = None  # e.g. "key": the step can act once the user gives it

    @property
    def empty(self) -> bool:
        """True when there is nothing to apply."""
        return not self.changes


@dataclass
class StepResult:
    """What applying a plan did: changes made, failures (with the tool's own last lines)."""

    step: Step
    applied: list[Change] = field(default_factory=list)
    failed: list[tuple[Change, str]] = field(default_factory=list)
    needs_new_shell: bool = False
    messages: list[str] = field(default_factory=list)
    # The interpreter to diagnose from now on, when the step moved ivy elsewhere (a new venv).
    new_python: str | None = None
    # Checks after applying that failed (e.g. a shell start marked ✗ in the verification).
    unverified: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every change went through."""
        return not self.failed


class BadInput(Exception):
    """Input the step refuses (a garbage key, a literal `~`): exit 2, nothing changed."""


def _quote(part: str) -> str:
    import shlex

    return shlex.quote(part)


@dataclass(frozen=True)
class FixOptions:
    """What the user asked `fix` (or the wizard) for: scope, choices, and the key as raw input.

    `key_input` holds the raw bytes the user gave (file, stdin or the masked field); each step
    normalises what it needs and raises `BadInput` for what it refuses.
    """

    dry_run: bool = False
    key_input: bytes | None = field(default=None, repr=False)
    key_source: str | None = None  # "file:<path>", "stdin", "prompt", "paste"
    scope: str | None = None  # key placement: "home" or "project"
    ivy_version: str | None = None  # a version or specifier for the Version step
    ivy_root: str | None = None  # the IVY_ROOT to persist (absolute after validation)
    shells: tuple[str, ...] | None = None  # None: every shell the user has
    modify_rc: bool = True  # False: write the env files only, print the lines to add
    create_venv: bool = False  # PEP 668: create a project venv and install there
    force: bool = False
