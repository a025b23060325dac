"""Score `http402.classify` on a folder of payload files (the `tests/payloads/` format).

Prints, per file, the expected and the given answer, then the score the team is judged by:
gates recognised with the right reason, and look-alikes left alone (no false positive).

    python benchmarks/classify_score.py tests/payloads
    python benchmarks/classify_score.py /path/to/fresh/payloads --only-misses
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

import http402


def response_of(document: dict[str, Any]) -> httpx.Response:
    """The recorded response, with its request, as `tests/test_payloads.py` builds it."""
    wire = document["response"]
    request = httpx.Request(document["request"]["method"], document["request"]["url"])
    return httpx.Response(
        wire["status"],
        headers=list(wire["headers"].items()),
        content=wire["body"].encode("utf-8"),
        request=request,
    )


def answer_of(document: dict[str, Any]) -> http402.PaymentRequired | None:
    """What http402 answers: `classify` for a response, and for a 200 `text/event-stream` the
    transport's look-ahead (`classify` never reads a 200's body; a stream is read ahead by a
    transport only, until its output begins: docs/streams.md)."""
    wire = document["response"]
    content_type = str(wire["headers"].get("content-type", "")).lower()
    if wire["status"] != 200 or "text/event-stream" not in content_type:
        return http402.classify(response_of(document))
    mock = httpx.MockTransport(lambda request: response_of(document))
    with httpx.Client(transport=http402.PaymentRequiredTransport(mock)) as client:
        try:
            client.request(document["request"]["method"], document["request"]["url"]).read()
        except http402.PaymentRequiredError as error:
            return error.payment
    return None


def score(paths: Sequence[Path], *, only_misses: bool = False) -> tuple[int, int, int, int]:
    """Prints each payload's answer; returns (right gates, gates, false positives, look-alikes)."""
    right = gates = false_positives = lookalikes = 0
    for path in paths:
        document = json.loads(path.read_text(encoding="utf-8"))
        expected = document["expected"]
        payment = answer_of(document)
        given = None if payment is None else payment.reason.value
        if expected["is_payment_gate"]:
            gates += 1
            ok = given == expected["reason"]
            right += ok
        else:
            lookalikes += 1
            ok = given is None
            false_positives += not ok
        if only_misses and ok:
            continue
        mark = "ok  " if ok else "MISS"
        status = document["response"]["status"]
        print(f"{mark} {path.stem[:64]:<64} {status:>3} {expected['reason']!s:<21} -> {given}")
    return right, gates, false_positives, lookalikes


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("folders", nargs="+", type=Path, help="folders (or files) of payloads")
    parser.add_argument("--only-misses", action="store_true", help="print only the misses")
    args = parser.parse_args(argv)
    paths: list[Path] = []
    for folder in args.folders:
        paths.extend(sorted(folder.glob("*.json")) if folder.is_dir() else [folder])
    right, gates, false_positives, lookalikes = score(paths, only_misses=args.only_misses)
    share = right / gates if gates else 1.0
    print(
        f"gates with the right reason: {right}/{gates} ({share:.0%}); "
        f"false positives: {false_positives}/{lookalikes} look-alikes"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
