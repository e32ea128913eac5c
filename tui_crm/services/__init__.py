"""The async facade the interface and the CLI call (see docs/contracts.md).

`ProfileService` needs no key; a `Session` is an unlocked profile with
`records` and `settings` (and, as later issues land, `sync` and `nearby`).
"""

from tui_crm.services.profile import ProfileService
from tui_crm.services.records import ImportReport, RecordService
from tui_crm.services.session import CheckReport, ProfileLocked, Session
from tui_crm.services.settings import SettingsService

__all__ = [
    "CheckReport",
    "ImportReport",
    "ProfileLocked",
    "ProfileService",
    "RecordService",
    "Session",
    "SettingsService",
]
