"""The Bot API's connection pool (bot/telegram_pool.py): waiters, closing, reuse."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpcore
import pytest
import uvloop

from bot.telegram_http import TelegramTransport
from bot.telegram_pool import HELD_BYTES, AsyncioBackend, AsyncioStream, ConnectionPool
from tests.test_telegram_transport import _self_signed, slow_server, started

ANSWER = b'{"ok": true, "result": true}'
OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (
    len(ANSWER),
    ANSWER,
)


async def test_a_waiter_woken_then_cancelled_passes_the_free_connection_on() -> None:
    """A waiter cancelled (its update cancelled, its pool timeout) just as a connection
    came free must not take the wake-up with it: the next waiter gets the connection
    rather than sleeping out its pool timeout into a "Pool timeout"."""
    pool = ConnectionPool(1, ssl_context=None, keepalive_expiry=5.0)
    origin = httpcore.Origin(b"http", b"127.0.0.1", 9)
    held = await pool._take(origin, None)
    first = asyncio.create_task(pool._take(origin, 5.0))
    second = asyncio.create_task(pool._take(origin, 5.0))
    for _ in range(3):
        await asyncio.sleep(0)
    await pool._close(held)  # wakes the first waiter...
    first.cancel()  # ...cancelled before it ran
    connection = await asyncio.wait_for(second, 1.0)
    assert pool._open == 1
    await pool._close(connection)
    assert pool._open == 0
    with contextlib.suppress(asyncio.CancelledError):
        await first


@contextlib.contextmanager
def tls_server_ignoring_close_notify(folder: Path) -> Iterator[int]:
    """An HTTPS server (blocking, as many a server's TLS) answering every request on a
    kept-alive connection, that never answers a client's close_notify."""
    cert, key = _self_signed(folder)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()
    kept: list[ssl.SSLSocket] = []

    def serve(conn: ssl.SSLSocket) -> None:
        buffer = b""
        while not stop.is_set():
            try:
                data = conn.recv(65536)
            except (OSError, ssl.SSLError):
                return
            if not data:  # the client's close_notify: left unanswered
                return
            buffer += data
            while b"\r\n\r\n" in buffer:
                head, _, rest = buffer.partition(b"\r\n\r\n")
                length = next(
                    (int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                     if line.lower().startswith(b"content-length:")),
                    0,
                )  # fmt: skip
                if len(rest) < length:
                    break
                buffer = rest[length:]
                conn.sendall(OK)

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                raw, _ = listener.accept()
            except TimeoutError:
                continue
            raw.settimeout(None)
            conn = context.wrap_socket(raw, server_side=True)
            kept.append(conn)
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        listener.close()
        for conn in kept:
            with contextlib.suppress(OSError):
                conn.close()


async def _expired_then_taken(port: int, cafile: Path) -> float:
    """Four TLS connections opened at once, left to expire: the seconds the next
    request took."""
    client_tls = ssl.create_default_context(cafile=str(cafile))
    call = f"https://127.0.0.1:{port}/bot123:abc/sendMessage"
    async with started(TelegramTransport(ssl_context=client_tls, keepalive_expiry=0.2)) as t:
        assert await asyncio.gather(*(t.post(call) for _ in range(4))) == [True] * 4
        await asyncio.sleep(0.4)  # every one expired
        began = time.monotonic()
        assert await t.post(call) is True
        return time.monotonic() - began


def test_closing_a_tls_connection_does_not_wait_for_the_servers_close_notify() -> None:
    """Expired idle connections are closed on a request's way (taking a connection):
    waiting on each for the server's answer to close_notify (a round trip, or never)
    delayed the request, and after a burst, with many expired, made it fail with a
    "Pool timeout" (a TimedOut, not retried). On asyncio and on uvloop (the bot's)."""
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        with tls_server_ignoring_close_notify(folder) as port:
            for factory in (asyncio.new_event_loop, uvloop.new_event_loop):
                with asyncio.Runner(loop_factory=factory) as runner:
                    assert runner.run(_expired_then_taken(port, folder / "cert.pem")) < 0.5


@contextlib.asynccontextmanager
async def server_speaking_unasked() -> AsyncIterator[tuple[str, list[int]]]:
    """A server that answers a request, then at once sends a 408 on the idle connection
    (as some do before closing one), and answers a request on a new connection."""
    connections = [0]

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections[0] += 1
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                (int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                 if line.lower().startswith(b"content-length:")),
                0,
            )  # fmt: skip
            await reader.readexactly(length)
            writer.write(OK)
            await writer.drain()
            await asyncio.sleep(0.05)  # later, on the idle connection
            writer.write(b"HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
            await reader.read()  # left open: whatever comes is not answered
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}", connections
    finally:
        server.close()


