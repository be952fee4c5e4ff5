"""The Bot API transport (bot/telegram_http.py): requests, uploads, PTB's errors."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import ipaddress
import socket
import ssl
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
import uvloop
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from telegram import Bot, InputFile
from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut
from telegram.request import RequestData
from telegram.request._requestparameter import RequestParameter

from bot.telegram_http import TelegramTransport
from tests.fake_bot_api import FakeBotAPI


@contextlib.asynccontextmanager
async def bot_on(url: str, transport: TelegramTransport, token: str) -> AsyncIterator[Bot]:
    bot = Bot(token, base_url=f"{url}/bot", base_file_url=f"{url}/file/bot", request=transport)
    async with bot:
        yield bot


Handle = Callable[[web.Request], Awaitable[web.Response]]


@contextlib.asynccontextmanager
async def serving(handle: Handle, tls: ssl.SSLContext | None = None) -> AsyncIterator[str]:
    """A local server answering every request with ``handle``; its address."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=tls).start()
    scheme = "https" if tls is not None else "http"
    try:
        yield f"{scheme}://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


async def answer_true(request: web.Request) -> web.Response:
    return web.json_response({"ok": True, "result": True})


def port_recorder(ports: list[int]) -> Handle:
    """A handler noting the client port of each request (one port: one connection)."""

    async def handle(request: web.Request) -> web.Response:
        assert request.transport is not None
        ports.append(request.transport.get_extra_info("peername")[1])
        return await answer_true(request)

    return handle


@contextlib.asynccontextmanager
async def slow_server(delay: float) -> AsyncIterator[str]:
    """A server that answers every request after ``delay`` seconds."""

    async def handle(request: web.Request) -> web.Response:
        await asyncio.sleep(delay)
        return await answer_true(request)

    async with serving(handle) as url:
        yield url


@contextlib.asynccontextmanager
async def started(transport: TelegramTransport) -> AsyncIterator[TelegramTransport]:
    await transport.initialize()
    try:
        yield transport
    finally:
        await transport.shutdown()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_messages_uploads_and_errors_reach_ptb_as_from_telegram() -> None:
    api = FakeBotAPI()
    await api.start()
    try:
        user = api.user(501, "Ann")
        await api.send(user, "hi")  # the chat exists once its user wrote
        async with bot_on(api.url, TelegramTransport(), api.token) as bot:
            sent = await bot.send_message(
                501, "<b>Hello</b> &amp; 50% + ünïcode = ✓", parse_mode="HTML"
            )
            assert sent.chat.id == 501
            method, params = api.requests[-1]
            assert method == "sendMessage"
            assert (
                params["text"] == "<b>Hello</b> &amp; 50% + ünïcode = ✓"
            )  # form-encoded and back intact
            # An upload (multipart) goes out as PTB's own transport sends it.
            photo = await bot.send_photo(501, b"\x89PNG\r\n\x1a\n" + b"0" * 64, caption="QR")
            assert photo.photo
            assert api.requests[-1][0] == "sendPhoto"
            # Telegram's own errors are PTB's exceptions, with Telegram's words.
            with pytest.raises(BadRequest, match=r"(?i)chat not found"):
                await bot.send_message(999_999, "nobody")
            api.fail("sendMessage", 429, "Too Many Requests: retry after 3", retry_after=3)
            with pytest.raises(RetryAfter):
                await bot.send_message(501, "too fast")
    finally:
        await api.stop()


async def test_a_slow_answer_is_a_timeout_and_a_closed_port_a_network_error() -> None:
    async with slow_server(1.0) as url, started(TelegramTransport(read_timeout=0.2)) as transport:
        with pytest.raises(TimedOut):
            await transport.post(f"{url}/bot123:abc/deleteWebhook")
    closed = f"http://127.0.0.1:{free_port()}/bot123:abc/deleteWebhook"
    async with started(TelegramTransport()) as transport:
        with pytest.raises(NetworkError) as raised:
            await transport.post(closed)
        assert not isinstance(raised.value, TimedOut)  # not delivered: safe to try again


async def test_the_pool_waits_its_timeout_for_a_free_connection() -> None:
    async with (
        slow_server(0.5) as url,
        started(TelegramTransport(1, pool_timeout=0.1)) as transport,
    ):
        call = f"{url}/bot123:abc/deleteWebhook"
        first = asyncio.create_task(transport.post(call))
        await asyncio.sleep(0.1)
        with pytest.raises(TimedOut, match="Pool timeout"):
            await transport.post(call)
        assert await first is True


async def test_it_starts_again_after_a_shutdown() -> None:
    async with slow_server(0.0) as url:
        call = f"{url}/bot123:abc/deleteWebhook"
        transport = TelegramTransport()
        for _ in range(2):
            async with started(transport):
                assert await transport.post(call) is True
        with pytest.raises(NetworkError, match="not initialized"):
            await transport.post(call)


async def test_a_file_is_downloaded_and_a_file_handle_uploaded() -> None:
    api = FakeBotAPI()
    await api.start()
    try:
        user = api.user(502, "Bea")
        await api.send(user, "hi")
        async with bot_on(api.url, TelegramTransport(), api.token) as bot:
            content = b"%PDF-1.4 " + bytes(range(256)) * 4
            with tempfile.TemporaryFile() as handle:
                handle.write(content)
                handle.seek(0)
                sent = await bot.send_document(502, handle, filename="statement.pdf")
            assert sent.document is not None
            file = await bot.get_file(sent.document.file_id)
            # retrieve(): a GET of the file's path, on the same transport.
            assert bytes(await file.download_as_bytearray()) == content
    finally:
        await api.stop()


