"""Connections to the Bot API: a pool of httpcore's HTTP/1.1 connections over asyncio.

httpcore's own pool suits a few connections: at each request it walks every open
connection, and for each counts the idle ones again, so its work grows with the square
of the connections open; the bot keeps dozens open under load (the outbox sender's
window, the replies of many updates at once), and that walk cost more than the request.
This pool keeps its idle connections in a stack: a request takes the one used last
(the others age out after ``keepalive_expiry``), opens a new one while fewer than
``size`` are open, or waits for one to come back, at most the pool timeout.

The connections are httpcore's (``AsyncHTTPConnection``: HTTP/1.1, TLS, keep-alive,
the parsing), spoken over asyncio's streams (``AsyncioBackend``) rather than anyio's,
whose every write yields to the event loop first and whose check of an idle connection
builds a table of the socket's attributes.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import socket
import ssl
from asyncio.staggered import staggered_race
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from typing import Any

import httpcore


class ConnectionPool:
    """Up to ``size`` keep-alive connections per origin, the last used taken first."""

    def __init__(
        self, size: int, *, ssl_context: ssl.SSLContext | None, keepalive_expiry: float
    ) -> None:
        self._size = size
        self._ssl = ssl_context
        self._expiry = keepalive_expiry
        self._backend = AsyncioBackend()
        self._idle: dict[tuple[bytes, bytes, int], deque[httpcore.AsyncHTTPConnection]] = {}
        self._open = 0  # connections open or being opened, every origin
        self._freed = asyncio.Condition()  # a connection came back or was closed
        self._closed = False  # shut down: connections coming back are closed

    async def request(
        self, method: str, url: str, headers: list[tuple[bytes, bytes]], body: bytes,
        timeouts: dict[str, float | None],
    ) -> tuple[int, bytes]:  # fmt: skip
        """Send one request and read its whole answer: (status, body)."""
        request = httpcore.Request(
            method, url, headers=headers, content=body, extensions={"timeout": timeouts}
        )
        request.headers.insert(0, (b"Host", _host(request.url)))
        connection = await self._take(request.url.origin, timeouts.get("pool"))
        try:
            response = await connection.handle_async_request(request)
            try:
                content = await response.aread()
            finally:
                await response.aclose()
        except BaseException:
            # Cut off midway (an error, a timeout, a cancelled update): not reusable.
            await asyncio.shield(self._close(connection))
            raise
        await self._give_back(request.url.origin, connection)
        return response.status, content

    async def _take(
        self, origin: httpcore.Origin, pool_timeout: float | None
    ) -> httpcore.AsyncHTTPConnection:
        idle = self._idle.setdefault(_key(origin), deque())
        try:
            async with asyncio.timeout(pool_timeout):
                while True:
                    while idle:
                        connection = idle.pop()
                        if connection.is_available() and not connection.has_expired():
                            return connection
                        await self._close(connection)
                    if self._open < self._size:
                        self._open += 1
                        return Connection(
                            origin, ssl_context=self._ssl, keepalive_expiry=self._expiry,
                            http1=True, http2=False, network_backend=self._backend,
                        )  # fmt: skip
                    # Full: another server's idle connection (this one's are all in
                    # use) is closed to make room rather than wait for one that will
                    # not come back.
                    other = next((rest for rest in self._idle.values() if rest), None)
                    if other is not None:
                        await self._close(other.popleft())
                        continue
                    async with self._freed:
                        try:
                            await self._freed.wait()
                        except BaseException:
                            # Cancelled (its timeout, its update) perhaps just after a
                            # notify woke it: pass the wake-up on, or the next waiter
                            # sleeps while a connection is free (asyncio before 3.13).
                            self._freed.notify()
                            raise
        except TimeoutError as exc:
            raise httpcore.PoolTimeout("no connection came free in time") from exc

    async def _give_back(
        self, origin: httpcore.Origin, connection: httpcore.AsyncHTTPConnection
    ) -> None:
        # The server ended it ("Connection: close"), or the pool was shut down meanwhile.
        if not connection.is_idle() or self._closed:
            await self._close(connection)
            return
        idle = self._idle.setdefault(_key(origin), deque())
        idle.append(connection)
        # The oldest idle connection, if expired, goes now: quiet pools shrink back.
        if len(idle) > 1 and idle[0].has_expired():
            await self._close(idle.popleft())
        async with self._freed:
            self._freed.notify()

    async def _close(self, connection: httpcore.AsyncHTTPConnection) -> None:
        self._open -= 1
        with contextlib.suppress(Exception):
            await connection.aclose()
        async with self._freed:
            self._freed.notify()

    async def aclose(self) -> None:
        """Close every idle connection (the ones in use close when their request ends)."""
        self._closed = True
        for idle in self._idle.values():
            while idle:
                await self._close(idle.pop())


def _key(origin: httpcore.Origin) -> tuple[bytes, bytes, int]:
    return origin.scheme, origin.host, origin.port


def _host(url: httpcore.URL) -> bytes:
    """The Host header of ``url``: its host, and its port unless the scheme's own."""
    if url.port is None or url.port == {b"http": 80, b"https": 443}.get(url.scheme):
        return url.host
    return url.host + b":" + str(url.port).encode()


