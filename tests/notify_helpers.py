"""A local webhook receiver for the notification tests: a real HTTP server on 127.0.0.1 that
records every POST (with its Idempotency-Key), can answer slowly, fail for a while, then recover,
and deduplicates by key as an idempotent receiver does."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class LocalHTTPServer:
    """A real HTTP server on 127.0.0.1 (a free port) serving ``handler`` in threads; started and
    stopped as a context manager. The test servers of the outside world build on it."""

    def _listen(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


class WebhookReceiver(LocalHTTPServer):
    def __init__(self, *, delay: float = 0.0, fail_first: int = 0, status_when_failing: int = 500):
        self.delay = delay
        self.fail_first = fail_first
        self.status_when_failing = status_when_failing
        self.received: list[dict] = []   # every POST, in order
        self.accepted: dict[str, dict] = {}  # idempotency key → first payload processed
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                payload = json.loads(self.rfile.read(length) or b"{}")
                key = self.headers.get("Idempotency-Key", "")
                with receiver.lock:
                    receiver.received.append({"key": key, "payload": payload, "path": self.path, "at": time.time()})
                    failing = len(receiver.received) <= receiver.fail_first
                if receiver.delay:
                    time.sleep(receiver.delay)
                if failing:
                    self.send_response(receiver.status_when_failing)
                    self.end_headers()
                    return
                with receiver.lock:
                    receiver.accepted.setdefault(key, payload)  # a repeat of a key changes nothing
                body = json.dumps({"errcode": 0, "errmsg": "ok"}).encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):  # the sender was killed meanwhile
                    pass

            def log_message(self, *args):
                pass

        self._listen(Handler)

    @property
    def url(self) -> str:
        return f"{self.base}/cgi-bin/webhook/send?key=test"

    def keys(self) -> list[str]:
        with self.lock:
            return [r["key"] for r in self.received]
