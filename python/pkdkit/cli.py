"""The ``pkdkit`` command.

Each sub-command lives in its own module under :mod:`pkdkit.commands` and is imported only when
it runs, so ``pkdkit --version`` or ``pkdkit probe`` never pay for importing torch. Commands are
thin: they parse options and call one library function.

Every command shares one error boundary (:class:`FriendlyErrors`): whatever goes wrong prints one
line ``pkdkit: error: <file>: <problem>`` on stderr and exits with 1, never a traceback. Usage
errors stay click's (usage hint, exit 2). ``pkdkit --debug`` or ``PKDKIT_DEBUG=1`` lets the
exception through with its traceback.
"""

from __future__ import annotations

import importlib
import os
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


DEBUG_ENV = "PKDKIT_DEBUG"


# Errors whose message is the whole story (pkdkit raises these naming the file); any other
# type is shown with its name, as "KeyError: 'weights'" says little without it.
_PLAIN_MESSAGE = (OSError, ValueError, RuntimeError)


def describe_error(err: BaseException) -> str:
    """One line saying what went wrong: ``<file>: <problem>`` where the error names a file."""
    if isinstance(err, OSError) and err.filename is not None and err.strerror:
        where = f"{err.filename} -> {err.filename2}" if err.filename2 is not None else str(err.filename)
        text = f"{where}: {err.strerror}"
    elif isinstance(err, click.ClickException):
        text = err.format_message()
    else:
        text = str(err).strip()
        if "Original Traceback" in text:  # re-raised from a DataLoader worker: keep its last line
            head, sep, rest = text.splitlines()[-1].strip().partition(": ")
            text = rest if sep and head.split(".")[-1] == type(err).__name__ else head + sep + rest
        own = type(err).__module__.split(".")[0] == "pkdkit"
        if not text or not (own or isinstance(err, _PLAIN_MESSAGE)):
            text = f"{type(err).__name__}: {text or 'no message'}"
    return " ".join(text.split())


def _debugging(ctx: click.Context) -> bool:
    return bool(ctx.params.get("debug")) or os.environ.get(DEBUG_ENV, "") not in ("", "0")


class FriendlyErrors(LazyGroup):
    """The one error boundary of every command: one line on stderr and exit code 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.UsageError, KeyboardInterrupt):
            raise  # click's own handling: help/version exits, ^C, usage errors with a hint
        except Exception as err:  # noqa: BLE001 - the boundary: every other error becomes one line
            if _debugging(ctx):
                raise
            click.echo(f"pkdkit: error: {describe_error(err)}", err=True)
            sys.exit(1)


@click.group(cls=FriendlyErrors, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="pkdkit")
@click.option("--debug", is_flag=True, help=f"Show the traceback of an error (or set {DEBUG_ENV}=1).")
def main(debug: bool) -> None:
    """pkdkit: compressed-video action recognition.

    Reads MPEG-4 Part 2 video (raw streams, AVI, MP4) in Rust, produces CoViAR's I-frame,
    motion-vector and residual representations, trains multi-exit networks with Progressive
    Knowledge Distillation, measures flatness, and runs WISE early-exit inference.
    """


if __name__ == "__main__":  # pragma: no cover
    main()
