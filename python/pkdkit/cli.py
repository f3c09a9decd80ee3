"""The ``pkdkit`` command.

Each sub-command lives in its own module under :mod:`pkdkit.commands` and is imported only when
it runs, so ``pkdkit --version`` or ``pkdkit probe`` never pay for importing torch. Commands are
thin: they parse options and call one library function.

Errors about a video (:class:`pkdkit.errors.VideoError`), a missing file or a bad argument are
printed as one line on stderr with a non-zero exit code, never as a traceback.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from . import __version__

# name -> "module:attribute", in the order `pkdkit --help` lists them.
COMMANDS: dict[str, str] = {
    # reading video
    "probe": "pkdkit.commands.probe:probe",
    "extract": "pkdkit.commands.extract:extract",
    "show": "pkdkit.commands.show:show",
    # data
    "synth": "pkdkit.commands.synth:synth",
    "prepare": "pkdkit.commands.prepare:prepare",
    # learning
    "train": "pkdkit.commands.train:train",
    "flatness": "pkdkit.commands.flatness:flatness",
    "logits": "pkdkit.commands.logits:logits",
    "wise": "pkdkit.commands.wise:wise",
    "predict": "pkdkit.commands.predict:predict",
    # everything
    "demo": "pkdkit.commands.demo:demo",
    "compare": "pkdkit.commands.compare:compare",
    "bench": "pkdkit.commands.bench:bench",
}


class LazyGroup(click.Group):
    """A click group that imports a sub-command's module only when that command is used."""

    def __init__(self, *args: Any, lazy: dict[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.lazy) + sorted(set(super().list_commands(ctx)) - set(self.lazy))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = self.lazy.get(cmd_name)
        if target is None:
            return super().get_command(ctx, cmd_name)
        module_name, attr = target.split(":")
        return getattr(importlib.import_module(module_name), attr)


class FriendlyErrors(LazyGroup):
    """Turns the errors a user can act on into one line on stderr and exit code 1."""

    def invoke(self, ctx: click.Context) -> Any:
        from .errors import VideoError

        try:
            return super().invoke(ctx)
        except (VideoError, FileNotFoundError, IsADirectoryError, PermissionError, ValueError) as err:
            click.echo(f"pkdkit: error: {err}", err=True)
            sys.exit(1)


@click.group(cls=FriendlyErrors, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="pkdkit")
def main() -> None:
    """pkdkit: compressed-video action recognition.

    Reads MPEG-4 Part 2 video (raw streams, AVI, MP4) in Rust, produces CoViAR's I-frame,
    motion-vector and residual representations, trains multi-exit networks with Progressive
    Knowledge Distillation, measures flatness, and runs WISE early-exit inference.
    """


if __name__ == "__main__":  # pragma: no cover
    main()