@contextlib.asynccontextmanager
async def counting_server(delay: float) -> AsyncIterator[tuple[str, list[int]]]:
    """A server answering after ``delay``; the list holds the most requests it had at once."""
    peak = [0]
    busy = 0

    async def handle(request: web.Request) -> web.Response:
        nonlocal busy
        await request.read()
        busy += 1
        peak[0] = max(peak[0], busy)
        try:
            await asyncio.sleep(delay)
        finally:
            busy -= 1
        return await answer_true(request)

    async with serving(handle) as url:
        yield url, peak


async def test_the_outbox_window_and_replies_at_once_wait_for_no_connection() -> None:
    """The outbox sender's window (up to 50 notices on the wire at the paid rate) and
    the replies of concurrent updates all go out at once, as on PTB's pool of 256: on a
    few connections they would queue, capping the paid rate at a few sends a round trip,
    making a reply wait behind the window's notices, and failing it with "Pool timeout"
    (not retried: a TimedOut) whenever Telegram holds every connection for a second."""
    async with counting_server(0.4) as (url, peak), started(TelegramTransport()) as transport:
        call = f"{url}/bot123:abc/sendMessage"
        results = await asyncio.gather(*(transport.post(call) for _ in range(80)))
        assert results == [True] * 80
        assert peak[0] == 80


async def test_uploads_at_once_wait_for_no_connection() -> None:
    """A backup's long upload does not make a QR code's photo wait for its connection."""
    photo = RequestData([RequestParameter.from_input("photo", InputFile(b"\x89PNG" * 64))])
    async with counting_server(1.3) as (url, peak), started(TelegramTransport()) as transport:
        call = f"{url}/bot123:abc/sendPhoto"
        assert await asyncio.gather(*(transport.post(call, photo) for _ in range(3))) == [True] * 3
        assert peak[0] == 3


async def test_an_idle_connection_is_not_reused_after_its_keepalive() -> None:
    """As httpx's: an idle connection is dropped after a few seconds rather than reused
    once a NAT or firewall may have forgotten it (the request would then time out)."""
    ports: list[int] = []
    async with serving(port_recorder(ports)) as url:
        call = f"{url}/bot123:abc/getMe"
        async with started(TelegramTransport(keepalive_expiry=0.2)) as transport:
            await transport.post(call)
            await transport.post(call)
            await asyncio.sleep(0.4)
            await transport.post(call)
    assert ports[0] == ports[1] != ports[2]


async def test_a_proxy_from_the_environment_carries_the_requests(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """HTTPS_PROXY (or HTTP_PROXY, ALL_PROXY), which PTB's httpx client followed, still
    carries every request, a hosting where Telegram is blocked reaching it that way."""
    seen: list[str] = []

    async def proxy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        seen.append(head.split(b"\r\n", 1)[0].decode())
        length = next(
            (int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
             if line.lower().startswith(b"content-length:")),
            0,
        )  # fmt: skip
        await reader.readexactly(length)
        body = b'{"ok": true, "result": true}'
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
        )
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(proxy, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    for name in ("NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{port}")
    try:
        # A host that resolves nowhere: only the proxy can answer for it.
        async with started(TelegramTransport()) as transport:
            assert await transport.post("http://api.telegram.invalid/bot123:abc/getMe") is True
        assert seen == ["POST http://api.telegram.invalid/bot123:abc/getMe HTTP/1.1"]
    finally:
        server.close()
        await server.wait_closed()


def _self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, as files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


async def _over_tls(trusted: bool) -> list[int]:
    """Three requests to an HTTPS server; the client ports the server saw."""
    ports: list[int] = []
    with tempfile.TemporaryDirectory() as folder:
        cert, key = _self_signed(Path(folder))
        server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server_tls.load_cert_chain(cert, key)
        client_tls = ssl.create_default_context(cafile=str(cert) if trusted else None)
        async with (
            serving(port_recorder(ports), server_tls) as url,
            started(TelegramTransport(ssl_context=client_tls)) as transport,
        ):
            for _ in range(3):
                assert await transport.post(f"{url}/bot123:abc/getMe") is True
    return ports


async def test_requests_go_over_tls_on_one_kept_connection_and_check_the_certificate() -> None:
    ports = await _over_tls(trusted=True)
    assert len(ports) == 3 and len(set(ports)) == 1  # one connection, kept alive
    with pytest.raises(NetworkError, match="CERTIFICATE_VERIFY_FAILED"):
        await _over_tls(trusted=False)


def test_the_transport_runs_on_uvloop_as_the_bot_does() -> None:
    """``python -m bot`` runs on uvloop (bot/app.py): plain and TLS requests, a timeout."""

    async def both() -> None:
        assert await _over_tls(trusted=True)
        async with slow_server(1.0) as url, started(TelegramTransport(read_timeout=0.2)) as t:
            with pytest.raises(TimedOut):
                await t.post(f"{url}/bot123:abc/deleteWebhook")

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(both())


async def test_the_pool_reuses_its_connections_and_opens_no_more_than_its_size() -> None:
    async with counting_server(0.2) as (url, peak), started(TelegramTransport(5)) as transport:
        call = f"{url}/bot123:abc/sendMessage"
        assert await asyncio.gather(*(transport.post(call) for _ in range(20))) == [True] * 20
        assert peak[0] == 5  # the other 15 waited for a connection to come back
        pool = transport._pool
        assert pool is not None and pool._open == 5
        for _ in range(10):  # one at a time: the last one used, again and again
            assert await transport.post(call) is True
        assert pool._open == 5
