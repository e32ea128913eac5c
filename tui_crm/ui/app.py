"""The Textual application: screen flow, auto-lock, keymap and command palette.

The app owns the one `Session` (the unlocked profile) and hands it to screens;
screens hold no key material of their own, so locking is "drop the session
and unwind the screens".
"""

from __future__ import annotations

import importlib
import os
import time
from collections.abc import Iterable
from functools import partial
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any, ClassVar

from textual import events
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.css.query import NoMatches
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.widget import Widget
from textual.worker import WorkerFailed, active_worker

from tui_crm.config import Settings, config_file_path
from tui_crm.domain import DomainError, EntityDef
from tui_crm.services.profile import ProfileService
from tui_crm.ui.auto_lock import Clock, IdleWatch
from tui_crm.ui.drafts import FormDraft

if TYPE_CHECKING:
    from tui_crm.services.session import Session

STYLES_DIR = Path(__file__).parent / "styles"

ANSI_THEME = "ansi-dark"
"""Used when the terminal has 16 colours: truecolor themes downgrade badly."""

KEPT_SYSTEM_COMMANDS = frozenset({"Quit", "Keys", "Maximize", "Minimize"})
"""Textual's default palette commands that write nothing and need no setting."""

OPTIONAL_SCREENS: dict[str, tuple[str, str, str]] = {
    # key -> (module, class, human name); built by other parts, may be absent.
    "nearby": ("tui_crm.ui.screens.nearby", "NearbyScreen", "Nearby"),
    "sync_status": ("tui_crm.ui.screens.sync_status", "SyncStatusScreen", "Sync status"),
}


def stylesheets() -> list[str | PurePath]:
    """Every `styles/*.tcss`, so another part adds styles by dropping a file in."""
    return [path for path in sorted(STYLES_DIR.glob("*.tcss"))]


def wants_ansi_theme(environ: dict[str, str] | os._Environ[str] = os.environ) -> bool:
    return environ.get("TEXTUAL_COLOR_SYSTEM", "").lower() in {"standard", "windows"}


