"""Persisting Setup changes to the config file without writing what the user did not change.

`config.save_settings` dumps the whole model, which would also freeze values
that came from the environment or the command line (`--profile`,
`TUI_CRM_*`) into the file. The Setup screen therefore merges only the keys
it changed into whatever the file already holds.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import tomli_w


def merge_into_config_file(path: Path, changes: Mapping[str, Any]) -> None:
    """Set top-level `changes` in the TOML file at `path`, keeping its other keys.

    Written to a temporary file and renamed, so a crash leaves the old file.
    """
    current: dict[str, Any] = {}
    if path.exists():
        try:
            current = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError:
            # A file the user broke by hand is replaced rather than blocking Setup.
            current = {}
    current.update({key: value for key, value in changes.items() if value is not None})
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(tomli_w.dumps(current), encoding="utf-8")
    os.replace(tmp, path)
