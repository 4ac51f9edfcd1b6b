"""Every command and subcommand of `chaincredit` answers `--help` (issue 2: typer, --help everywhere)."""

from __future__ import annotations

import subprocess
import sys

import typer.main
from typer.testing import CliRunner

from api.cli import COMMAND_MODULES, build_app


def _paths(group: object, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    # Typer ships its own click fork, so walk any command that has sub-`commands`.
    out = [prefix]
    commands = getattr(group, "commands", None)
    if commands:
        for name, cmd in commands.items():
            out.extend(_paths(cmd, (*prefix, name)))
    return out


def test_every_command_has_help() -> None:
    app = build_app()
    paths = _paths(typer.main.get_command(app))
    # The registered modules contribute at least one command each.
    assert len(paths) > len(COMMAND_MODULES)
    runner = CliRunner()
    for path in paths:
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert "Usage" in result.output, path


def test_expected_commands_exist() -> None:
    names = set(typer.main.get_command(build_app()).commands)  # type: ignore[attr-defined]
    assert {"db", "load", "simulate", "features", "train", "promote", "score", "keys", "serve"} <= names


def test_help_does_not_import_heavy_libraries() -> None:
    """`chaincredit --help` must stay instant: no MLflow, LightGBM or pandas at start-up."""
    code = (
        "import sys; from api.cli import build_app; build_app();"
        "heavy = [m for m in ('mlflow', 'lightgbm', 'pandas') if m in sys.modules];"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
