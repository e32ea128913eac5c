"""A Microsoft Dataverse (Web API v9.2) and Microsoft identity platform emulator."""

from tui_crm.emulator.dataverse.emulator import DataverseConfig, DataverseEmulator

__all__ = ["DataverseConfig", "DataverseEmulator"]
