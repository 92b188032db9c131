"""Step 2, Key: where this ivy version looks for the key, and placing the key there, byte-exact.

The lookup chain (from `key.location`) comes first. Below it the user gives the key — pasted into
a hidden field, or loaded from a file — and chooses the scope; a worker plans the step (normalise
or refuse, where it goes, the chain after the change), Apply runs it in another worker inside one
journal run, and every check runs again. Verify asks ivy's server about the key only after an
explicit consent dialog. The key is never drawn: only its fingerprint and first/last 4 characters.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import Button, Input, OptionList, RadioButton, RadioSet, Static
from textual.widgets.option_list import Option

from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.facts import IVY_KEY, KEY_PEM, NONE, VersionFacts, facts_for
from ivy_setup_tui.core.model import Step
from ivy_setup_tui.core.plan import BadInput, FixOptions
from ivy_setup_tui.tui.screens.confirm import ConfirmScreen
from ivy_setup_tui.tui.screens.messages import PlanFailed, StepApplied
from ivy_setup_tui.tui.screens.step import StepScreen, installed_version
from ivy_setup_tui.tui.widgets.fix_view import CommandLine, refusal_widgets
from ivy_setup_tui.tui.widgets.key_input import SecretInput
from ivy_setup_tui.tui.widgets.lookup_chain import LookupChain
from ivy_setup_tui.tui.widgets.outcome import Parts, StepOutcome, applied_words, change_lines
from ivy_setup_tui.tui.widgets.path_completion import PathSuggester, expand_path
from ivy_setup_tui.tui.widgets.status import plain

if TYPE_CHECKING:
    from ivy_setup_tui.core.checks import Diagnosis
    from ivy_setup_tui.core.plan import StepPlan, StepResult
    from ivy_setup_tui.core.steps.key.key_input import KeyCandidate
    from ivy_setup_tui.core.steps.key.placement import Chain
    from ivy_setup_tui.core.steps.key.preview import KeyPreview
    from ivy_setup_tui.core.steps.key.verify import KeyVerification
    from ivy_setup_tui.tui.state import WizardState

# Far above any key: a mistaken choice of a large file is refused without reading all of it.
MAX_KEY_FILE = 64 * 1024


class KeyRefused(PlanFailed):
    """The input of request `token` is not a key: the named reason, and candidates to pick from."""

    def __init__(self, reason: str, token: int, candidates: tuple[KeyCandidate, ...] = ()) -> None:
        super().__init__(reason, token)
        self.candidates = candidates


class KeyFileRead(Message):
    """A key file was read (posted from the loading worker): its bytes, or why it could not be."""

    def __init__(self, path: str, data: bytes | None, error: str | None) -> None:
        super().__init__()
        self.path = path
        self.data = data
        self.error = error


class KeyVerified(Message):
    """ivy's server answered (or could not be asked): the verdict, without the key."""

    def __init__(self, verification: KeyVerification) -> None:
        super().__init__()
        self.verification = verification


class KeyPanel(Vertical):
    """The key input (hidden field or file), the line picker, the scope, the plan, the actions."""

    def __init__(self, ctx: SystemContext) -> None:
        super().__init__(id="key-panel")
        self._ctx = ctx

    def compose(self) -> ComposeResult:
        """Top to bottom in the order the user acts: give the key, choose, read, apply."""
        yield Static(id="key-intro")
        with Horizontal(id="key-paste-row", classes="key-row"):
            yield Static("Key:", classes="label")
            yield SecretInput(placeholder="paste your ivy API key (hidden)", id="key-input")
            yield Button("Show", id="key-show", compact=True)
        yield Static(id="key-peek")
        with Horizontal(id="key-file-row", classes="key-row"):
            yield Static("File:", classes="label")
            yield Input(
                placeholder="a key file, e.g. ~/Downloads/key.pem",
                suggester=PathSuggester(self._ctx.home, self._ctx.cwd),
                id="key-file",
                compact=True,
            )
            yield Button("Load", id="key-load", compact=True)
        yield Static(id="key-pick-help")
        yield OptionList(id="key-pick")
        with Horizontal(id="key-scope-row", classes="key-row"):
            yield Static("Place it:", classes="label")
            with RadioSet(id="key-scope", compact=True):
                yield RadioButton("for all projects", id="scope-home", value=True)
                yield RadioButton("this project only", id="scope-project")
        yield Static(id="key-status")
        yield Vertical(id="key-changes")
        yield Static(id="key-after")
        with Horizontal(id="key-actions"):
            yield Button("Apply", id="key-apply", variant="success", compact=True)
            yield Button("Verify with ivy's server…", id="key-verify", compact=True)
            yield Button("Skip", id="key-skip", compact=True)
        yield StepOutcome(id="key-result")


