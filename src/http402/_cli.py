"""The `http402` command line: `http402 demo`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line; returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="http402",
        description="Recognise HTTP 402 Payment Required from any paid API.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser(
        "demo", help="run a paid API on loopback until it answers 402, and show the typed error"
    )
    arguments = parser.parse_args(argv)
    if arguments.command == "demo":
        from ._demo import run_demo

        return run_demo(sys.stdout)
    parser.error(f"unknown command {arguments.command!r}")  # pragma: no cover - argparse exits
    return 2  # pragma: no cover


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
