"""A real HTTP receiver on 127.0.0.1 for webhook tests: it fails, stalls or accepts."""

import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    def __init__(self):
        # "ok", "fail", "slow", "stall"; then "ok" when empty. A stalled request is recorded
        # when it arrives and answered only once `released` is set (or the receiver stops).
        self.behaviours: list[str] = []
        self.received: list[dict] = []
        self.released = threading.Event()
        self.server = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/hook"


@contextmanager
def receiver(slow_seconds: float = 1.5):
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            behaviour = state.behaviours.pop(0) if state.behaviours else "ok"
            if behaviour == "slow":
                time.sleep(slow_seconds)
            state.received.append(
                {"headers": dict(self.headers), "body": body, "behaviour": behaviour}
            )
            if behaviour == "stall":
                state.released.wait(timeout=120)
            code = 500 if behaviour == "fail" else 200
            self.send_response(code)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.server = server
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.released.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
