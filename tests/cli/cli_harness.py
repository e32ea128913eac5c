"""Run the installed `tui-crm` as a subprocess against a private profile and config.

Every test gets its own profile folder, config file and XDG directories in
tmp_path, and cheap Argon2id parameters through the environment (the same
path a user's shell would take), so tests run in parallel and stay fast.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

PASSWORD = "correct horse battery"
CHEAP_KDF = {
    "TUI_CRM_KDF__MEMORY_KIB": "19456",
    "TUI_CRM_KDF__ITERATIONS": "1",
    "TUI_CRM_KDF__LANES": "1",
}


def tui_crm_executable() -> str:
    """The console script installed beside this interpreter (the venv's), else on PATH."""
    beside = Path(sys.executable).parent / "tui-crm"
    if beside.exists():
        return str(beside)
    found = shutil.which("tui-crm")
    if found is None:
        pytest.fail("the tui-crm console script is not installed (pip install -e .)")
    return found


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str

    @property
    def lines(self) -> list[str]:
        return self.stdout.splitlines()


@dataclass
class Cli:
    """One user's shell: a profile folder, a config file, and the environment."""

    root: Path
    profile: Path
    config_dir: Path
    env: dict[str, str] = field(default_factory=dict)

    def command(self, *args: str, password_stdin: bool = True) -> list[str]:
        head = [tui_crm_executable(), "--profile", str(self.profile)]
        if password_stdin:
            head.append("--password-stdin")
        return [*head, *args]

    def run(
        self,
        *args: str,
        password: str | None = PASSWORD,
        stdin: str | bytes | None = None,
        passwords: Sequence[str] | None = None,
        timeout: float = 60,
    ) -> Result:
        """Run one command; `password` (or several `passwords`) become the first stdin lines."""
        lines = list(passwords) if passwords is not None else ([password] if password else [])
        data = "".join(f"{line}\n" for line in lines).encode()
        if stdin is not None:
            data += stdin.encode() if isinstance(stdin, str) else stdin
        completed = subprocess.run(
            self.command(*args, password_stdin=bool(lines)),
            input=data,
            capture_output=True,
            env=self.env,
            timeout=timeout,
            start_new_session=True,
        )
        return Result(
            completed.returncode,
            completed.stdout.decode("utf-8"),
            completed.stderr.decode("utf-8"),
        )

    def ok(self, *args: str, **kwargs: object) -> Result:
        result = self.run(*args, **kwargs)  # type: ignore[arg-type]
        assert result.returncode == 0, (result.returncode, result.stderr)
        assert "Traceback" not in result.stderr
        return result

    def init(self) -> Result:
        return self.ok("init", "--offline")


def make_cli(root: Path) -> Cli:
    config_dir = root / "config"
    config_dir.mkdir(parents=True)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("TUI_CRM_") and not key.startswith("XDG_")
    }
    env.update(CHEAP_KDF)
    env.update(
        {
            "TUI_CRM_CONFIG": str(config_dir / "config.toml"),
            "XDG_CONFIG_HOME": str(root / "xdg-config"),
            "XDG_DATA_HOME": str(root / "xdg-data"),
            "XDG_CACHE_HOME": str(root / "xdg-cache"),
            "XDG_STATE_HOME": str(root / "xdg-state"),
            "HOME": str(root / "home"),
            "COLUMNS": "80",
            "PYTHONUTF8": "1",
        }
    )
    return Cli(root=root, profile=root / "profile", config_dir=config_dir, env=env)


def assert_one_line_failure(result: Result, code: int, *needles: str) -> None:
    """CLI.md: an expected failure is one clear line on stderr, no traceback."""
    assert result.returncode == code, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
