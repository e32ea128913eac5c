"""Record form: view, edit and create, with fields built from the entity definition."""

from __future__ import annotations

from typing import ClassVar, Literal, cast

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Footer, Label, Static

from tui_crm.domain import DomainError, EntityDef, FieldDef, FieldType, Record, ValidationFailed
from tui_crm.domain.records import JsonValue
from tui_crm.domain.values import format_value, validate
from tui_crm.services.nearby import format_distance
from tui_crm.ui.drafts import FormDraft
from tui_crm.ui.glyphs import STATE_NAMES
from tui_crm.ui.screens.base import CrmScreen
from tui_crm.ui.widgets.fields import FieldEditor, editor_for
from tui_crm.ui.widgets.lookup_field import LookupField

Mode = Literal["view", "edit", "create"]
ERROR_MARK = "✗ "


def form_fields(entity_def: EntityDef) -> list[FieldDef]:
    """Fields a person edits: the primary key and server-made ids stay out of the form."""
    return [
        field
        for field in entity_def.fields
        if field.name != entity_def.primary_key and field.type is not FieldType.UNIQUEIDENTIFIER
    ]


def editor_value(field: FieldDef, value: JsonValue) -> JsonValue:
    """Numbers go into editors unformatted so they parse back unchanged (no 1,234.00)."""
    if field.type is FieldType.MONEY and isinstance(value, int | float):
        return f"{value:.2f}"
    return value


