"""One small HTTP server per worker: ``/metrics`` for Prometheus, ``/healthz`` (liveness)
and ``/readyz`` (readiness) for Kubernetes, 404 for anything else."""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

Check = Callable[[], tuple[bool, str]]  # (passing, a short reason shown in the body)


class ProbeServer:
    """Serves ``registry`` and two checks on ``address`` (``host:port``) from a daemon
    thread until :meth:`close`."""

    def __init__(self, address: str, registry: CollectorRegistry, live: Check, ready: Check):
        routes: dict[str, Callable[[], tuple[int, str, bytes]]] = {
            "/metrics": lambda: (200, CONTENT_TYPE_LATEST, generate_latest(registry)),
            "/healthz": lambda: _answer(live),
            "/readyz": lambda: _answer(ready),
        }

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the http.server hook's name)
                route = routes.get(self.path.split("?", 1)[0])
                status, kind, body = route() if route else (404, "text/plain", b"not found\n")
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                """Probes arrive every few seconds: no access log."""

        host, port = address.rsplit(":", 1)
        self._server = ThreadingHTTPServer((host, int(port)), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        """The port it listens on (useful with port 0)."""
        return int(self._server.server_address[1])

    def start(self) -> ProbeServer:
        """Start serving in the background."""
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving and release the port."""
        self._server.shutdown()
        self._server.server_close()


def _answer(check: Check) -> tuple[int, str, bytes]:
    try:
        passing, reason = check()
    except Exception as exc:  # a check that cannot tell yet fails; the probe still answers
        passing, reason = False, f"{type(exc).__name__}: {exc}"
    return (200 if passing else 503), "text/plain", f"{reason}\n".encode()
