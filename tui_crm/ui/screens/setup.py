"""Setup: features and preferences that take effect at once and persist.

Non-secret preferences go to the config file (only the changed keys);
the backend address, user and Save Password live in the encrypted profile.
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Checkbox, Footer, Input, Label, Select, Static

from tui_crm.domain import DomainError
from tui_crm.ui.screens.base import CrmScreen
from tui_crm.ui.settings_file import merge_into_config_file
from tui_crm.ui.widgets.quiet import QuietInput
from tui_crm.ui.widgets.toggle import StateCheckbox

BACKEND_URL_CREDENTIAL = "url"
BACKEND_USER_CREDENTIAL = "user"


class SetupScreen(CrmScreen[None]):
    HELP = (
        "Each change applies at once and is kept: Map, Save Password, auto-lock, theme "
        "in effect now; backend address and user are stored encrypted. Tab moves, "
        "space or enter toggles a box, enter confirms a typed value."
    )

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="setup.back"),
    ]

    _secure_loaded = False
    """Set once the encrypted values are in their fields (leaving must not clear them)."""

    def compose(self) -> ComposeResult:
        settings = self.crm.settings
        yield Static("[b]Setup[/b]", classes="screen-title")
        with VerticalScroll(id="setup"):
            with Horizontal(classes="setup-row"):
                yield Label("Map and nearby")
                yield StateCheckbox(settings.map_enabled, id="map", compact=True)
            with Horizontal(classes="setup-row"):
                yield Label("Save server password")
                yield StateCheckbox(False, id="save-password", compact=True)
            with Horizontal(classes="setup-row"):
                yield Label("Auto-lock (minutes)")
                yield QuietInput(
                    str(settings.auto_lock_minutes),
                    type="integer",
                    id="auto-lock",
                    compact=True,
                    placeholder="0 = never",
                )
            with Horizontal(classes="setup-row"):
                yield Label("Theme")
                themes = sorted(self.app.available_themes)
                yield Select(
                    [(name, name) for name in themes],
                    value=self.app.theme if self.app.theme in themes else Select.NULL,
                    allow_blank=False,
                    id="theme",
                    compact=True,
                )
            with Horizontal(classes="setup-row"):
                yield Label("Backend URL")
                yield QuietInput(
                    placeholder="https://org.crm.dynamics.com", id="backend-url", compact=True
                )
            with Horizontal(classes="setup-row"):
                yield Label("Backend user")
                yield QuietInput(placeholder="name@example.com", id="backend-user", compact=True)
            with Horizontal(classes="setup-row"):
                yield Label("Password")
                yield Button("Change password…", id="change-password", compact=True)
            yield Static("", id="setup-status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#map", Checkbox).focus()
        self.load_secure()

    @work(exclusive=True, group="setup-load")
    async def load_secure(self) -> None:
        settings = self.crm.session_or_raise().settings
        try:
            save_password = await settings.save_password()
            credentials = await settings.credentials()
        except DomainError as error:
            self.notify(str(error), severity="error")
            return
        with self.prevent(Checkbox.Changed, Input.Changed):
            self.query_one("#save-password", Checkbox).value = bool(save_password)
            url = credentials.get(BACKEND_URL_CREDENTIAL) or ""
            user = credentials.get(BACKEND_USER_CREDENTIAL) or ""
            self.query_one("#backend-url", Input).value = str(url)
            self.query_one("#backend-user", Input).value = str(user)
        self._secure_loaded = True

    # ----- config-file preferences ---------------------------------------------

    @work(group="setup-save")
    async def persist(self, changes: dict[str, Any]) -> None:
        await self._persist(changes)

    async def _persist(self, changes: dict[str, Any]) -> None:
        """Apply to the running app's settings and merge into the config file off the loop."""
        self.crm.settings = self.crm.settings.model_copy(update=changes)
        try:
            await asyncio.to_thread(merge_into_config_file, self.crm.config_path, changes)
        except OSError as error:
            self.notify(f"could not save settings: {error.strerror}", severity="error")
            return
        self.query_one("#setup-status", Static).update("saved")

    @on(Checkbox.Changed, "#map")
    def map_changed(self, event: Checkbox.Changed) -> None:
        self.persist({"map_enabled": event.value})
        self.apply_map(event.value)

    @work(group="setup-map")
    async def apply_map(self, on: bool) -> None:
        """Map off stops the location source and forgets the stored last position."""
        session = self.crm.session
        if session is not None:
            await session.nearby.set_map_enabled(on)

    @on(Select.Changed, "#theme")
    def theme_changed(self, event: Select.Changed) -> None:
        # Compared with the theme in use, not the configured one: the Select
        # reports its first value on mount, and in 16 colours that is the
        # ANSI theme the app picked, which must not be written to the config.
        if isinstance(event.value, str) and event.value != self.app.theme:
            self.app.theme = event.value
            self.persist({"theme": event.value})

    @on(Input.Submitted, "#auto-lock")
    @on(Input.Blurred, "#auto-lock")
    def auto_lock_changed(self, event: Input.Submitted | Input.Blurred) -> None:
        changes = self._auto_lock_change(event.value)
        if changes:
            self.persist(changes)

    def _auto_lock_change(self, value: str) -> dict[str, Any] | None:
        """The config change for a typed auto-lock value: {} if unchanged, None if invalid.

        An invalid value shows its message in the status line and stays typed.
        """
        try:
            minutes = int(value)
        except ValueError:
            self.query_one("#setup-status", Static).update("auto-lock: give whole minutes")
            return None
        if minutes < 0:
            self.query_one("#setup-status", Static).update("auto-lock: 0 or more minutes")
            return None
        if minutes == self.crm.settings.auto_lock_minutes:
            return {}
        self.crm.idle.minutes = minutes
        return {"auto_lock_minutes": minutes}

    # ----- encrypted settings ------------------------------------------------

    @on(Checkbox.Changed, "#save-password")
    def save_password_changed(self, event: Checkbox.Changed) -> None:
        self.store_secure("setting", "save_password", event.value)

    @on(Input.Submitted, "#backend-url")
    @on(Input.Blurred, "#backend-url")
    def url_changed(self, event: Input.Submitted | Input.Blurred) -> None:
        self.store_secure("credential", BACKEND_URL_CREDENTIAL, event.value.strip() or None)

    @on(Input.Submitted, "#backend-user")
    @on(Input.Blurred, "#backend-user")
    def user_changed(self, event: Input.Submitted | Input.Blurred) -> None:
        self.store_secure("credential", BACKEND_USER_CREDENTIAL, event.value.strip() or None)

    @work(group="setup-secure")
    async def store_secure(self, kind: str, key: str, value: object) -> None:
        await self._store_secure(kind, key, value)

    async def _store_secure(self, kind: str, key: str, value: object) -> None:
        session = self.crm.session
        if session is None:
            return
        try:
            if kind == "setting":
                # Turning Save Password off also deletes a stored server password.
                await session.settings.set_save_password(bool(value))
            else:
                current = (await session.settings.credentials()).get(key)
                if current == value:
                    return
                await session.settings.set_credentials({key: value})
        except DomainError as error:
            self.notify(str(error), severity="error")
            return
        self.query_one("#setup-status", Static).update("saved (encrypted)")

    @on(Button.Pressed, "#change-password")
    def change_password(self) -> None:
        from tui_crm.ui.screens.change_password import ChangePasswordScreen

        self.app.push_screen(ChangePasswordScreen())

    async def action_back(self) -> None:
        """Leave, keeping what was typed but not yet confirmed with enter.

        The Blurred handlers do not run when the screen closes, and closing
        cancels this screen's workers: so the typed values are applied here,
        awaited, and saves still running are waited for before dismissing.
        An invalid auto-lock value keeps the screen open with its message.
        """
        auto_lock = self.query_one("#auto-lock", Input)
        changes = self._auto_lock_change(auto_lock.value)
        if changes is None:
            auto_lock.focus()
            self.notify("auto-lock: fix the value (0 = never) before leaving", severity="warning")
            return
        running = [
            worker
            for worker in self.app.workers
            if worker.node is self and worker.group in {"setup-save", "setup-secure"}
        ]
        if running:
            await self.app.workers.wait_for_complete(running)
        if changes:
            await self._persist(changes)
        for input_id, credential in (
            ("#backend-url", BACKEND_URL_CREDENTIAL),
            ("#backend-user", BACKEND_USER_CREDENTIAL),
        ):
            if not self._secure_loaded:
                break  # the fields do not show the stored values yet: never clear them
            value = self.query_one(input_id, Input).value.strip() or None
            await self._store_secure("credential", credential, value)
        self.dismiss()
