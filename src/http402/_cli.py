"""The `http402` command line: `http402 demo`, `http402 explain FILE`, `http402 adapters`."""

from __future__ import annotations

import argparse
import importlib
import io
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from ._adapters import AdapterRegistry

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
  - a text or XML body alone, with --status or --header 'content-type: ...' (text/plain
    unless a header says otherwise)

Each gate is shown with what resolves it, and x402 settlement receipts (PAYMENT-RESPONSE,
X-PAYMENT-RESPONSE) are decoded.

Provider adapters only claim a 400, 401, 403 or 429 from their own hosts: pass
--url https://api.openai.com/... with an OpenAI 429 body. Nothing is fetched, and
credentials in the captured requests are never printed.

--adapter acme_http402:AcmeAdapter tries your own adapter first (an instance, or a class
built with no arguments; the current directory is importable), without installing it
as a plugin.

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


def _adapter_spec(text: str) -> str:
    """A `module:attribute` naming an adapter, from the command line."""
    module, colon, attribute = text.partition(":")
    names = [module, *attribute.split(".")]
    if not colon or not all(part.isidentifier() for name in names for part in name.split(".")):
        raise argparse.ArgumentTypeError(f"{text!r} is not 'module:attribute'")
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
    for command in (explain, adapters):
        command.add_argument(
            "--adapter",
            type=_adapter_spec,
            action="append",
            default=[],
            metavar="MODULE:ATTR",
            help="also use this adapter (an instance, or a class built with no arguments), "
            "as if installed as a plugin (repeatable)",
        )
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
    try:
        registry = _registry(arguments.adapter)
    except _AdapterError as exc:
        print(f"http402 {arguments.command}: {exc}", file=sys.stderr)
        return 2
    if arguments.command == "explain":
        return _explain(arguments, registry)
    if arguments.command == "adapters":
        from ._explain import list_adapters

        listing = io.StringIO()
        code = list_adapters(registry, as_json=arguments.json, out=listing)
        _write(listing.getvalue())
        return code
    parser.error(f"unknown command {arguments.command!r}")  # pragma: no cover - argparse exits
    return 2  # pragma: no cover


class _AdapterError(Exception):
    """An `--adapter` that cannot be loaded or registered."""


def _registry(specs: Sequence[str]) -> AdapterRegistry:
    """`http402.default_registry`, or a copy of it with the `--adapter`s registered."""
    from ._registry import default_registry

    if not specs:
        return default_registry
    registry = default_registry.copy()
    for spec in specs:
        adapter = _load_adapter(spec)
        try:
            registry.register(adapter)
        except (TypeError, ValueError) as exc:
            raise _AdapterError(f"--adapter {spec}: {exc}") from None
    return registry


def _load_adapter(spec: str) -> Any:
    """The adapter `module:attr` names: the object itself when it has `classify`, else the
    class (or factory) called with no arguments, as for an entry-point plugin."""
    module_name, _, attribute = spec.partition(":")
    # As `python -m` and uvicorn do: a module beside the user is importable.
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        loaded: Any = importlib.import_module(module_name)
    except Exception as exc:
        raise _AdapterError(f"--adapter {spec}: cannot import {module_name!r} ({exc})") from None
    for name in attribute.split("."):
        try:
            loaded = getattr(loaded, name)
        except AttributeError:
            raise _AdapterError(f"--adapter {spec}: {module_name!r} has no {attribute!r}") from None
    if hasattr(loaded, "classify") and not isinstance(loaded, type):
        return loaded
    if not callable(loaded):
        raise _AdapterError(f"--adapter {spec}: not an adapter, nor a class that builds one")
    try:
        return loaded()
    except Exception as exc:
        raise _AdapterError(f"--adapter {spec}: building it failed ({exc!r})") from None


def _explain(arguments: argparse.Namespace, registry: AdapterRegistry) -> int:
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
        code = explain(
            arguments.file, options, as_json=arguments.json, out=report, registry=registry
        )
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