class RecordFormScreen(CrmScreen[None]):
    HELP = (
        "One record. In view mode e edits, d deletes, r shows related records, "
        "i checks in here (an appointment stamped with your position; Map on). "
        "While editing, tab moves between fields, ctrl+s saves and escape asks "
        "before discarding changes. Fields marked * are required."
    )

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save", id="form.save", priority=True),
        Binding("escape", "back", "Back", id="form.back"),
        Binding("e", "edit", "Edit", id="form.edit"),
        Binding("d", "delete", "Delete", id="form.delete"),
        Binding("r", "related", "Related", id="form.related"),
        Binding("i", "check_in", "Check in", id="form.check_in"),
        Binding("j", "scroll_down", "Down", id="form.down", show=False),
        Binding("k", "scroll_up", "Up", id="form.up", show=False),
    ]

    def __init__(
        self,
        entity_def: EntityDef,
        record: Record | None,
        *,
        draft: FormDraft | None = None,
        edit: bool = False,
    ) -> None:
        """`edit` opens an existing record straight in edit mode (the list's `e`)."""
        super().__init__()
        self.entity_def = entity_def
        self.record = record
        self.mode: Mode = "create" if record is None else "view"
        if draft is not None or edit:
            self.mode = "create" if record is None else "edit"
        self._draft = draft
        self._initial: dict[str, object] = {}
        self._lookup_names: dict[str, str] = {}

    # ----- layout ----------------------------------------------------------

    def _title(self) -> Content:
        label = self.entity_def.label
        if self.mode == "create":
            return Content.from_markup("[b]New $label[/b]", label=label.lower())
        assert self.record is not None
        state = STATE_NAMES.get(self.record.state, self.record.state.value)
        verb = "Editing" if self.mode == "edit" else label
        # $-variables are inserted as text: a name like "Smith [/x]" is data, not markup.
        return Content.from_markup(
            "[b]$verb[/b] · $name · $state",
            verb=verb,
            name=self.record.name or "(no name)",
            state=state,
        )

    def compose(self) -> ComposeResult:
        yield Static(self._title(), id="title", classes="screen-title")
        with VerticalScroll(id="fields", can_focus=self.mode == "view"):
            for field in form_fields(self.entity_def):
                yield self._field_row(field)
        yield Footer()

    def _field_row(self, field: FieldDef) -> Widget:
        value = self.record.fields.get(field.name) if self.record is not None else None
        marker = " *" if field.required else ""
        label = Label(f"{field.label}{marker}", classes="field-label", markup=False)
        if self.mode == "view":
            shown = self._view_text(field, value)
            content: Widget = Static(
                shown, id=f"value-{field.name}", classes="field-value", markup=False
            )
        else:
            content = editor_for(field, editor_value(field, value), id=f"field-{field.name}")
        error = Static("", id=f"error-{field.name}", classes="field-error", markup=False)
        error.display = False
        return Vertical(
            Horizontal(label, content, classes="field-row"),
            error,
            classes="field" + (" -multiline" if field.type is FieldType.MULTILINE else ""),
            id=f"row-{field.name}",
        )

    def _view_text(self, field: FieldDef, value: JsonValue) -> str:
        if value is None or value == "":
            return "—"
        if field.type is FieldType.LOOKUP and isinstance(value, dict):
            return f"{self._lookup_names.get(str(value.get('id')), '…')} ({value.get('entity')})"
        return format_value(field, value)

    async def on_mount(self) -> None:
        await self._after_layout()

    async def _after_layout(self) -> None:
        self.refresh_bindings()
        if self.mode == "view":
            self._initial = {}
            self.query_one("#fields", VerticalScroll).focus()
        else:
            # The stored record's state is the baseline, so a restored draft counts as unsaved.
            self._initial = {e.field_def.name: e.read_raw() for e in self.editors()}
            if self._draft is not None:
                for editor in self.editors():
                    if editor.field_def.name in self._draft.raw:
                        editor.write_raw(self._draft.raw[editor.field_def.name])
            editors = [e for e in self.editors() if not cast(Widget, e).disabled]
            if editors:
                cast(Widget, editors[0]).focus()
        self._draft = None
        self.resolve_lookup_names()

    def editors(self) -> list[FieldEditor]:
        return [w for w in self.query(".field-row > *") if isinstance(w, FieldEditor)]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("edit", "delete", "related"):
            return self.mode == "view"
        if action == "save":
            return self.mode != "view"
        if action in ("scroll_down", "scroll_up"):
            return self.mode == "view"
        if action == "check_in":
            session = self.crm.session
            return (
                self.mode == "view"
                and self.record is not None
                and self.entity_def.has_position
                and session is not None
                and session.nearby.map_enabled
            )
        return True

    # ----- lookups -----------------------------------------------------------

    @work(group="lookup-names")
    async def resolve_lookup_names(self) -> None:
        """Lookups are stored as entity+id; show the target's name instead."""
        session = self.crm.session
        if session is None or self.record is None:
            return
        for field in form_fields(self.entity_def):
            if field.type is not FieldType.LOOKUP:
                continue
            value = self.record.fields.get(field.name)
            if not isinstance(value, dict):
                continue
            try:
                target = await session.records.get(str(value["entity"]), str(value["id"]))
            except (DomainError, KeyError):
                continue
            self._lookup_names[target.id] = target.name
            if self.mode == "view":
                view = self.query(f"#value-{field.name}").first(Static)
                view.update(self._view_text(field, value))
            else:
                editor = self.query(f"#field-{field.name}").first()
                if isinstance(editor, LookupField) and editor.target == value:
                    editor.set_display_name(target.name)

    # ----- state -----------------------------------------------------------

    def current_raw(self) -> dict[str, object]:
        return {e.field_def.name: e.read_raw() for e in self.editors()}

    def is_dirty(self) -> bool:
        return self.mode != "view" and self.current_raw() != self._initial

    def draft(self) -> FormDraft:
        current = self.current_raw()
        changed = {name: raw for name, raw in current.items() if raw != self._initial.get(name)}
        return FormDraft(
            entity=self.entity_def.name,
            record_id=self.record.id if self.record is not None else None,
            raw=changed,
        )

    def _show_errors(self, errors: dict[str, str]) -> None:
        unplaced: list[str] = []
        for field in form_fields(self.entity_def):
            box = self.query_one(f"#error-{field.name}", Static)
            message = errors.get(field.name)
            box.update(f"{ERROR_MARK}{message}" if message else "")
            box.display = message is not None
        for name, message in errors.items():
            if not self.entity_def.has_field(name) or name == self.entity_def.primary_key:
                unplaced.append(f"{name}: {message}")
        if unplaced:
            self.notify("; ".join(unplaced), severity="error")
        first = next((f for f in form_fields(self.entity_def) if f.name in errors), None)
        if first is not None:
            target = self.query(f"#field-{first.name}").first()
            target.focus()
            self.query_one(f"#row-{first.name}").scroll_visible(animate=False)

    # ----- actions ---------------------------------------------------------

    async def action_edit(self) -> None:
        if self.mode != "view":
            return
        self.mode = "edit"
        await self.recompose()
        self.query_one("#title", Static).update(self._title())
        await self._after_layout()

    def action_scroll_down(self) -> None:
        self.query_one("#fields", VerticalScroll).scroll_down(animate=False)

    def action_scroll_up(self) -> None:
        self.query_one("#fields", VerticalScroll).scroll_up(animate=False)

    def action_save(self) -> None:
        if self.mode != "view":
            self.save()

    @work(exclusive=True, group="save")
    async def save(self) -> None:
        values: dict[str, JsonValue] = {}
        errors: dict[str, str] = {}
        for editor in self.editors():
            field = editor.field_def
            if field.read_only:
                continue
            raw = editor.read_raw()
            if self.mode == "edit" and raw == self._initial.get(field.name):
                continue  # unchanged: the outbox carries only what the user changed
            try:
                value = editor.parsed()
            except ValueError as error:
                errors[field.name] = str(error)
                continue
            if self.mode == "create" and value is None:
                continue
            values[field.name] = value
        # The domain's checks run here too, so every problem shows at once, not one per save.
        for name, message in validate(self.entity_def, values, partial=self.mode == "edit").items():
            errors.setdefault(name, message)
        if errors:
            self._show_errors(errors)
            return
        if self.mode == "edit" and not values:
            self.notify("nothing changed")
            self.dismiss()
            return
        try:
            if self.mode == "create":
                saved = await self.records.create(self.entity_def.name, values)
            else:
                assert self.record is not None
                saved = await self.records.update(self.entity_def.name, self.record.id, values)
        except ValidationFailed as error:
            self._show_errors(error.errors)
            return
        except DomainError as error:
            self.notify(str(error), severity="error")
            return
        self._show_errors({})
        self.record = saved
        self._initial = self.current_raw()
        self.notify(f"saved {self.entity_def.label.lower()}")
        self.dismiss()

    def action_back(self) -> None:
        if not self.is_dirty():
            self.dismiss()
            return
        from tui_crm.ui.screens.confirm import ConfirmScreen

        def answered(discard: bool | None) -> None:
            if discard:
                self.dismiss()

        self.app.push_screen(ConfirmScreen("Discard unsaved changes?", "Discard"), answered)

    def action_delete(self) -> None:
        if self.mode != "view" or self.record is None:
            return
        from tui_crm.ui.screens.confirm import ConfirmScreen

        def answered(delete: bool | None) -> None:
            if delete:
                self.delete_record()

        question = f"Delete this {self.entity_def.label.lower()}?"
        self.app.push_screen(ConfirmScreen(question, "Delete"), answered)

    @work(exclusive=True, group="delete")
    async def delete_record(self) -> None:
        assert self.record is not None
        try:
            await self.records.delete(self.entity_def.name, self.record.id)
        except DomainError as error:
            self.notify(str(error), severity="error")
            return
        self.notify(f"deleted {self.entity_def.label.lower()}")
        self.dismiss()

    @work(exclusive=True, group="check-in")
    async def action_check_in(self) -> None:
        """Off the loop: the source may need a moment for a first fix."""
        if self.record is None:
            return
        self.notify("checking in: waiting for a position…", markup=False)
        try:
            done = await self.crm.session_or_raise().nearby.check_in_from_record(
                self.entity_def.name, self.record.id
            )
        except DomainError as error:
            self.notify(str(error), severity="error", markup=False)
            return
        away = "" if done.distance_m is None else f", {format_distance(done.distance_m)} away"
        self.notify(f"checked in at {self.record.name or self.record.id}{away}", markup=False)

    def action_related(self) -> None:
        from tui_crm.ui.screens.related import RelatedScreen

        if self.record is not None:
            self.app.push_screen(RelatedScreen(self.entity_def, self.record))

    @on(LookupField.Changed)
    def lookup_changed(self) -> None:
        self.refresh_bindings()