class KeyScreen(StepScreen["tuple[KeyPreview, StepPlan]"]):
    """The lookup chain, the key input (hidden), the scope, the plan with the chain after, Apply."""

    STEP: ClassVar[Step] = Step.KEY
    HEADLINE: ClassVar[str] = "where ivy looks, and what it reads"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "apply", "Apply"),
        Binding("k", "focus_key", "Key field"),
        Binding("v", "verify", "Verify", show=False),
    ]
    ACTION_BUTTONS: ClassVar[dict[str, str]] = {"apply": "#key-apply"}
    BUTTONS: ClassVar[dict[str, str]] = {
        "key-apply": "apply",
        "key-verify": "verify",
        "key-skip": "next",
        "key-load": "load",
        "key-show": "toggle_peek",
    }
    OUTCOME: ClassVar[str] = "key-result"

    def __init__(self) -> None:
        super().__init__()
        self.preview: KeyPreview | None = None
        self.plan: StepPlan | None = None
        self.verifying = False
        self._raw: bytes | None = None  # what the user gave; never rendered
        self._source: str | None = None
        self._scope: str | None = None
        self._candidates: tuple[KeyCandidate, ...] = ()
        self._refusal: str | None = None
        self._peek = False
        self._panel_ready = False

    # -- layout --------------------------------------------------------------------------------

    def compose_extra(self) -> ComposeResult:
        """The lookup chain above the findings: it is the evidence users need first."""
        yield LookupChain(id="lookup-chain")

    async def on_mount(self) -> None:
        """The key panel goes below the findings: found, why, then the change and Apply."""
        ctx = self.wizard.state.ctx
        await self.query_one("#step-body").mount(KeyPanel(ctx), after="#findings")
        self.query_one("#key-pick", OptionList).display = False
        self.query_one("#key-pick-help", Static).display = False
        self.query_one("#key-peek", Static).display = False
        self._panel_ready = True
        self.sync_controls()
        self.render_extra(self.wizard.state, facts_for(installed_version(self.wizard.state)))
        self.plan_for(self.wizard.state.diagnosis)

    def why(self, state: WizardState, facts: VersionFacts) -> str:
        """What this scheme reads, exactly, per the facts."""
        note = f" {facts.assumed_note}" if facts.assumed_note else ""
        if facts.scheme == KEY_PEM:
            return (
                "ivy reads the first line of key.pem exactly as it is written, trailing newline "
                "and spaces included, and sends it to its key server: `echo KEY > key.pem` adds a "
                "newline that breaks it. The key is a plain API-key string, not a certificate."
                + note
            )
        if facts.scheme == IVY_KEY:
            return (
                "This ivy reads the key from the IVY_KEY variable, else from an ivy-key.pem file "
                "in the folder you run from or a parent." + note
            )
        if facts.scheme == NONE:
            return (
                f"ivy {facts.version} needs no key: nothing here can stop it from running." + note
            )
        return (
            "ivy-setup cannot tell which key scheme will run, so it shows the key.pem lookup of "
            "ivy 0.0.9.0, the most likely one." + note
        )

    # -- rendering the state -------------------------------------------------------------------

    def render_extra(self, state: WizardState, facts: VersionFacts) -> None:
        """Redraw the chain from `key.location`."""
        location = state.findings.get("key.location")
        scheme_finding = state.findings.get("version.scheme")
        scheme = scheme_finding.evidence.get("scheme") if scheme_finding is not None else None
        self.query_one("#lookup-chain", LookupChain).show(
            state.ctx,
            location.evidence if location is not None else None,
            scheme=str(scheme) if scheme is not None else None,
        )

    @property
    def ready_to_plan(self) -> bool:
        """The key panel is mounted after compose: plans wait for it."""
        return self._panel_ready

    def new_diagnosis(self, diagnosis: Diagnosis) -> None:
        """Name the scopes for the installed scheme, then plan."""
        self._scope_labels(diagnosis)
        self.replan()

    def _scope_labels(self, diagnosis: Diagnosis) -> None:
        """Name the two scopes for the installed scheme (the files they write)."""
        from ivy_setup_tui.core.steps.key import placement

        facts = diagnosis.facts
        row = self.query_one("#key-scope-row")
        row.display = facts.scheme != NONE
        if facts.scheme == NONE:
            return
        ctx = diagnosis.ctx
        home = placement.placement(ctx, facts, placement.SCOPE_HOME)
        project = placement.placement(ctx, facts, placement.SCOPE_PROJECT)
        home_label = (
            "for all projects: IVY_KEY in the Environment step's 0600 env file"
            if home.env_var
            else f"for all projects: {ctx.tilde(home.key_path or '')} + IVY_ROOT"
        )
        project_label = f"this project only: {ctx.tilde(project.key_path or '')}"
        self.query_one("#scope-home", RadioButton).label = home_label
        self.query_one("#scope-project", RadioButton).label = project_label
        if self._scope is None:
            default = placement.default_scope(facts)
            button = "#scope-home" if default == placement.SCOPE_HOME else "#scope-project"
            with self.query_one("#key-scope", RadioSet).prevent(RadioSet.Changed):
                self.query_one(button, RadioButton).value = True

    # -- planning --------------------------------------------------------------------------------

    def _options(self) -> FixOptions:
        return FixOptions(key_input=self._raw, key_source=self._source, scope=self._scope)

    def planner(self, diagnosis: Diagnosis) -> Callable[[], tuple[KeyPreview, StepPlan]]:
        """Normalise, place and replay the lookup off the UI thread (it reads files)."""
        options = self._options()

        def plan() -> tuple[KeyPreview, StepPlan]:
            from ivy_setup_tui.core.steps.key import fix as fix_key
            from ivy_setup_tui.core.steps.key import preview

            made = preview.preview(diagnosis.ctx, diagnosis, options)
            return made, fix_key.plan_from(diagnosis.ctx, diagnosis, options, made)

        return plan

    def plan_failed(self, exc: Exception, token: int) -> PlanFailed:
        """Input that is not a key is refused with its reason (and the lines to pick from)."""
        from ivy_setup_tui.core.steps.key import key_input

        if isinstance(exc, key_input.KeyInputRefused):
            return KeyRefused(exc.message, token, exc.candidates)
        if isinstance(exc, (BadInput, ValueError)):
            return KeyRefused(str(exc), token)
        return KeyRefused(f"{type(exc).__name__}: {exc}", token)

    async def show_planned(self, planned: tuple[KeyPreview, StepPlan]) -> None:
        """Show the latest plan."""
        self.preview, self.plan = planned
        self._refusal = None
        if self._raw is None or self.preview.source != "input":
            self._show_candidates(())
        await self._show_plan()

    async def show_failed(self, failure: PlanFailed) -> None:
        """Say why the input is not a key; offer the lines of a multi-line input to pick from."""
        candidates = failure.candidates if isinstance(failure, KeyRefused) else ()
        self.preview = None
        self.plan = None
        self._refusal = failure.reason
        self.result_text = None  # the last Apply's outcome is about another key: drop it
        self._show_candidates(candidates)
        if any(c.usable for c in candidates):
            # One message, not two: the picker below says what to do.
            self._refusal = "Several lines were given, and only one can be the key."
        await self._show_plan()

    def _show_candidates(self, found: tuple[KeyCandidate, ...]) -> None:
        self._candidates = found
        picker = self.query_one("#key-pick", OptionList)
        help_line = self.query_one("#key-pick-help", Static)
        picker.clear_options()
        usable = [c for c in found if c.usable]
        picker.display = bool(usable)
        help_line.display = bool(usable)
        if usable:
            help_line.update("Pick the line that is your key (Enter), or paste only the key.")
            picker.add_options(
                Option(
                    f"line {c.line}: {c.preview}  (fingerprint {c.fingerprint})",
                    id=str(n),
                )
                for n, c in enumerate(found)
                if c.usable
            )

    async def _show_plan(self) -> None:
        """Render intro, status, changes and the chain after for the current plan (or refusal)."""
        ctx = self.wizard.state.ctx
        intro = self.query_one("#key-intro", Static)
        status = self.query_one("#key-status", Static)
        after = self.query_one("#key-after", Static)
        changes = self.query_one("#key-changes", Vertical)
        await changes.remove_children()
        preview, plan = self.preview, self.plan
        if self._refusal is not None:
            intro.update(_intro(preview))
            status.update(Content.assemble(("✗ ", "bold $error"), plain(self._refusal)))
            after.update("")
        elif preview is None or plan is None:
            intro.update(Content.styled("Waiting for the checks…", "$text-muted"))
            status.update("")
            after.update("")
        else:
            intro.update(_intro(preview))
            status.update(_status(preview, plan))
            after.update(_after(ctx, preview, plan))
            await changes.mount_all(_change_widgets(plan))
        self.sync_controls()

    # -- input events ------------------------------------------------------------------------------

    @on(Input.Changed, "#key-input")
    def _key_typed(self, event: Input.Changed) -> None:
        value = event.value
        self._raw = value.encode("utf-8") if value else None
        self._source = "paste" if value else None
        if value:
            self.result_text = None  # a new key: the last outcome no longer applies
        self.replan()

    @on(SecretInput.LinesPasted)
    def _lines_pasted(self, event: SecretInput.LinesPasted) -> None:
        self._raw = event.text.encode("utf-8")
        self._source = "paste"
        self.result_text = None
        self.replan()

    @on(OptionList.OptionSelected, "#key-pick")
    def _line_picked(self, event: OptionList.OptionSelected) -> None:
        index = int(event.option.id or 0)
        if index < len(self._candidates):
            chosen = self._candidates[index]
            self._raw = chosen.key.encode("utf-8")
            origin = self._source or "paste"
            self._source = f"{origin} (line {chosen.line})"
            self.replan()

    @on(RadioSet.Changed, "#key-scope")
    def _scope_chosen(self, event: RadioSet.Changed) -> None:
        from ivy_setup_tui.core.steps.key import placement

        pressed = event.pressed.id or ""
        self._scope = (
            placement.SCOPE_PROJECT if pressed == "scope-project" else placement.SCOPE_HOME
        )
        self.replan()

    @on(Input.Submitted, "#key-file")
    def _file_submitted(self) -> None:
        self.action_load()

    def action_load(self) -> None:
        """Read the key file named in the path field (bounded) in a worker."""
        text = self.query_one("#key-file", Input).value.strip()
        if not text:
            self.notify("Type the path of the key file first.", severity="warning", timeout=3)
            return
        ctx = self.wizard.state.ctx
        path = expand_path(ctx.home, ctx.cwd, text)
        self._read_file(path)

    @work(thread=True, exclusive=True, exit_on_error=False, group="key-load")
    def _read_file(self, path: str) -> None:
        """Read at most MAX_KEY_FILE + 1 bytes; errors named plainly."""
        try:
            with open(path, "rb") as handle:
                data = handle.read(MAX_KEY_FILE + 1)
        except FileNotFoundError:
            self.post_message(KeyFileRead(path, None, "no such file"))
            return
        except IsADirectoryError:
            self.post_message(KeyFileRead(path, None, "a folder, not a key file"))
            return
        except PermissionError:
            self.post_message(KeyFileRead(path, None, "not readable by you"))
            return
        except OSError as exc:
            self.post_message(KeyFileRead(path, None, exc.strerror or type(exc).__name__))
            return
        if len(data) > MAX_KEY_FILE:
            self.post_message(
                KeyFileRead(path, None, f"more than {MAX_KEY_FILE // 1024} KiB: not a key file")
            )
            return
        self.post_message(KeyFileRead(path, data, None))

    async def on_key_file_read(self, message: KeyFileRead) -> None:
        """Take the file's content as the key input (the paste field is cleared)."""
        ctx = self.wizard.state.ctx
        if message.data is None:
            self._refusal = f"{ctx.tilde(message.path)}: {message.error}."
            self.preview = None
            self.plan = None
            await self._show_plan()
            return
        field = self.query_one("#key-input", SecretInput)
        with field.prevent(Input.Changed):
            field.value = ""
        self._raw = message.data
        self._source = f"file:{message.path}"
        self.result_text = None
        self.replan()

    def action_toggle_peek(self) -> None:
        """Show or hide the first and last four characters (never more)."""
        self._peek = not self._peek
        self.sync_controls()

    # -- apply ---------------------------------------------------------------------------------

    def sync_controls(self) -> None:
        """Apply with a plan for a key that was not refused; Verify with a key, never offline."""
        plan = self.plan
        busy = self.applying or self.verifying
        can_apply = not busy and plan is not None and not plan.empty and self._refusal is None
        self.query_one("#key-apply", Button).disabled = not can_apply
        can_verify = (
            not busy
            and not self.wizard.state.ctx.offline  # --offline: never offer to send the key
            and self.preview is not None
            and self.preview.key is not None
            and self.preview.scheme != NONE
        )
        verify = self.query_one("#key-verify", Button)
        verify.disabled = not can_verify
        verify.tooltip = (
            "Off: ivy-setup was started with --offline" if self.wizard.state.ctx.offline else None
        )
        peek = self.query_one("#key-peek", Static)
        peek.display = self._peek
        self.query_one("#key-show", Button).label = "Hide" if self._peek else "Show"
        if self._peek:
            peek.update(_peek(self.preview, self._raw))
        super().sync_controls()

    def action_apply(self) -> None:
        """Place the key: the plan's changes in a worker, inside one journal run."""
        if self.applying or self.plan is None or self.plan.empty or self._planned_for is None:
            if self._refusal is not None and not self.applying:
                self.notify("Nothing to apply: the key given was refused.", severity="warning")
                return
            self.cannot_apply(busy=self.applying, planned=self.plan is not None)
            return
        self.apply_plan(self.plan)

    def after_apply(self, message: StepApplied) -> None:
        """A key placed is forgotten: the field empties, nothing of it stays in memory here."""
        if message.result is not None and message.result.ok:
            self._forget_input()

    def outcome_words(self, message: StepApplied) -> Content:
        """The key placed (or why not), and how to undo it."""
        return applied_words(message.result, message.run_id, message.error, _result_lines)

    def _forget_input(self) -> None:
        field = self.query_one("#key-input", SecretInput)
        with field.prevent(Input.Changed):
            field.value = ""
        self._raw = None
        self._source = None
        self._peek = False

    # -- verify --------------------------------------------------------------------------------

    def action_verify(self) -> None:
        """Ask for consent, then send the key to ivy's server the way ivy does."""
        preview = self.preview
        diagnosis = self._planned_for
        if self.verifying or preview is None or preview.key is None or diagnosis is None:
            text = (
                "Already asking ivy's server."
                if self.verifying
                else "There is no key to verify yet."
            )
            self.notify(text, severity="warning", timeout=3)
            return
        from ivy_setup_tui.core.steps.key import verify

        url = verify.shown_url(diagnosis.ctx, preview.scheme)
        question = (
            f"Verifying sends your key (fingerprint {preview.key.fingerprint}) to ivy's server "
            f"at {url}, exactly as ivy itself does when it runs. "
            "Send it now?"
        )
        key = preview.key.key
        scheme = preview.scheme
        ctx = diagnosis.ctx

        def answered(yes: bool | None) -> None:
            if yes:
                self.verifying = True
                self.result_text = Content.styled("Asking ivy's server…", "$text-muted")
                self.sync_controls()
                self._verify_key(ctx, key, scheme)

        self.app.push_screen(ConfirmScreen(question, yes="Send it", no="Cancel"), answered)

    @work(thread=True, exclusive=True, exit_on_error=False, group="key-verify")
    def _verify_key(self, ctx: SystemContext, key: str, scheme: str) -> None:
        """The request, with the short network timeout of the context."""
        from ivy_setup_tui.core.steps.key import verify

        # The wizard's consent stands for --online; --offline still wins inside verify_key.
        self.post_message(KeyVerified(verify.verify_key(ctx, key, scheme)))

    def on_key_verified(self, message: KeyVerified) -> None:
        """Show the verdict in words."""
        self.verifying = False
        self.result_text = _verdict(message.verification)
        self.sync_controls()

    def action_focus_key(self) -> None:
        """Jump to the key field (it sits below the findings)."""
        field = self.query_one("#key-input", SecretInput)
        # The panel's top first, so the view starts with its intro, not halfway down a line.
        panel = self.query_one("#key-panel")
        self.query_one("#step-body").scroll_to_widget(panel, animate=False, top=True)
        field.focus(scroll_visible=False)


