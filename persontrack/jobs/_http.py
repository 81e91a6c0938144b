"""The HTTP connections of ``persontrack serve``: uvicorn's h11 protocol with an idle timeout.

uvicorn closes a kept-alive connection that stays silent after an answer, but a new
connection that sends nothing, or whose request head (the request line and headers) arrives
a byte now and then, waits forever; and uvicorn's connection limit counts those, so 257
silent connections made every request, ``/health`` included, a bare 503 for as long as they
were held. Here every connection must deliver a whole request head within ``idle_timeout``
seconds of opening or of its last answer, else it is closed. The body is the application's
to time (``Limits.body_timeout``: 408).

Examples
--------
>>> cls = protocol(5.0)
>>> cls.idle_timeout, issubclass(cls, H11Protocol)
(5.0, True)
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ["protocol"]


def protocol(idle_timeout: float) -> type[H11Protocol]:
    """uvicorn's h11 protocol class closing connections without a request head in time."""
    return type("IdleTimeoutH11Protocol", (_IdleTimeout,), {"idle_timeout": float(idle_timeout)})


class _IdleTimeout(H11Protocol):
    idle_timeout: float = 5.0
    _idle: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def handle_events(self) -> None:
        before = self.cycle
        super().handle_events()
        if self.cycle is not before:  # a whole request head arrived
            self._disarm()

    def on_response_complete(self) -> None:
        self._arm()  # first: a pipelined request parsed by the call below disarms it
        super().on_response_complete()

    def _arm(self) -> None:
        self._disarm()
        self._idle = self.loop.call_later(self.idle_timeout, self._expire)

    def _disarm(self) -> None:
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None

    def _expire(self) -> None:
        self._idle = None
        idle = self.cycle is None or self.cycle.response_complete
        if idle and not self.transport.is_closing():
            self.transport.close()
