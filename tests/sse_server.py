"""A loopback HTTP/1.1 server that streams scripted server-sent events, chunk by chunk.

Each request gets the next queued script: a status, headers, and steps, each either bytes
(sent as one chunk and flushed) or a `threading.Event` the server waits on before going on,
so a test can hold the stream between two events and see what reached the client first
(forced ordering, no sleeps). Binds to 127.0.0.1 only.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["Script", "StreamServer", "serving"]

#: How long the server waits on a step's event before it gives up and breaks the stream: a
#: guard against a test that would hang, never a pause that a test relies on.
GUARD_SECONDS = 20.0


class Script:
    """One scripted answer."""

    def __init__(
        self,
        steps: list[bytes | threading.Event],
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.steps = steps
        self.status = status
        self.headers = headers if headers is not None else {"content-type": "text/event-stream"}
        #: Set when the script has been sent to its end.
        self.done = threading.Event()
        #: When each bytes step was flushed to the socket (`time.perf_counter()`).
        self.sent: list[float] = []


class StreamServer:
    """Answers each request with the next queued `Script` (the last one again once the
    queue is down to one), and records the path of every request."""

    def __init__(self) -> None:
        self.scripts: deque[Script] = deque()
        self.paths: list[str] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        # Polled every 50 ms for `stop` (the default half second made every test wait).
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def queue(self, *scripts: Script) -> None:
        with self._lock:
            self.scripts.extend(scripts)

    def next_script(self, path: str) -> Script:
        with self._lock:
            self.paths.append(path)
            return self.scripts.popleft() if len(self.scripts) > 1 else self.scripts[0]

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


@contextmanager
def serving(*scripts: Script) -> Iterator[StreamServer]:
    server = StreamServer()
    server.queue(*scripts)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _handler_for(server: StreamServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self._answer()

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            self.rfile.read(length)
            self._answer()

        def _answer(self) -> None:
            try:
                self._send(server.next_script(self.path))
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client left before the end: its right

        def _send(self, script: Script) -> None:
            self.send_response(script.status)
            for name, value in script.headers.items():
                self.send_header(name, value)
            self.send_header("transfer-encoding", "chunked")
            self.end_headers()
            self.wfile.flush()
            for step in script.steps:
                if isinstance(step, threading.Event):
                    if not step.wait(GUARD_SECONDS):
                        self.close_connection = True
                        return  # the test never let the stream go on: break it
                    continue
                self.wfile.write(b"%x\r\n%s\r\n" % (len(step), step))
                self.wfile.flush()
                script.sent.append(time.perf_counter())
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
            script.done.set()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler
