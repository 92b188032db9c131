"""Step 2, Key: where this ivy version looks for the key, and placing the key there, byte-exact.

The lookup chain (from `key.location`) comes first. Below it the user gives the key — pasted into
a hidden field, or loaded from a file — and chooses the scope; a worker plans the step (normalise
or refuse, where it goes, the chain after the change), Apply runs it in another worker inside one
journal run, and every check runs again. Verify asks ivy's server about the key only after an
explicit consent dialog. The key is never drawn: only its fingerprint and first/last 4 characters.
"""

from __future__ import annotations

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
from ivy_setup_tui.core.steps.registry import journaled_note
from ivy_setup_tui.tui.screens.base import StepScreen, installed_version
from ivy_setup_tui.tui.screens.confirm import ConfirmScreen
from ivy_setup_tui.tui.screens.messages import StepApplied
from ivy_setup_tui.tui.widgets.fix_view import CommandLine
from ivy_setup_tui.tui.widgets.key_input import PathSuggester, SecretInput
from ivy_setup_tui.tui.widgets.lookup_chain import LookupChain
from ivy_setup_tui.tui.widgets.status import plain

if TYPE_CHECKING:
    from ivy_setup_tui.core.checks import Diagnosis
    from ivy_setup_tui.core.plan import StepPlan
    from ivy_setup_tui.core.steps.key.fix import Candidate, Chain, KeyPreview
    from ivy_setup_tui.core.steps.key.verify import Verification
    from ivy_setup_tui.tui.app import WizardState

# Far above any key: a mistaken choice of a large file is refused without reading all of it.
MAX_KEY_FILE = 64 * 1024


class KeyPlanned(Message):
    """The preview and plan for request `token` are ready (posted from the planning worker)."""

    def __init__(self, preview: KeyPreview, plan: StepPlan, token: int) -> None:
        super().__init__()
        self.preview = preview
        self.plan = plan
        self.token = token


class KeyRefused(Message):
    """The input of request `token` is not a key: the named reason, and candidates to pick from."""

    def __init__(self, reason: str, candidates: tuple[Candidate, ...], token: int) -> None:
        super().__init__()
        self.reason = reason
        self.candidates = candidates
        self.token = token


class KeyFileRead(Message):
    """A key file was read (posted from the loading worker): its bytes, or why it could not be."""

    def __init__(self, path: str, data: bytes | None, error: str | None) -> None:
        super().__init__()
        self.path = path
        self.data = data
        self.error = error


class KeyApplied(StepApplied):
    """The Key step placed the key (or could not)."""


class KeyVerified(Message):
    """ivy's server answered (or could not be asked): the verdict, without the key."""

    def __init__(self, verification: Verification) -> None:
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
        yield Static(id="key-result")


