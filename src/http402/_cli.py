"""The `http402` command line: `http402 demo`, `http402 explain FILE`, `http402 adapters`."""

from __future__ import annotations

import argparse
import io
import os
import sys
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

__all__ = ["main"]

_EXIT_CODES = """\
exit codes:
  0  at least one payment gate found
  1  the input was read, and it holds no payment gate
  2  usage error, or input that cannot be read or parsed (reason on stderr)"""

_EXPLAIN_EPILOG = f"""\
FILE is one of (detected from its content):
  - a raw response as `curl -i` (or `curl -i -L`) prints it; the last response is explained
  - a `curl -v ... 2>&1` capture: the method and URL come from its `> ` request lines
  - a HAR export (every payment gate in it is listed, with its method and URL)
  - a JSON body alone, with --status, --header and --url to say what came with it

Each gate is shown with what resolves it, and x402 settlement receipts (PAYMENT-RESPONSE,
X-PAYMENT-RESPONSE) are decoded.

Provider adapters only claim a 400, 401, 403 or 429 from their own hosts: pass
--url https://api.openai.com/... with an OpenAI 429 body. Nothing is fetched, and
credentials in the captured requests are never printed.

{_EXIT_CODES}"""

_TOKEN_CHARS = frozenset(
    "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
)


def _status(text: str) -> int:
    """An HTTP status from the command line."""
    if not text.isdigit() or not 100 <= int(text) <= 599:
        raise argparse.ArgumentTypeError(f"{text!r} is not an HTTP status (100 to 599)")
    return int(text)


def _header(text: str) -> tuple[str, str]:
    """A `Name: value` header from the command line."""
    name, colon, value = text.partition(":")
    if not colon or not name or not set(name) <= _TOKEN_CHARS:
        raise argparse.ArgumentTypeError(f"{text!r} is not a 'Name: value' header")
    return name, value.strip()


def _url(text: str) -> str:
    """An absolute `http` or `https` URL from the command line."""
    try:
        parts = urlsplit(text)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        valid = False
    if not valid:
        raise argparse.ArgumentTypeError("not an absolute http(s) URL")
    return text


def _method(text: str) -> str:
    """An HTTP method from the command line."""
    if not text or not set(text) <= _TOKEN_CHARS:
        raise argparse.ArgumentTypeError(f"{text!r} is not an HTTP method")
    return text.upper()


class _VersionAction(argparse.Action):
    """`--version`, reading the installed version only when asked (it costs an import)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *args: object) -> None:
        from . import __version__

        _write(f"http402 {__version__}\n")
        parser.exit()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="http402",
        description="Recognise HTTP 402 Payment Required from any paid API.",
        epilog=f"`explain` {_EXIT_CODES}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--version", action=_VersionAction, help="print the version of http402 and exit"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser(
        "demo", help="run a paid API on loopback until it answers 402, and show the typed error"
    )
    explain = commands.add_parser(
        "explain",
        help="explain the payment gates in a curl -i or -v capture, a HAR file or a JSON body",
        description="Explain the payment gates in a captured response, without sending anything.",
        epilog=_EXPLAIN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    explain.add_argument("file", metavar="FILE", help="the capture to read, or - for stdin")
    explain.add_argument("--json", action="store_true", help="print JSON for scripts")
    explain.add_argument(
        "--status", type=_status, metavar="N", help="the status of a JSON body (default 402)"
    )
    explain.add_argument(
        "--header",
        type=_header,
        action="append",
        default=[],
        metavar="'NAME: VALUE'",
        help="a response header that came with a JSON body (repeatable)",
    )
    explain.add_argument(
        "--url", type=_url, help="the request URL of a JSON body or a curl capture"
    )
    explain.add_argument(
        "--method",
        type=_method,
        help="the request method (default: as a curl -v or HAR capture shows it, else unknown)",
    )
    adapters = commands.add_parser(
        "adapters",
        help="list the registered adapters in the order they are tried",
        description="List the adapters of http402.default_registry (with plugins from the "
        "http402.adapters entry points), in the order they are tried.",
    )
    adapters.add_argument("--json", action="store_true", help="print JSON for scripts")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line; returns the exit code."""
    parser = _parser()
    try:
        arguments = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error argparse has already explained
        return exc.code if isinstance(exc.code, int) else 2
    if arguments.command == "demo":
        from ._demo import run_demo

        return run_demo(sys.stdout)
    if arguments.command == "explain":
        return _explain(arguments)
    if arguments.command == "adapters":
        from ._explain import list_adapters
        from ._registry import default_registry

        listing = io.StringIO()
        code = list_adapters(default_registry, as_json=arguments.json, out=listing)
        _write(listing.getvalue())
        return code
    parser.error(f"unknown command {arguments.command!r}")  # pragma: no cover - argparse exits
    return 2  # pragma: no cover


def _explain(arguments: argparse.Namespace) -> int:
    """`http402 explain`: a one-line reason on stderr and exit code 2 for unusable input."""
    from ._explain import EXIT_USAGE, BodyOptions, InputError, explain

    options = BodyOptions(
        status=arguments.status,
        headers=tuple(arguments.header),
        url=arguments.url,
        method=arguments.method,
    )
    report = io.StringIO()
    try:
        code = explain(arguments.file, options, as_json=arguments.json, out=report)
    except InputError as exc:
        print(f"http402 explain: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:  # an uncaught error would exit 1, which means "no payment gate"
        print(f"http402 explain: internal error ({type(exc).__name__})", file=sys.stderr)
        return EXIT_USAGE
    _write(report.getvalue())
    return code


def _write(text: str) -> None:
    """Writes `text` to stdout; a reader that went away (`| head`) is not an error."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        # Python would report the pipe again when it flushes stdout at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
