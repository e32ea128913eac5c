"""Crash-safe file replacement: a reader sees the old file or the new one, never a mix."""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

TEMP_MARKER = ".tmp-"


def write_atomic(path: Path, data: bytes, *, mode: int = 0o600) -> None:
    """Write to a unique temp file, fsync it, rename over `path`, then fsync the folder.

    The folder fsync makes the rename itself durable, so after a power cut the
    name points at a complete file (old or new).
    """
    temp = path.with_name(f"{path.name}{TEMP_MARKER}{secrets.token_hex(6)}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        raise
    fsync_dir(path.parent)


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_stale_temps(path: Path) -> None:
    """Drop temp files a killed writer left behind; the real file is untouched."""
    for stale in path.parent.glob(f"{path.name}{TEMP_MARKER}*"):
        with contextlib.suppress(FileNotFoundError):
            stale.unlink()
