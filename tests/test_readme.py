"""README.md quotes the two set-up commands that CI runs, and documents every CLI command."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from pkdkit.cli import COMMANDS, main

ROOT = Path(__file__).resolve().parents[1]


def ci_commands() -> dict[str, str]:
    lines = (ROOT / ".ci" / "commands").read_text().splitlines()
    return dict(line.strip().split(": ", 1) for line in lines if line.startswith("    "))


def test_readme_quotes_the_ci_commands_verbatim():
    readme = (ROOT / "README.md").read_text()
    commands = ci_commands()
    assert set(commands) == {"DEMO_COMMAND", "TEST_COMMAND"}
    for command in commands.values():
        assert f"\n{command}\n" in readme, f"README.md must show: {command}"


def test_every_command_has_help_and_a_readme_entry():
    readme = (ROOT / "README.md").read_text()
    runner = CliRunner()
    for name in COMMANDS:
        result = runner.invoke(main, [name, "--help"])
        assert result.exit_code == 0, (name, result.output)
        assert "Usage:" in result.output
        assert f"pkdkit {name}" in readme, f"README.md does not document `pkdkit {name}`"


def test_version():
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0 and "pkdkit, version" in result.output