async def test_an_idle_connection_the_server_spoke_on_is_not_reused() -> None:
    """Bytes arriving on an idle connection (a 408 before the server closes it) make it
    unusable, as httpcore's own pool judges a readable socket: reused, the bytes would
    be read as the answer to the next request."""
    async with (
        server_speaking_unasked() as (url, connections),
        started(TelegramTransport()) as transport,
    ):
        call = f"{url}/bot123:abc/getMe"
        assert await transport.post(call) is True
        await asyncio.sleep(0.2)
        assert await transport.post(call) is True
        assert connections[0] == 2


async def test_a_request_ending_after_the_shutdown_closes_its_connection() -> None:
    """A request still on the wire at shutdown does not leave its connection open in
    the pool that was shut down (nothing would ever close it)."""
    async with slow_server(0.3) as url:
        transport = TelegramTransport()
        await transport.initialize()
        pool = transport._pool
        assert pool is not None
        request = asyncio.create_task(transport.post(f"{url}/bot123:abc/getMe"))
        await asyncio.sleep(0.1)
        await transport.shutdown()
        assert await request is True
        assert pool._open == 0
        assert not any(pool._idle.values())


async def test_idle_connections_to_one_server_make_room_for_another() -> None:
    """The pool's size counts every origin: a full pool of idle connections to one
    server is trimmed for a request to another, rather than that waiting its pool
    timeout for a connection that never comes back."""
    async with (
        slow_server(0.0) as first,
        slow_server(0.0) as second,
        started(TelegramTransport(2, pool_timeout=0.2)) as transport,
    ):
        assert await asyncio.gather(
            *(transport.post(f"{first}/bot123:abc/getMe") for _ in range(2))
        ) == [True, True]
        assert await transport.post(f"{second}/bot123:abc/getMe") is True
        pool = transport._pool
        assert pool is not None and pool._open == 2


async def test_an_address_that_never_answers_does_not_hold_up_the_next(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A host's first address silent (IPv6 routed nowhere, a firewall dropping it):
    the next address is tried after a moment, as httpx's connections (anyio's happy
    eyeballs) did, rather than the first taking the whole connect timeout."""
    async with slow_server(0.0) as url:
        port = int(url.rsplit(":", 1)[1])
        silent = socket.socket()  # its queue full: connections to it hang, unanswered
        silent.bind(("127.0.0.2", port))
        silent.listen(0)
        filler = [socket.socket() for _ in range(3)]
        for sock in filler:
            sock.setblocking(False)
            sock.connect_ex(("127.0.0.2", port))
        await asyncio.sleep(0.1)
        real = socket.getaddrinfo

        def addresses(host: str, *args: Any, **kwargs: Any) -> list[Any]:
            if host != "telegram.test":
                return real(host, *args, **kwargs)
            return [
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))
                for address in ("127.0.0.2", "127.0.0.1")
            ]

        monkeypatch.setattr(socket, "getaddrinfo", addresses)
        try:
            async with started(TelegramTransport(connect_timeout=2.0)) as transport:
                began = time.monotonic()
                assert await transport.post(f"http://telegram.test:{port}/bot1:a/getMe") is True
                assert time.monotonic() - began < 1.0
        finally:
            for sock in (*filler, silent):
                sock.close()


async def test_a_requests_parts_go_out_in_one_send_when_the_answer_is_awaited() -> None:
    """httpcore writes a request's head and body apart: one system call, not two (at the
    paid rate, sends are much of what the bot does)."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(100)
        writer.write(b"done")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        stream = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=5)
        assert isinstance(stream, AsyncioStream)
        sent: list[bytes] = []
        write = stream._writer.write

        def recorded(data: bytes | bytearray | memoryview) -> None:
            sent.append(bytes(data))
            write(data)

        stream._writer.write = recorded  # type: ignore[method-assign]
        await stream.write(b"POST /x HTTP/1.1\r\n\r\n", timeout=5)
        await stream.write(b"a=1", timeout=5)
        assert sent == []  # held
        assert await stream.read(100, timeout=5) == b"done"
        assert sent == [b"POST /x HTTP/1.1\r\n\r\na=1"]

        large = b"x" * HELD_BYTES
        await stream.write(large, timeout=5)
        assert sent[-1] == large  # a large part is not held
        await stream.aclose()
    finally:
        server.close()
        await server.wait_closed()


async def test_a_reused_connection_takes_no_anyio_lock(monkeypatch: pytest.MonkeyPatch) -> None:
    """anyio's lock (httpcore's, under asyncio) yields to the event loop at every acquire,
    three times a request: the pool's connections use asyncio's, from the second request
    on a connection (its HTTP/1.1 part is made during the first)."""
    from httpcore._synchronization import AsyncLock

    acquired: list[object] = []
    real = AsyncLock.__aenter__

    async def counted(self: AsyncLock) -> AsyncLock:
        acquired.append(self)
        return await real(self)

    monkeypatch.setattr(AsyncLock, "__aenter__", counted)
    async with slow_server(0.0) as url, started(TelegramTransport(4)) as transport:
        for _ in range(5):
            assert await transport.post(f"{url}/bot123:abc/getMe") is True
        pool = transport._pool
        assert pool is not None and pool._open == 1
    assert len(acquired) == 1  # the first request's, before its connection was made
