"""A partner's HTTP endpoint on 127.0.0.1, in a thread of its own: each POST is handed to
`on_post(path, headers, body)`, whose return value is the status answered (with no body).

It keeps connections alive (HTTP/1.1) and queues up to 128 connections not yet accepted, as a
partner's web server does. With the standard library's defaults (HTTP/1.0, a new connection per
request; a queue of 5) a connection that found the queue full under load had its SYN dropped
and retried by the kernel a second later: `bench.e2e`, which then used this receiver, measured
that second, not the gateway."""

import contextlib
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

OnPost = Callable[[str, dict[str, str], bytes], int]


class LoopbackServer:
    def __init__(self, on_post: OnPost) -> None:
        connections: set[socket.socket] = set()  # kept alive: closed by `stop` too
        self._connections = connections

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive: every answer has its Content-Length

            def setup(self) -> None:
                super().setup()
                connections.add(self.connection)

            def finish(self) -> None:
                connections.discard(self.connection)
                super().finish()

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = on_post(self.path, dict(self.headers.items()), body)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 128

        self.server = Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def stop(self) -> None:
        """Stops listening and closes the kept connections: the endpoint is gone."""
        self.server.shutdown()
        self.server.server_close()
        for connection in list(self._connections):
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