class CrmApp(App[int]):
    """tui-crm's interface. Everything slow runs in workers awaiting the async services."""

    TITLE = "tui-crm"
    CSS_PATH = stylesheets()
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit", "Quit", id="app.quit", priority=True),
        Binding("question_mark", "help", "Help", id="app.help"),
        # In a text field "?" is a character; f1 reaches help from there too.
        Binding("f1", "help", "Help", id="app.help_in_field", show=False),
        Binding("ctrl+l", "lock", "Lock", id="app.lock", show=False),
        Binding("ctrl+o", "toggle_online", "Online/offline", id="app.online", show=False),
    ]

    def __init__(
        self,
        settings: Settings,
        *,
        profiles: ProfileService | None = None,
        clock: Clock | None = None,
        config_path: Path | None = None,
        idle_check_seconds: float = 15.0,
        unlock_hint: str = "",
    ) -> None:
        super().__init__()
        self.settings = settings
        self.unlock_hint = unlock_hint
        """Shown under the password field (the demo's throwaway password), never a real one."""
        self.profiles = profiles or ProfileService(settings.profile, kdf=settings.kdf)
        self.config_path = config_path or config_file_path()
        self.session: Session | None = None
        self.entity_defs: list[EntityDef] = []
        self.clock: Clock = clock or time.monotonic
        """Monotonic seconds for idle time and the lockout countdown; tests pass a fake."""
        self.idle = IdleWatch(settings.auto_lock_minutes, self.clock)
        self.pending_draft: FormDraft | None = None
        self._idle_check_seconds = idle_check_seconds
        # Bandwidth and calm over SSH: no animations, no blinking cursors.
        self.animation_level = "none"
        theme = ANSI_THEME if wants_ansi_theme() else settings.theme
        if theme in self.available_themes:
            self.theme = theme

    # ----- lifecycle -------------------------------------------------------

    def on_mount(self) -> None:
        if self.no_color:
            self.add_class("-no-color")
        self.set_keymap(dict(self.settings.keymap))
        self.set_interval(self._idle_check_seconds, self.check_auto_lock)
        if self.profiles.exists():
            from tui_crm.ui.screens.unlock import UnlockScreen

            self.push_screen(UnlockScreen(hint=self.unlock_hint))
        else:
            from tui_crm.ui.screens.consent import ConsentScreen

            self.push_screen(ConsentScreen())

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key | events.MouseDown | events.Paste):
            self.idle.touch()
        await super().on_event(event)

    def action_screenshot(self, filename: str | None = None, path: str | None = None) -> None:
        """Disabled: a screenshot would put record contents in a clear-text file."""
        self.notify("screenshots are disabled: they would save records unencrypted")

    def deliver_screenshot(
        self,
        filename: str | None = None,
        path: str | None = None,
        time_format: str | None = None,
    ) -> str | None:
        """Disabled for the same reason as `action_screenshot`."""
        self.notify("screenshots are disabled: they would save records unencrypted")
        return None

    async def action_quit(self) -> None:
        await self._close_session()
        self.exit(0)

    # ----- session ---------------------------------------------------------

    def session_or_raise(self) -> Session:
        if self.session is None:
            raise DomainError("the profile is locked")
        return self.session

    def hand_over(self, session: Session) -> None:
        """Called by the unlock and first-run screens once the key is in memory.

        Runs as an app worker: the screen calling it is about to be popped, and
        its own workers are cancelled with it.
        """
        self.session = session
        self.run_worker(self.unlocked(session), group="session", exclusive=True)

    async def unlocked(self, session: Session) -> None:
        self.session = session
        session.sync.configure(self.settings)  # sync rules and the online/offline choice
        session.nearby.configure(self.settings)  # with Map off this erases a kept position
        self.idle.touch()
        try:
            self.entity_defs = await session.records.entities()
        except DomainError as error:
            self.notify(str(error), severity="error")
            self.entity_defs = []
        await self._unwind()
        from tui_crm.ui.screens.home import HomeScreen

        await self.push_screen(HomeScreen())
        draft, self.pending_draft = self.pending_draft, None
        if draft is not None:
            await self.restore_draft(draft)

    async def restore_draft(self, draft: FormDraft) -> None:
        from tui_crm.ui.screens.record_form import RecordFormScreen

        entity_def = self.entity_def(draft.entity)
        if entity_def is None:
            return
        record = None
        if draft.record_id is not None:
            try:
                record = await self.session_or_raise().records.get(draft.entity, draft.record_id)
            except DomainError as error:
                self.notify(f"unsaved changes could not be restored: {error}", severity="error")
                return
        await self.push_screen(RecordFormScreen(entity_def, record, draft=draft))
        self.notify("restored your unsaved changes")

    async def check_auto_lock(self) -> None:
        """Lock when the idle limit passed; the interval timer and tests call this."""
        if self.session is not None and self.idle.expired():
            await self.lock()

    def action_lock(self) -> None:
        if self.session is not None:
            self.run_worker(self.lock(), group="session", exclusive=True)

    async def lock(self) -> None:
        """Keep unsaved form input, unwind every screen showing data, drop the key."""
        from tui_crm.ui.screens.record_form import RecordFormScreen
        from tui_crm.ui.screens.unlock import UnlockScreen

        for screen in reversed(self.screen_stack):
            if isinstance(screen, RecordFormScreen) and screen.is_dirty():
                self.pending_draft = screen.draft()
                break
        await self._unwind()
        await self.push_screen(UnlockScreen(locked=True))
        await self._close_session()

    async def _close_session(self) -> None:
        session, self.session = self.session, None
        if session is not None:
            await session.close()

    async def _unwind(self) -> None:
        while len(self.screen_stack) > 1:
            await self.pop_screen()

    # ----- navigation shared by home, palette and screens ---------------------

    def entity_def(self, name: str) -> EntityDef | None:
        for entity_def in self.entity_defs:
            if entity_def.name == name:
                return entity_def
        return None

    def open_home(self) -> None:
        from tui_crm.ui.screens.home import HomeScreen

        while len(self.screen_stack) > 2:
            self.pop_screen()
        if not isinstance(self.screen, HomeScreen):
            self.push_screen(HomeScreen())

    def open_list(self, entity: str) -> None:
        from tui_crm.ui.screens.record_list import RecordListScreen

        entity_def = self.entity_def(entity)
        if entity_def is not None and self.session is not None:
            self.push_screen(RecordListScreen(entity_def))

    def open_outbox(self) -> None:
        from tui_crm.ui.screens.outbox import OutboxScreen

        if self.session is not None:
            self.push_screen(OutboxScreen())

    def open_setup(self) -> None:
        from tui_crm.ui.screens.setup import SetupScreen

        if self.session is not None:
            self.push_screen(SetupScreen())

    def open_optional(self, key: str) -> None:
        """Push a screen another part provides, or say it is not there yet."""
        module_name, class_name, label = OPTIONAL_SCREENS[key]
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name != module_name:
                raise
            self.notify(f"{label}: not available yet", severity="warning")
            return
        screen_class: type[Screen[Any]] = getattr(module, class_name)
        self.push_screen(screen_class())

    def action_toggle_online(self) -> None:
        from tui_crm.ui.online_switch import toggle_online

        toggle_online(self)

    def action_help(self) -> None:
        from tui_crm.ui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    # ----- command palette ---------------------------------------------------

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Every notification is plain text, whatever the caller asked.

        Messages carry record names and the server's own words; read as markup,
        a name like "Smith [/x]" would raise inside the toast and end the app.
        """
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=False)

    def _handle_exception(self, error: Exception) -> None:
        """Textual's last stop for an error (it ends the app), minus one harmless case.

        Screens load data in workers: await a service, then fill widgets. A
        worker that resumes after its screen was closed (the app quitting or
        locking) finds its widgets gone; that is no failure of anything shown,
        and it once ended a CI run. Every other error still ends the app.
        """
        if _outlived_its_screen(error, app_running=self.is_running):
            return
        super()._handle_exception(error)

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """Every screen and every action of the current screen, so nothing needs a key.

        Of Textual's own commands only those in `KEPT_SYSTEM_COMMANDS` pass: its
        "Screenshot" writes the screen (record contents, in clear text) to
        ~/Downloads, and its "Theme" picker does not persist; the theme is
        chosen in Setup. An allowlist, so a command a later Textual adds stays
        out until someone looks at it.
        """
        for command in super().get_system_commands(screen):
            if command.title in KEPT_SYSTEM_COMMANDS:
                yield command
        yield SystemCommand("Help", "Keys of this screen and how to remap them", self.action_help)
        if self.session is None:
            return
        yield SystemCommand("Home", "Entities, counts and sync state", self.open_home)
        yield SystemCommand("Outbox", "Local changes not yet synchronised", self.open_outbox)
        yield SystemCommand("Setup", "Map, passwords, auto-lock, theme, backend", self.open_setup)
        for key, (_module, _cls, label) in OPTIONAL_SCREENS.items():
            yield SystemCommand(label, f"Open {label.lower()}", partial(self.open_optional, key))
        yield SystemCommand("Lock now", "Drop the key and return to unlock", self.action_lock)
        for entity_def in self.entity_defs:
            yield SystemCommand(
                f"Open {entity_def.plural_label}",
                f"List of {entity_def.plural_label.lower()}",
                partial(self.open_list, entity_def.name),
            )
        for active in screen.active_bindings.values():
            binding = active.binding
            if active.enabled and binding.description and binding.action != "command_palette":
                yield SystemCommand(
                    f"{binding.description} ({screen.__class__.__name__.removesuffix('Screen')})",
                    f"key {binding.key}",
                    partial(self.run_action, binding.action, active.node),
                )


def run_app(settings: Settings, *, unlock_hint: str = "") -> int:
    """Entry point for `tui-crm` without a subcommand; returns the process exit code."""
    app = CrmApp(settings, unlock_hint=unlock_hint)
    app.run(mouse=settings.mouse)
    return app.return_code or 0


def _outlived_its_screen(error: Exception, *, app_running: bool) -> bool:
    """A widget lookup failed in a worker whose screen is closed or closing."""
    if not isinstance(error, WorkerFailed) or not isinstance(error.error, NoMatches):
        return False
    try:
        worker = active_worker.get()
    except LookupError:
        return False
    node = worker.node  # a screen is a widget too
    closed = isinstance(node, Widget) and (not node.is_attached or not node.is_running)
    return not app_running or closed