# --- rendering helpers (plain text in, Content out; nothing here ever sees the raw input) ------


def _intro(preview: KeyPreview | None) -> Content:
    if preview is None:
        return Content("Give the ivy API key: paste it, or load it from a file.")
    if preview.placement is None:
        return Content.styled("This ivy needs no key: there is nothing to place.", "bold")
    return Content.assemble(
        ("Give the ivy API key", "bold"),
        " (paste it, or load it from a file); ivy-setup stores exactly the key, no newline, in a "
        "file only you can read.",
    )


def _status(preview: KeyPreview, plan: StepPlan) -> Content:
    parts: list[Content | str | tuple[str, str]] = []
    if preview.key is not None:
        from ivy_setup_tui.core.steps.key.key_input import shown

        where = {
            "input": "Your key",
            "existing": "The key in place",
            "copy": "The key found",
        }.get(preview.source, "The key")
        parts += [
            (f"{where}: ", "bold"),
            f"{preview.key.length} characters, {shown(preview.key.key)}, fingerprint ",
            (preview.key.fingerprint, "bold"),
        ]
        if preview.existing is not None and preview.existing.fingerprint not in (
            None,
            preview.key.fingerprint,
        ):
            parts += [
                "\nNow in the file: fingerprint ",
                (str(preview.existing.fingerprint), "bold $warning"),
                " (it is backed up and replaced only when you press Apply)",
            ]
    for warning in preview.warnings:
        parts += ["\n", ("⚠ ", "bold $warning"), plain(warning)]
    if plan.needs_input and preview.key is None:
        parts.append(("Waiting for the key.", "$text-muted"))
    return Content.assemble(*parts)


