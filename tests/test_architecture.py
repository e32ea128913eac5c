"""The layer rule of ARCHITECTURE.md, enforced with import-linter on every test run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = "from importlinter.cli import lint_imports_command; lint_imports_command()"


def test_import_contracts_hold() -> None:
    result = subprocess.run(
        [sys.executable, "-c", LINT_IMPORTS],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout, result.stdout


def test_ui_never_imports_sqlcipher_even_indirectly_by_name() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for layer in ("ui", "cli")
        for path in (ROOT / "tui_crm" / layer).rglob("*.py")
        if "sqlcipher3" in path.read_text(encoding="utf-8")
    ]
    assert offenders == []
