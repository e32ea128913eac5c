"""Fixtures for the CLI tests: a private shell per test (see cli_harness)."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_harness import Cli, make_cli


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return make_cli(tmp_path)


@pytest.fixture
def ready(cli: Cli) -> Cli:
    """A CLI whose profile exists (created through `init --offline`)."""
    cli.init()
    return cli