def _change_widgets(plan: StepPlan) -> list[Static | CommandLine]:
    widgets: list[Static | CommandLine] = []
    for change in plan.changes:
        line = Content.assemble(("→ ", "bold $text-accent"), change.summary)
        if change.old is not None or change.new is not None:
            line = Content.assemble(
                line,
                ("\n    ", ""),
                (change.old or "(none)", "$text-muted"),
                " → ",
                change.new or "",
            )
        widgets.append(Static(line, classes="change-summary"))
    widgets.extend(refusal_widgets(plan.refusals))
    return widgets


def _chain_lines(ctx: SystemContext, chain: Chain) -> list[Content]:
    lines = [Content.styled(chain.title + ":", "bold")]
    for n, item in enumerate(chain.entries, 1):
        mark = ("✓", "bold $text-success") if item.found else ("✗", "$text-error")
        lines.append(
            Content.assemble(
                f"  {n}. ", mark, " ", ctx.tilde(item.path), (f"  {item.note}", "$text-muted")
            )
        )
    if chain.reads is None:
        lines.append(Content.styled("  → ivy finds no key", "$text-warning"))
    else:
        lines.append(Content.styled(f"  → ivy reads {ctx.tilde(chain.reads)}", "bold $success"))
    return lines


def _after(ctx: SystemContext, preview: KeyPreview, plan: StepPlan) -> Content:
    lines: list[Content] = []
    for chain in (preview.after, preview.walk_only):
        if chain is not None:
            lines += _chain_lines(ctx, chain)
    chains = {c.render(ctx) for c in (preview.before, preview.after, preview.walk_only) if c}
    warned = {f"⚠ {w}" for w in preview.warnings}
    for note in plan.notes:
        if note not in chains and note not in warned and not note.startswith("Key "):
            lines.append(Content.assemble(("ℹ ", "$text-accent"), plain(note)))
    return Content("\n").join(lines)


