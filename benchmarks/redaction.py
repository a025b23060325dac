"""What scrubbing the caller's credentials costs on the gate path.

Run as ``python benchmarks/redaction.py [--number N]``. Prints figures only, and ratios
measured in the same run. Times are CPU time of this process (``time.process_time``), so a
busy machine slows the figures less than it would wall-clock ones.

A gate is classified for requests that carry an API key in the ``Authorization`` header, in
the query and in a session cookie: with no credential at all (the baseline: nothing to
scrub), with the same key every time (the redactor is cached), with a new key per request (a
multi-tenant proxy, per-request tokens), and with a new key that the server echoes back in
its message: whole, shortened (24 of 32 characters and an ellipsis), lower-cased, in groups
of four, and ``%uXXXX``-encoded. A message that quotes a token that is not the caller's
costs what any new message costs to classify: the echo rows are compared with it. Then the
redactor alone: built for a new key and run on each kind of message, a cached one on
2,000 characters (ASCII, and Japanese with emoji), and the worst a hostile server can make it
do: text made of pieces of the key (and of its base64, of its hex dump, with a NUL by each
character, with a look-alike separator, U+2212 or U+30FB, by each), as long as a field (4,000
characters) and as `error.body` (64 Ki).
"""

from __future__ import annotations

import argparse
import base64
import json
import secrets
import sys
import time
import timeit
from collections.abc import Callable
from pathlib import Path

try:
    import http402
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, str(Path(__file__).parent.parent / "src"))
    import http402

import httpx

from http402._redaction import Redactor

MESSAGE = "Insufficient credits: top up at https://openrouter.ai/settings/credits"

#: How the server quotes the key back, if at all.
ECHOES: dict[str, Callable[[str], str]] = {
    "a stranger's token quoted": lambda key: new_key(),  # novel text, nothing to scrub
    "echoed whole": lambda key: key,
    "echoed 24 of 32 + …": lambda key: key[:24] + "…",
    "echoed lower-cased": lambda key: key.lower(),
    "echoed in groups of 4": lambda key: " ".join(key[i : i + 4] for i in range(0, len(key), 4)),
    "echoed %uXXXX": lambda key: "".join(f"%u{ord(c):04X}" for c in key),
}


def new_key() -> str:
    return secrets.token_urlsafe(24)  # 32 characters, mixed case


def gate(key: str | None, echo: Callable[[str], str] | None = None) -> httpx.Response:
    if key is None:
        request = httpx.Request("POST", "https://api.vendor.example/v1/chat")
    else:
        request = httpx.Request(
            "POST",
            f"https://api.vendor.example/v1/chat?api_key={key}",
            headers={"Authorization": f"Bearer {key}", "Cookie": f"session={key}; theme=dark"},
        )
    message = MESSAGE if echo is None or key is None else f"{MESSAGE} (key {echo(key)})"
    body = json.dumps({"error": {"message": message, "code": 402}}).encode()
    return httpx.Response(
        402, content=body, headers={"content-type": "application/json"}, request=request
    )


def best_per_call(responses: list[httpx.Response], repeat: int = 5) -> float:
    """The best of `repeat` passes over `responses`, in µs per `classify` call."""

    def one_pass() -> None:
        for response in responses:
            http402.classify(response)

    runs = timeit.repeat(one_pass, number=1, repeat=repeat, timer=time.process_time)
    return min(runs) / len(responses) * 1e6


def best_of(call: Callable[[], object], number: int, repeat: int = 5) -> float:
    runs = timeit.repeat(call, number=number, repeat=repeat, timer=time.process_time)
    return min(runs) / number * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=3000, help="requests per pass")
    number = parser.parse_args().number
    known = new_key()
    rows: list[tuple[str, float]] = [
        ("no credential (baseline)", best_per_call([gate(None) for _ in range(number)])),
        ("same key every request", best_per_call([gate(known) for _ in range(number)])),
        ("new key every request", best_per_call([gate(new_key()) for _ in range(number)])),
    ]
    for label, echo in ECHOES.items():
        rows.append(
            (f"new key, {label}", best_per_call([gate(new_key(), echo) for _ in range(number)]))
        )
    baseline, stranger = rows[0][1], rows[3][1]
    print(
        f"classify CPU µs per gate, best of 5 passes of {number}; ratios to the baseline and to "
        "a stranger's token quoted (a new message to classify, nothing to scrub)"
    )
    for label, micros in rows:
        against = f"   x{micros / stranger:5.2f}" if label.startswith("new key, ") else ""
        print(f"  {label:<38}{micros:8.1f}   x{micros / baseline:5.2f}{against}")

    few = max(200, number // 10)
    keys = [new_key() for _ in range(few)]
    print(
        f"Redactor alone, µs per new key: built, then a message scrubbed; best of 5 passes of {few}"
    )
    for label, echo in {"nothing to scrub": None, **ECHOES}.items():
        messages = [f"{MESSAGE} (key {echo(k) if echo else 'none'})" for k in keys]

        def scrub_all(messages: list[str] = messages) -> None:
            for k, message in zip(keys, messages, strict=True):
                Redactor([k, f"Bearer {k}"]).bounded(message, 2000)

        print(f"  {label:<38}{best_of(scrub_all, 1) / few:8.1f}")
    key = new_key()
    redact = Redactor([key, f"Bearer {key}", f"session={key}; theme=dark"])
    plain = ("x" * 40 + " ") * 48  # about 2,000 characters, nothing to scrub
    echoed = plain[: -len(key) - 1] + key
    wide = ("残高が不足しています。プランをご確認ください・💳 " * 80)[:2000]
    print(f"A cached redactor on 2,000 characters, µs per call; best of 5 passes of {few}")
    for label, text in (
        ("nothing to scrub", plain),
        ("the key at the end", echoed),
        ("nothing to scrub, Japanese and emoji", wide),
        ("the key at the end, Japanese and emoji", wide[: -len(key) - 1] + key),
    ):
        print(f"  {label:<38}{best_of(lambda text=text: redact.bounded(text, 2000), few):8.1f}")
    # The worst a hostile server can make of `error.body` (read lazily, 64 Ki characters at
    # most) and of a 4,000-character field: text made of runs of the key, each found apart.
    # The same of each encoded form of the key, and with the separators a reader does not
    # see: every form's pieces are found with the same anchors, and the cost stays linear.
    b64 = base64.b64encode(key.encode()).decode()
    dump = key.encode().hex(":")
    hostile = {
        "11-character pieces of the key": " ".join(key[i % 21 : i % 21 + 11] for i in range(6000)),
        "pieces of its base64": " ".join(b64[i % 30 : i % 30 + 13] for i in range(6000)),
        "pieces of its hex dump (colons)": " ".join(
            dump[i % 60 : i % 60 + 26] for i in range(3000)
        ),
        "its pieces, a NUL by each character": "\x00".join(
            " ".join(key[i % 21 : i % 21 + 11] for i in range(3000))
        ),
        "its pieces, U+2212 or U+30FB by each character": "".join(
            c + "\u2212\u30fb"[n % 2]
            for n, c in enumerate(" ".join(key[i % 21 : i % 21 + 11] for i in range(3000)))
        ),
    }
    print("Hostile text (pieces at every offset), ms per call; best of 5")
    for label, pieces in hostile.items():
        for size in (4000, 65536):
            text = pieces[:size]
            millis = best_of(lambda text=text, size=size: redact.bounded(text, size), 1) / 1000
            print(f"  {f'{label}, {size:,}':<46}{millis:8.1f}")


if __name__ == "__main__":
    main()
