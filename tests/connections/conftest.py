"""A patched resolver: tests decide what every host name resolves to, no network is asked."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator

import pytest

from connectors import outbound

PUBLIC = "93.184.215.14"  # a globally routable address nothing in the tests connects to


class Resolver:
    """Answers from ``answers`` (a host's list of answer lists, one per lookup: the last repeats);
    unknown hosts resolve to PUBLIC. Every lookup is recorded."""

    def __init__(self) -> None:
        self.answers: dict[str, list[list[str]]] = {}
        self.lookups: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        queue = self.answers.get(host)
        if not queue:
            if host in ("127.0.0.1", "localhost"):
                return ["127.0.0.1"]
            return [PUBLIC]
        return queue.pop(0) if len(queue) > 1 else queue[0]


@pytest.fixture
def resolver(monkeypatch: pytest.MonkeyPatch) -> Iterator[Resolver]:
    fake = Resolver()
    resolve: Callable[[str, int], list[str]] = fake
    monkeypatch.setattr(outbound, "resolve", resolve)
    yield fake


class Listener:
    """A TCP port on 127.0.0.1 that counts the connections it accepts."""

    def __init__(self) -> None:
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.socket.settimeout(0.2)
        self.port: int = self.socket.getsockname()[1]
        self.accepted = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self.socket.accept()
            except OSError:
                continue
            self.accepted += 1
            connection.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.socket.close()
