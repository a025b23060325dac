"""What scrubbing the caller's credentials costs when every request carries a new key.

Run as ``python benchmarks/redaction.py [--number N]``. Prints figures only.

A gate is classified for requests that carry an API key in the ``Authorization`` header, in
the query and in a session cookie: once with the same key every time (the redactor is cached)
and once with a new key per request (a multi-tenant proxy, per-request tokens). Secrets are
found by plain substring search, so the two should cost about the same.
"""

from __future__ import annotations

import argparse
import secrets
import sys
import timeit
from pathlib import Path

try:
    import http402
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, str(Path(__file__).parent.parent / "src"))
    import http402

import httpx

BODY = (
    b'{"error": {"message": "Insufficient credits: top up at '
    b'https://openrouter.ai/settings/credits", "code": 402}}'
)


def gate(key: str) -> httpx.Response:
    request = httpx.Request(
        "POST",
        f"https://api.vendor.example/v1/chat?api_key={key}",
        headers={"Authorization": f"Bearer sk-{key}", "Cookie": f"session={key}; theme=dark"},
    )
    return httpx.Response(
        402, content=BODY, headers={"content-type": "application/json"}, request=request
    )


def best_per_call(responses: list[httpx.Response], repeat: int = 5) -> float:
    """The best of `repeat` passes over `responses`, in µs per `classify` call."""

    def one_pass() -> None:
        for response in responses:
            http402.classify(response)

    return min(timeit.repeat(one_pass, number=1, repeat=repeat)) / len(responses) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=3000, help="requests per pass")
    number = parser.parse_args().number
    known = secrets.token_hex(16)
    same = [gate(known) for _ in range(number)]
    fresh = [gate(secrets.token_hex(16)) for _ in range(number)]
    print(f"classify µs per gate, best of 5 passes of {number}")
    print(f"  same key every request  {best_per_call(same):8.1f}")
    print(f"  new key every request   {best_per_call(fresh):8.1f}")


if __name__ == "__main__":
    main()
