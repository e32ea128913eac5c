"""The one settings model: environment (`TUI_CRM_*`, nested with `__`) over a TOML file.

Secrets never live here: server passwords, tokens and keys are kept inside the
encrypted profile. This file holds only what a user may want to edit by hand
or set from a shell on a shared device.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import BaseModel, Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

APP_NAME = "tui-crm"


def default_profile_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME)) / "default"


def config_file_path() -> Path:
    """`TUI_CRM_CONFIG` names another file; otherwise the user's config dir."""
    override = os.environ.get("TUI_CRM_CONFIG")
    if override:
        return Path(override)
    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"


class KdfSettings(BaseModel):
    """Argon2id cost for new key files (RFC 9106 second recommendation by default)."""

    memory_kib: int = Field(default=65536, ge=19456)
    iterations: int = Field(default=3, ge=1)
    lanes: int = Field(default=4, ge=1)


class SyncFilter(BaseModel):
    """A per-entity server-side filter, sent as OData `$filter` (or the backend's equivalent)."""

    filter: str = ""
    policy: Literal["server", "device", "manual"] = "manual"


class LocationSettings(BaseModel):
    source: Literal["fixed", "manual", "gpsd", "nmea"] = "fixed"
    gpsd_host: str = "127.0.0.1"
    gpsd_port: int = 2947
    nmea_device: str = ""
    fixed_latitude: float | None = Field(default=None, ge=-90, le=90)
    fixed_longitude: float | None = Field(default=None, ge=-180, le=180)
    stale_after_seconds: float = 10.0


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="TUI_CRM_",
        env_nested_delimiter="__",
        extra="ignore",
    )

    profile: Path = Field(default_factory=default_profile_dir)
    theme: str = "textual-dark"
    mouse: bool = False
    auto_lock_minutes: int = Field(default=10, ge=0)
    online: bool = False
    map_enabled: bool = True
    map_mode: Literal["braille", "blocks", "ascii"] = "braille"
    kdf: KdfSettings = Field(default_factory=KdfSettings)
    location: LocationSettings = Field(default_factory=LocationSettings)
    sync: dict[str, SyncFilter] = Field(default_factory=dict)
    keymap: dict[str, str] = Field(default_factory=dict)
    """Textual keymap: binding id -> keys, e.g. {"records.new" = "n,insert"}."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=config_file_path())
        return (init_settings, env_settings, toml)


def load_settings(**overrides: Any) -> Settings:
    return Settings(**overrides)


def save_settings(settings: Settings, path: Path | None = None) -> None:
    """Write the settings back as TOML (atomic rename), e.g. after a Setup screen change."""
    import tomli_w

    target = path or config_file_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    data = settings.model_dump(mode="json", exclude_none=True)
    tmp = target.with_suffix(".tmp")
    tmp.write_text(tomli_w.dumps(data), encoding="utf-8")
    os.replace(tmp, target)
