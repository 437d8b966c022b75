"""What every fake here shares: a threaded HTTP server, run on a thread of its own by tests or in the
foreground from the command line."""

from __future__ import annotations

import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self

from tests.fakes.faults import FaultPlan, Rule


class Server(ThreadingHTTPServer):
    """A client that went away mid-request (a killed process, a dropped keep-alive connection) is no error of
    the server's, as it is none of a real service's: it is not printed. Anything else still is."""

    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class FakeServer:
    """``with fake:`` (or ``start()``/``stop()``) serves on a daemon thread; ``serve_until_interrupted()``
    serves in the foreground until Ctrl-C. ``faults`` is the fake's fault plan (``tests.fakes.faults``)."""

    thread_name = "fake"

    def __init__(self, host: str, port: int, handler_class: type[BaseHTTPRequestHandler]) -> None:
        self.server = Server((host, port), handler_class)
        self.faults = FaultPlan()
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def start(self) -> Self:
        # A short poll interval so stop() returns at once rather than after the default half second.
        self._thread = threading.Thread(
            target=self.server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=self.thread_name,
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.faults.close()  # held and sleeping requests give up, so shutdown does not wait for them
        if self._thread is not None:  # shutdown() waits for serve_forever, which never started otherwise
            self.server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self.server.server_close()

    # the fault plan's shortcuts

    def fail(self, route: str, kind: str, **options) -> Rule:
        """Add a rule to the fault plan: ``fake.fail("POST /pulls$", "lost_response", calls=[2])``."""
        return self.faults.add(route, kind, **options)

    def hold(self, route: str, *, calls=None, times: int | None = 1, seconds: float = 60.0) -> Rule:
        """Keep matching requests open until ``release()`` or ``seconds``; ``held(route)`` signals arrival."""
        return self.faults.add(route, "hold", calls=calls, times=times, seconds=seconds)

    def held(self, route: str) -> threading.Event:
        return self.faults.held(route)

    def release(self, route: str | None = None) -> int:
        return self.faults.release(route)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def serve_until_interrupted(self) -> None:
        try:
            self.server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            self.faults.close()
            self.server.server_close()