class KeyScreen(StepScreen):
    """The lookup chain, the key input (hidden), the scope, the plan with the chain after, Apply."""

    STEP: ClassVar[Step] = Step.KEY
    HEADLINE: ClassVar[str] = "where ivy looks, and what it reads"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "apply", "Apply"),
        Binding("k", "focus_key", "Key field"),
        Binding("v", "verify", "Verify", show=False),
    ]
    ACTION_BUTTONS: ClassVar[dict[str, str]] = {"apply": "#key-apply"}

    def __init__(self) -> None:
        super().__init__()
        self.preview: KeyPreview | None = None
        self.plan: StepPlan | None = None
        self.applying = False
        self.verifying = False
        self._raw: bytes | None = None  # what the user gave; never rendered
        self._source: str | None = None
        self._scope: str | None = None
        self._candidates: tuple[Candidate, ...] = ()
        self._refusal: str | None = None
        self._peek = False
        self._token = 0
        self._planned_for: Diagnosis | None = None
        self._result_text: Content | None = None
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
        self._sync()
        self.render_extra(self.wizard.state, facts_for(installed_version(self.wizard.state)))

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
        """Redraw the chain from `key.location`; plan again for each new diagnosis."""
        location = state.findings.get("key.location")
        scheme_finding = state.findings.get("version.scheme")
        scheme = scheme_finding.evidence.get("scheme") if scheme_finding is not None else None
        self.query_one("#lookup-chain", LookupChain).show(
            state.ctx,
            location.evidence if location is not None else None,
            scheme=str(scheme) if scheme is not None else None,
        )
        diagnosis = state.diagnosis
        if not self._panel_ready:
            return
        if diagnosis is not None and diagnosis is not self._planned_for and not self.applying:
            self._planned_for = diagnosis
            self._scope_labels(diagnosis)
            self._replan()

    def _scope_labels(self, diagnosis: Diagnosis) -> None:
        """Name the two scopes for the installed scheme (the files they write)."""
        from ivy_setup_tui.core.steps.key import fix as fix_key

        facts = diagnosis.facts
        row = self.query_one("#key-scope-row")
        row.display = facts.scheme != NONE
        if facts.scheme == NONE:
            return
        ctx = diagnosis.ctx
        home = fix_key.placement(ctx, facts, fix_key.SCOPE_HOME)
        project = fix_key.placement(ctx, facts, fix_key.SCOPE_PROJECT)
        home_label = (
            "for all projects: IVY_KEY in the Environment step's 0600 env file"
            if home.env_var
            else f"for all projects: {ctx.tilde(home.key_path or '')} + IVY_ROOT"
        )
        project_label = f"this project only: {ctx.tilde(project.key_path or '')}"
        self.query_one("#scope-home", RadioButton).label = home_label
        self.query_one("#scope-project", RadioButton).label = project_label
        if self._scope is None:
            default = fix_key.default_scope(facts)
            button = "#scope-home" if default == fix_key.SCOPE_HOME else "#scope-project"
            with self.query_one("#key-scope", RadioSet).prevent(RadioSet.Changed):
                self.query_one(button, RadioButton).value = True

    # -- planning --------------------------------------------------------------------------------

    def _options(self) -> FixOptions:
        return FixOptions(key_input=self._raw, key_source=self._source, scope=self._scope)

    def _replan(self) -> None:
        diagnosis = self._planned_for
        if diagnosis is None:
            return
        self._token += 1
        self._plan_key(diagnosis.ctx, diagnosis, self._options(), self._token)

    @work(thread=True, exclusive=True, exit_on_error=False, group="key-plan")
    def _plan_key(
        self, ctx: SystemContext, diagnosis: Diagnosis, options: FixOptions, token: int
    ) -> None:
        """Normalise, place and replay the lookup off the UI thread (it reads files)."""
        from ivy_setup_tui.core.steps.key import fix as fix_key

        try:
            made = fix_key.preview(ctx, diagnosis, options)
            plan = fix_key.plan_from(ctx, diagnosis, options, made)
        except fix_key.KeyInputRefused as exc:
            self.post_message(KeyRefused(exc.message, exc.candidates, token))
            return
        except (BadInput, ValueError) as exc:
            self.post_message(KeyRefused(str(exc), (), token))
            return
        except Exception as exc:  # noqa: BLE001 - shown on the screen instead of crashing it
            self.post_message(KeyRefused(f"{type(exc).__name__}: {exc}", (), token))
            return
        self.post_message(KeyPlanned(made, plan, token))

    async def on_key_planned(self, message: KeyPlanned) -> None:
        """Show the latest plan (older answers are stale)."""
        if message.token != self._token:
            return
        self.preview = message.preview
        self.plan = message.plan
        self._refusal = None
        if self._raw is None or message.preview.source != "input":
            self._show_candidates(())
        await self._show_plan()

    async def on_key_refused(self, message: KeyRefused) -> None:
        """Say why the input is not a key; offer the lines of a multi-line input to pick from."""
        if message.token != self._token:
            return
        self.preview = None
        self.plan = None
        self._refusal = message.reason
        self._result_text = None  # the last Apply's outcome is about another key: drop it
        self._show_candidates(message.candidates)
        if any(c.usable for c in message.candidates):
            # One message, not two: the picker below says what to do.
            self._refusal = "Several lines were given, and only one can be the key."
        await self._show_plan()

    def _show_candidates(self, found: tuple[Candidate, ...]) -> None:
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
        self._sync()

    # -- input events ------------------------------------------------------------------------------

    @on(Input.Changed, "#key-input")
    def _key_typed(self, event: Input.Changed) -> None:
        value = event.value
        self._raw = value.encode("utf-8") if value else None
        self._source = "paste" if value else None
        if value:
            self._result_text = None  # a new key: the last outcome no longer applies
        self._replan()

    @on(SecretInput.LinesPasted)
    def _lines_pasted(self, event: SecretInput.LinesPasted) -> None:
        self._raw = event.text.encode("utf-8")
        self._source = "paste"
        self._result_text = None
        self._replan()

    @on(OptionList.OptionSelected, "#key-pick")
    def _line_picked(self, event: OptionList.OptionSelected) -> None:
        index = int(event.option.id or 0)
        if index < len(self._candidates):
            chosen = self._candidates[index]
            self._raw = chosen.key.encode("utf-8")
            origin = self._source or "paste"
            self._source = f"{origin} (line {chosen.line})"
            self._replan()

    @on(RadioSet.Changed, "#key-scope")
    def _scope_chosen(self, event: RadioSet.Changed) -> None:
        from ivy_setup_tui.core.steps.key import fix as fix_key

        pressed = event.pressed.id or ""
        self._scope = fix_key.SCOPE_PROJECT if pressed == "scope-project" else fix_key.SCOPE_HOME
        self._replan()

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
        path = PathSuggester(ctx.home, ctx.cwd).expand(text)
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
        self._result_text = None
        self._replan()

    def action_toggle_peek(self) -> None:
        """Show or hide the first and last four characters (never more)."""
        self._peek = not self._peek
        self._sync()

    # -- apply ---------------------------------------------------------------------------------

    def _sync(self) -> None:
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
        result = self.query_one("#key-result", Static)
        result.display = self._result_text is not None
        if self._result_text is not None:
            result.update(self._result_text)
        self.refresh_bindings()

    def action_apply(self) -> None:
        """Place the key: the plan's changes in a worker, inside one journal run."""
        diagnosis = self._planned_for
        if self.applying or self.plan is None or self.plan.empty or diagnosis is None:
            if self._refusal is not None and not self.applying:
                self.notify("Nothing to apply: the key given was refused.", severity="warning")
                return
            self.cannot_apply(busy=self.applying, planned=self.plan is not None)
            return
        self.applying = True
        self._result_text = Content.styled("Applying…", "$text-muted")
        self._sync()
        self._apply_plan(diagnosis.ctx, self.plan)

    @work(thread=True, exclusive=True, exit_on_error=False, group="key-apply")
    def _apply_plan(self, ctx: SystemContext, plan: StepPlan) -> None:
        """Apply inside one journal run and post the outcome."""
        from ivy_setup_tui.core.steps.registry import apply_in_run

        done = apply_in_run(ctx, Step.KEY, plan)
        self.post_message(KeyApplied(done.result, done.run_id, done.error))

    def on_key_applied(self, message: KeyApplied) -> None:
        """Show the outcome, forget the key given, and re-run every check."""
        self.reveal("#key-result")
        self.applying = False
        self._result_text = _outcome(message)
        if message.result is not None and message.result.ok:
            self._forget_input()
        self._sync()
        self.wizard.start_checks()

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
                self._result_text = Content.styled("Asking ivy's server…", "$text-muted")
                self._sync()
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
        self._result_text = _verdict(message.verification)
        self._sync()

    @on(Button.Pressed, "#key-apply")
    def _apply_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_apply()

    @on(Button.Pressed, "#key-verify")
    def _verify_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_verify()

    @on(Button.Pressed, "#key-skip")
    def _skip_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_next()

    @on(Button.Pressed, "#key-load")
    def _load_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_load()

    @on(Button.Pressed, "#key-show")
    def _show_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_toggle_peek()

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
        from ivy_setup_tui.core.steps.key.fix import shown

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
    for refusal in plan.refusals:
        widgets.append(
            Static(
                Content.assemble(
                    ("Not done automatically: ", "bold $warning"), plain(refusal.reason)
                ),
                classes="refusal",
            )
        )
        widgets.extend(CommandLine(command) for command in refusal.manual)
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
    from ivy_setup_tui.core.steps.key.fix import shown

    if preview is not None and preview.key is not None:
        return Content.styled(f"{shown(preview.key.key)}  (first and last 4 characters)", "bold")
    if raw:
        return Content.styled("(not a usable key yet)", "$text-muted")
    return Content.styled("(nothing given yet)", "$text-muted")


def _outcome(message: KeyApplied) -> Content:
    if message.error is not None:
        return Content.assemble(("✗ Nothing was changed: ", "bold $error"), message.error)
    result = message.result
    assert result is not None
    parts: list[Content | str | tuple[str, str]] = []
    for change in result.applied:
        parts.append((f"✓ {change.summary}\n", "bold $success"))
    for change, reason in result.failed:
        parts.append((f"✗ {change.summary}\n", "bold $error"))
        parts.append(reason + "\n")
    for text in result.messages:
        if text.startswith(("key.location:", "key.content:")):
            continue  # the service's quick re-check: every check runs again and shows below
        parts.append((plain(text) + "\n", "$warning"))
    if message.run_id and result.applied:
        parts.append((journaled_note(message.run_id), "$text-muted"))
    return Content.assemble(*parts)


def _verdict(outcome: Verification) -> Content:
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