# --- the network under the connections -----------------------------------------------

# httpcore's own type of a socket option.
SocketOption = (
    tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]
)


class Connection(httpcore.AsyncHTTPConnection):
    """httpcore's connection with asyncio's locks in place of anyio's, whose every
    acquire yields to the event loop inside a cancel scope of its own: three times a
    request. The pool gives a connection to one request at a time, so its locks are
    never contended; they are httpcore's private attributes, hence the checks."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if hasattr(self, "_request_lock"):
            self._request_lock = asyncio.Lock()  # type: ignore[assignment]

    async def handle_async_request(self, request: httpcore.Request) -> httpcore.Response:
        response = await super().handle_async_request(request)
        # The HTTP/1.1 connection is made during the first request: from the next one on.
        inner: Any = self._connection
        lock = getattr(inner, "_state_lock", None)
        if lock is not None and not isinstance(lock, asyncio.Lock):
            inner._state_lock = asyncio.Lock()
        return response


HELD_BYTES = 64 * 1024  # parts of a request held to be sent together, at most


class AsyncioStream(httpcore.AsyncNetworkStream):
    """One connection as asyncio's reader and writer, with httpcore's errors (the
    ``timeout`` parameters are httpcore's interface)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        # httpcore writes a request in parts (its head, then its body): they are held
        # until the answer is awaited (or they grow large) and sent in one system call,
        # which on a busy bot is a good part of a request's cost.
        self._held: list[bytes] = []
        self._held_size = 0
        self._write_timeout: float | None = None

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        if self._held:
            await self._send_held()
        try:
            async with asyncio.timeout(timeout):
                return await self._reader.read(max_bytes)
        except TimeoutError as exc:
            raise httpcore.ReadTimeout(str(exc)) from exc
        except OSError as exc:
            raise httpcore.ReadError(str(exc)) from exc

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
        if not buffer:
            return
        self._held.append(buffer)
        self._held_size += len(buffer)
        self._write_timeout = timeout
        if self._held_size >= HELD_BYTES:
            await self._send_held()

    async def _send_held(self) -> None:
        buffer = self._held[0] if len(self._held) == 1 else b"".join(self._held)
        self._held.clear()
        self._held_size = 0
        timeout = self._write_timeout
        try:
            self._writer.write(buffer)
            if self._writer.transport.get_write_buffer_size():
                async with asyncio.timeout(timeout):  # waits only when the socket is full
                    await self._writer.drain()
        except TimeoutError as exc:
            raise httpcore.WriteTimeout(str(exc)) from exc
        except (OSError, RuntimeError) as exc:  # RuntimeError: the transport is closed
            raise httpcore.WriteError(str(exc)) from exc

    async def aclose(self) -> None:
        self._held.clear()  # a request closed before its answer was awaited
        self._held_size = 0
        # Not waiting for the transport to finish: over TLS that is the server's answer
        # to close_notify, a round trip (or never), and connections close on a request's
        # way (an expired one as it takes one). As httpcore's own backend, a TLS
        # connection is dropped without close_notify (nothing is left to say on it).
        if self._writer.get_extra_info("ssl_object") is not None:
            self._writer.transport.abort()
        else:
            self._writer.close()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                await self._writer.start_tls(ssl_context, server_hostname=server_hostname)
        except TimeoutError as exc:
            await self.aclose()
            raise httpcore.ConnectTimeout(str(exc)) from exc
        except (OSError, ssl.SSLError) as exc:
            await self.aclose()
            raise httpcore.ConnectError(str(exc)) from exc
        return self

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            # asyncio reads a socket as soon as data arrives: an idle connection the
            # server closed (or spoke on unasked) shows here, not on the socket.
            # Anything read while idle counts (as a readable socket in httpcore's own
            # check): a 408 before the close would be taken for the next answer.
            buffered = bool(getattr(self._reader, "_buffer", b""))
            return buffered or self._reader.at_eof() or self._writer.transport.is_closing()
        if info == "ssl_object":
            return self._writer.get_extra_info("ssl_object")
        if info == "client_addr":
            return self._writer.get_extra_info("sockname")
        if info == "server_addr":
            return self._writer.get_extra_info("peername")
        if info == "socket":
            return self._writer.get_extra_info("socket")
        return None


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    """httpcore's connections opened with asyncio (on uvloop where the bot runs on it)."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return await _opened(_open(host, port, local_address), timeout, socket_options)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return await _opened(asyncio.open_unix_connection(path), timeout, socket_options)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


HAPPY_EYEBALLS_DELAY = 0.25  # anyio's (httpx's), RFC 8305's


async def _open(
    host: str, port: int, local_address: str | None
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A connection to the first of ``host``'s addresses to answer, the next one tried
    every quarter of a second while none has (happy eyeballs, as anyio's): one tried
    at a time, a silent address (IPv6 routed nowhere) took the whole connect timeout.
    uvloop's own connect has no such option, hence here."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    # Families alternated, the first one's first (RFC 8305).
    first = [info for info in infos if info[0] == infos[0][0]]
    rest = [info for info in infos if info[0] != infos[0][0]]
    ordered = [info for pair in itertools.zip_longest(first, rest) for info in pair if info]
    local = (local_address, 0) if local_address else None

    def attempt(
        address: str,
    ) -> Callable[[], Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]]:
        return lambda: asyncio.open_connection(address, port, local_addr=local)

    if len(ordered) == 1:
        return await attempt(str(ordered[0][4][0]))()
    connected, _, errors = await staggered_race(
        [attempt(str(info[4][0])) for info in ordered], HAPPY_EYEBALLS_DELAY
    )
    if connected is None:
        failed = [error for error in errors if error is not None]
        raise OSError(f"no address of {host} answered: {failed}")
    reader: asyncio.StreamReader = connected[0]
    writer: asyncio.StreamWriter = connected[1]
    return reader, writer


async def _opened(
    opening: Coroutine[Any, Any, tuple[asyncio.StreamReader, asyncio.StreamWriter]],
    seconds: float | None,
    options: Iterable[SocketOption] | None,
) -> AsyncioStream:
    """A connection being opened, as httpcore's stream (with httpcore's errors)."""
    try:
        async with asyncio.timeout(seconds):
            reader, writer = await opening
    except TimeoutError as exc:
        raise httpcore.ConnectTimeout(str(exc)) from exc
    except OSError as exc:
        raise httpcore.ConnectError(str(exc)) from exc
    sock = writer.get_extra_info("socket")
    for option in options or ():
        sock.setsockopt(*option)
    return AsyncioStream(reader, writer)
