"""The Key step's decision for one input, before any plan: where the key goes, which key (given,
already in place, or copied from a file ivy does not read), and ivy's lookup before and after.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ivy_setup_tui.core import facts as F
from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.paths import within
from ivy_setup_tui.core.plan import FixOptions
from ivy_setup_tui.core.record import Record
from ivy_setup_tui.core.steps.key.key_input import read_input, shown
from ivy_setup_tui.core.steps.key.keyfile import NormalisedKey
from ivy_setup_tui.core.steps.key.lookup import KeyLookup
from ivy_setup_tui.core.steps.key.placement import (
    IVY_KEY,
    IVY_ROOT,
    SCOPE_CURRENT,
    SCOPE_HOME,
    SCOPE_PROJECT,
    Chain,
    ExistingKey,
    Placement,
    chain_from,
    existing_key,
    placement,
    project_dir,
    replay,
    same_file,
)

if TYPE_CHECKING:
    from ivy_setup_tui.core.checks import Diagnosis


@dataclass(frozen=True)
class KeyPreview:
    """Everything the Key step decided for one input: where, which key, the chains, the warnings."""

    scheme: str
    measured: bool
    placement: Placement | None  # None: scheme none, nothing to place
    key: NormalisedKey | None = field(default=None, repr=False)  # what will be in the file
    source: str = "none"  # input | existing | copy | none
    copy_from: Path | None = None
    target: Path | None = None  # the file that will hold the key (may differ from placement)
    existing: ExistingKey | None = None  # what the target holds now
    before: Chain | None = None
    after: Chain | None = None
    walk_only: Chain | None = None  # home scope: the cwd walk without IVY_ROOT
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def fingerprint(self) -> str | None:
        """The fingerprint of the key that will be in place, or None."""
        return self.key.fingerprint if self.key else None


_REMOVED_WORDS = {
    "bom": "a byte-order mark",
    "trailing_newline": "the trailing newline",
    "carriage_return": "carriage returns (CRLF)",
    "surrounding_whitespace": "spaces around the key",
}


_WARNING_WORDS = {
    "looks_truncated": (
        "The key looks truncated: it is base64-like but its length is not a multiple of 4, as if "
        "trailing `=` padding was lost in the copy. It is placed as given; if ivy's server "
        "refuses it, copy it again from your ivy account, including any trailing `=`."
    ),
}


def _describe_key(key: NormalisedKey, origin: str) -> str:
    removed = [_REMOVED_WORDS.get(code, code.replace("_", " ")) for code in key.removed]
    cleaned = f"; removed {', '.join(removed)}" if removed else ""
    return (
        f"Key {origin}: {key.length} characters, {shown(key.key)}, fingerprint "
        f"{key.fingerprint}{cleaned}. The file will hold exactly these characters, no newline."
    )


def _origin(options: FixOptions) -> str:
    source = options.key_source or ""
    if source.startswith("file:"):
        return f"from {source[5:]}"
    return {"stdin": "from stdin", "prompt": "typed at the prompt", "paste": "pasted"}.get(
        source, "given"
    )


def _reusable(ctx: SystemContext, lookup: KeyLookup, target: Path) -> list[ExistingKey]:
    """Usable keys in files ivy does not read from here (old scheme, misnamed, shadowed)."""
    paths: list[Path] = []
    for path in (
        *lookup.misnamed,
        *([lookup.shadowed] if lookup.shadowed else []),
        *lookup.elsewhere,
        ctx.home / F.IVY_DIR_NAME / F.KEY_FILE_NAME,
    ):
        if not same_file(path, target) and not any(same_file(path, p) for p in paths):
            paths.append(path)
    found: list[ExistingKey] = []
    for path in paths:
        item = existing_key(path)
        if item is not None and item.usable is not None:
            found.append(item)
    return found


class _KeyChoice(Record):
    """Which key the step places when none is given, where, and what to tell about it."""

    key: NormalisedKey | None
    source: str  # existing | copy | none
    target: Path | None
    copy_from: Path | None
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


def _unusable(ctx: SystemContext, item: ExistingKey, lead: str) -> str:
    return (
        f"{lead} ({(item.problem or 'unreadable').replace('_', ' ')}): give the key to replace it."
    )


def _key_on_disk(
    ctx: SystemContext, lookup: KeyLookup, options: FixOptions, target: Path | None
) -> _KeyChoice:
    """No key given: the one ivy reads, the one at the target, or one ivy does not reach."""
    notes: list[str] = []
    key: NormalisedKey | None = None
    source, copy_from = "none", None
    current = existing_key(lookup.path) if lookup.path is not None else None
    at_target = existing_key(target) if target is not None else None
    if current is not None and current.usable is not None:
        key = current.usable
        if options.scope is None or target is None or same_file(current.path, target):
            source, target = "existing", current.path
        else:
            source, copy_from = "copy", current.path
    elif current is None and at_target is not None and at_target.usable is not None:
        key, source = at_target.usable, "existing"
    elif current is None and target is not None:
        reusable = _reusable(ctx, lookup, target)
        distinct = {item.fingerprint for item in reusable}
        if len(distinct) == 1:
            key, source, copy_from = reusable[0].usable, "copy", reusable[0].path
        elif len(distinct) > 1:
            listing = ", ".join(f"{ctx.tilde(i.path)} ({i.fingerprint})" for i in reusable)
            notes.append(
                f"Several different keys exist where ivy does not look: {listing}. Give the "
                "right one explicitly."
            )
    if current is None and at_target is not None and at_target.usable is None:
        notes.append(_unusable(ctx, at_target, f"{ctx.tilde(at_target.path)} holds no usable key"))
    if current is not None and current.usable is None:
        lead = f"ivy reads {ctx.tilde(current.path)}, but it is not a usable key"
        notes.append(_unusable(ctx, current, lead))
    warnings: list[str] = []
    if key is not None and source in ("existing", "copy"):
        where = ctx.tilde(copy_from or target or "")
        notes.append(_describe_key(key, f"found in {where}"))
        warnings += [_WARNING_WORDS.get(code, code) for code in key.warnings]
    return _KeyChoice(key, source, target, copy_from, tuple(notes), tuple(warnings))


def _chosen_placement(ctx: SystemContext, facts: F.VersionFacts, options: FixOptions) -> Placement:
    """The placement for the scope, or the folder --ivy-root names (key.pem scheme)."""
    if options.ivy_root is not None and facts.scheme in (F.KEY_PEM, F.UNKNOWN):
        # The Environment step will persist this IVY_ROOT: the key ivy must read is the one in
        # that folder, so that is the one placed, or checked and cleaned.
        root = Path(os.path.normpath(options.ivy_root))
        return Placement(
            facts.scheme,
            SCOPE_HOME,
            "the folder --ivy-root names",
            root / F.KEY_FILE_NAME,
            root,
            root,
        )
    return placement(ctx, facts, options.scope)


def preview(ctx: SystemContext, diagnosis: Diagnosis, options: FixOptions) -> KeyPreview:
    """Decide where and which key, and replay the lookup before and after (reads only).

    Raises KeyInputRefused for input that is not a key, ValueError for an unknown scope.
    """
    facts = diagnosis.facts
    given = read_input(options.key_input) if options.key_input is not None else None
    lookup = diagnosis.lookup
    before = chain_from(lookup, f"Now, from {ctx.tilde(project_dir(ctx))}")
    notes: list[str] = []
    warnings: list[str] = []
    if given is not None:
        notes.append(_describe_key(given, _origin(options)))
        warnings += [_WARNING_WORDS.get(code, code) for code in given.warnings]
    if facts.scheme == F.NONE:
        return KeyPreview(
            facts.scheme,
            facts.measured,
            None,
            given,
            before=before,
            notes=tuple(notes),
            warnings=tuple(warnings),
        )
    place = _chosen_placement(ctx, facts, options)
    choice = _KeyChoice(given, "input" if given is not None else "none", place.key_path, None)
    if given is None and lookup.source == IVY_KEY:
        choice = choice._replace(source="env")
    elif given is None:
        choice = _key_on_disk(ctx, lookup, options, place.key_path)
        notes += choice.notes
        warnings += choice.warnings
    target = choice.target
    if choice.source == "existing" and target is not None and not same_file(target, place.key_path):
        # The key ivy already reads stays where it is: placement only matters for a new key.
        place = Placement(
            facts.scheme,
            SCOPE_CURRENT,
            "where ivy already finds it",
            target,
            target.parent if facts.scheme != F.IVY_KEY else None,
            None,
        )
        notes.append(
            f"ivy already finds a key at {ctx.tilde(target)}; it stays there. To place a key "
            "somewhere else, give it together with the scope (home or project)."
        )
    after, walk_only = _after_chains(ctx, facts, place, target, choice.key is not None)
    notes += _placement_notes(ctx, facts, place, diagnosis, walk_only)
    return KeyPreview(
        facts.scheme,
        facts.measured,
        place,
        choice.key,
        choice.source,
        choice.copy_from,
        target,
        existing_key(target) if target is not None else None,
        before,
        after,
        walk_only,
        tuple(notes),
        tuple(warnings),
    )


def _after_chains(
    ctx: SystemContext,
    facts: F.VersionFacts,
    place: Placement,
    target: Path | None,
    placing: bool,
) -> tuple[Chain, Chain | None]:
    project = ctx.tilde(project_dir(ctx))
    created = (
        place.ivy_dir
        if placing and place.ivy_dir is not None and not os.path.isdir(place.ivy_dir)
        else None
    )
    placed = target if placing else None
    if place.env_var:
        env = {**ctx.env, IVY_KEY: "set"}
        chain = replay(
            ctx,
            facts,
            f"After this step and the Environment step, in a new terminal in {project}",
            env=env,
            env_note="from the Environment step's env file",
        )
        return chain, None
    if place.scope == SCOPE_HOME and place.ivy_root is not None:
        root = str(place.ivy_root)
        already = ctx.env.get(IVY_ROOT) == root
        env = {**ctx.env, IVY_ROOT: root}
        title = (
            f"After this step, from {project}"
            if already
            # The value itself, absolute: a `~` here would read as the very form ivy rejects.
            else f"After this step, in a new terminal once the Environment step has persisted "
            f"IVY_ROOT={root}, from {project}"
        )
        after = replay(
            ctx,
            facts,
            title,
            env=env,
            created_dir=created,
            placed=placed,
            env_note=None if already else "persisted by the Environment step",
        )
        walk_env = {k: v for k, v in ctx.env.items() if k != IVY_ROOT}
        walk = replay(
            ctx,
            facts,
            f"After this step, from {project} without IVY_ROOT (the working-folder walk alone)",
            env=walk_env,
            created_dir=created,
            placed=placed,
        )
        return after, walk
    after = replay(
        ctx, facts, f"After this step, from {project}", created_dir=created, placed=placed
    )
    return after, None


def _placement_notes(
    ctx: SystemContext,
    facts: F.VersionFacts,
    place: Placement,
    diagnosis: Diagnosis,
    walk_only: Chain | None,
) -> list[str]:
    notes: list[str] = []
    project = project_dir(ctx)
    if facts.scheme == F.UNKNOWN:
        notes.append(
            "ivy-setup cannot tell which key scheme this ivy uses, so it places the key for the "
            f"0.0.9.0 key.pem scheme, the most likely one. {facts.assumed_note}".strip()
        )
    elif facts.assumed_note:
        notes.append(facts.assumed_note)
    if place.env_var:
        notes.append(
            "IVY_KEY for all projects: the Environment step writes IVY_KEY into its own env file "
            "(mode 0600, never a world-readable shell file) and sources it from each shell; this "
            "step writes no file. Run the Environment step with the same key (`ivy-setup fix "
            "--only key,environment --scope home --key-file PATH`, or the wizard's Environment step)."
        )
        return notes
    if place.scope == SCOPE_HOME and place.ivy_root is not None:
        root = place.ivy_root
        if ctx.env.get(IVY_ROOT) != str(root):
            notes.append(
                f"Environment step: persist IVY_ROOT={root} (absolute: the .ivy folder itself, "
                "never a literal ~) for every shell, so every working folder finds the key. This "
                "step does not edit shell files; `ivy-setup fix --only environment` (or the "
                "wizard's Environment step) does."
            )
        notes.append(_walk_note(ctx, place, walk_only))
    elif place.scope == SCOPE_PROJECT and place.ivy_dir is not None:
        notes.append(
            f"This project only: ivy finds {ctx.tilde(place.ivy_dir)} because it is the nearest "
            f".ivy walking up from {ctx.tilde(project)}, as long as the script runs from this "
            "folder (or below it) and IVY_ROOT is not set. The Environment step must not persist "
            "an IVY_ROOT for this choice."
        )
        notes += _override_warnings(ctx, place.ivy_dir, diagnosis)
    elif place.key_path is not None and ctx.env.get(IVY_KEY):
        notes.append(
            "IVY_KEY is set in this process: ivy uses it and never reads "
            f"{ctx.tilde(place.key_path)} while it is set (see environment.conflicts)."
        )
    elif place.key_path is not None and ctx.env.get(IVY_KEY) == "":
        # Measured on 0.0.9.2: an empty IVY_KEY counts as set; no ivy-key.pem is read then.
        notes.append(
            "⚠ IVY_KEY is set but empty in this process: ivy counts that as set and never reads "
            f"{ctx.tilde(place.key_path)} until IVY_KEY is unset where it is defined (`unset "
            "IVY_KEY`; see environment.conflicts)."
        )
    return notes


def _walk_note(ctx: SystemContext, place: Placement, walk_only: Chain | None) -> str:
    home_dir = ctx.tilde(place.ivy_dir or "")
    project = ctx.tilde(project_dir(ctx))
    if walk_only is not None and walk_only.reads and same_file(walk_only.reads, place.key_path):
        return (
            f"Why IVY_ROOT and not only the walk: from {project} ivy would also find "
            f"{home_dir} by walking up from the working folder, but only because {project} is "
            "under your home folder and no nearer .ivy exists. A script started anywhere else "
            "(a data disk, /tmp, a cron job, an IDE or Jupyter whose working folder is not under "
            "~) would not find it, and a nearer .ivy (ivy creates one itself when it finds none) "
            "would hide it. The absolute IVY_ROOT makes every working folder find it."
        )
    outside = not within(project_dir(ctx), ctx.home)
    reason = (
        f"{project} is outside your home folder, so the upward walk never reaches {home_dir}"
        if outside
        else "a nearer .ivy folder is found first and hides it"
    )
    return (
        f"Why IVY_ROOT and not only the walk: without IVY_ROOT ivy would not find the key from "
        f"{project}: {reason} (ivy looks only in the nearest .ivy walking up from the working "
        "folder). The absolute IVY_ROOT makes every working folder find it."
    )


def _override_warnings(ctx: SystemContext, ivy_dir: Path, diagnosis: Diagnosis) -> list[str]:
    out: list[str] = []
    value = ctx.env.get(IVY_ROOT)
    if value is not None and not same_file(F.resolve_ivy_root(value, project_dir(ctx)), ivy_dir):
        out.append(
            f"Warning: IVY_ROOT={value} is set in this process, so ivy reads $IVY_ROOT/key.pem "
            f"and never looks in {ctx.tilde(ivy_dir)}. Unset it for this project (or point it at "
            f"{ivy_dir})."
        )
    try:
        effective = diagnosis.finding("environment.conflicts").evidence.get("effective") or {}
    except KeyError:
        effective = {}
    for shell, variables in sorted(effective.items()) if isinstance(effective, dict) else []:
        winner = variables.get(IVY_ROOT) if isinstance(variables, dict) else None
        if not isinstance(winner, dict) or not winner.get("value"):
            continue
        shell_value = str(winner["value"])
        if same_file(F.resolve_ivy_root(shell_value, project_dir(ctx)), ivy_dir):
            continue
        out.append(
            f"Warning: new {shell} terminals get IVY_ROOT={shell_value} (from "
            f"{winner.get('file')}:{winner.get('line')}), which overrides {ctx.tilde(ivy_dir)}: "
            "ivy started from them reads that folder's key.pem instead. Remove that line for "
            "this project to use its own key."
        )
    return out
