"""The ``regtrack`` command.

Each subcommand is one module in :mod:`regtrack.commands` that defines ``add_parser(subparsers)``
and registers its handler with ``parser.set_defaults(run=handler)``; modules are discovered, so
adding a command touches no other file. Handlers import heavy libraries inside themselves so
that ``regtrack --help`` stays fast. A :class:`RegtrackError` is printed as one line
(``regtrack: error: ...``) with exit status 2; an interrupt exits with 130.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

import regtrack.commands
from regtrack import __version__
from regtrack.errors import RegtrackError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="regtrack",
        description="Single-object tracking by deep regression and correlation filters, "
        "and the OTB evaluation protocol.")
    parser.add_argument("--version", action="version", version=f"regtrack {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(regtrack.commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"regtrack.commands.{info.name}")
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 0
    try:
        return int(args.run(args) or 0)
    except RegtrackError as err:
        print(f"regtrack: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("regtrack: interrupted; finished work is saved, run the same command again to resume",
              file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