def _peek(preview: KeyPreview | None, raw: bytes | None) -> Content:
    from ivy_setup_tui.core.steps.key.key_input import shown

    if preview is not None and preview.key is not None:
        return Content.styled(f"{shown(preview.key.key)}  (first and last 4 characters)", "bold")
    if raw:
        return Content.styled("(not a usable key yet)", "$text-muted")
    return Content.styled("(nothing given yet)", "$text-muted")


def _result_lines(result: StepResult) -> Parts:
    """The changes made or failed, then what the step says (not its own quick re-check)."""
    parts = change_lines(result)
    for text in result.messages:
        if text.startswith(("key.location:", "key.content:")):
            continue  # the service's quick re-check: every check runs again and shows below
        parts.append((plain(text) + "\n", "$warning"))
    return parts


def _verdict(outcome: KeyVerification) -> Content:
    if outcome.result == "valid":
        head = ("✓ ivy's server accepts this key", "bold $success")
    elif outcome.result == "invalid":
        head = ("✗ ivy's server refused this key", "bold $error")
    else:
        head = (f"⚠ Not verified ({outcome.reason})", "bold $warning")
    tail = (
        " — not a sign that the key is wrong; ivy would fail the same way from here."
        if outcome.result == "unverified"
        else ""
    )
    return Content.assemble(head, f": {outcome.detail}.{tail}")
