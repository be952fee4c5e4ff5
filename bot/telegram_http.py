"""The Bot API's transport: python-telegram-bot's requests sent straight through httpcore.

PTB's own transport (``HTTPXRequest``) costs more CPU on each request than the rest of a
simple command's work together (measured: ``tests/bench_replies.py``): each request passes
through httpx's client layers (auth, redirects, cookies, event hooks, its own request
and response models) for features the Bot API never uses. This sends the same
form-encoded request on httpcore's connections, the engine under httpx (already loaded
by PTB, so it costs no memory), from a pool of its own (``bot/telegram_pool.py``: why)
with PTB's limits: up to 256 connections, each idle one closed after 5 seconds.

Uploads (a photo, a document: multipart bodies) are rare and large; they go through
PTB's ``HTTPXRequest`` unchanged rather than a second multipart encoder here. So does
every request where the environment names a proxy (``HTTPS_PROXY``, ``HTTP_PROXY``,
``ALL_PROXY``, with ``NO_PROXY``), which httpx follows: where Telegram is blocked, that
is how the bot reaches it.

Timeouts keep PTB's meaning and defaults: ``connect``, ``read``, ``write`` and ``pool``
(waiting for a free connection). Errors are PTB's: a timeout is ``TimedOut`` (the
request may have been delivered), anything else that kept the request from an answer
is ``NetworkError``.
"""

from __future__ import annotations

import ssl
from typing import Any
from urllib.parse import urlencode
from urllib.request import getproxies

import httpcore
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, HTTPXRequest, RequestData

from bot.telegram_pool import ConnectionPool

# PTB's HTTPXRequest defaults, in seconds.
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 5.0
WRITE_TIMEOUT = 5.0
POOL_TIMEOUT = 1.0
# Requests on the wire at once, PTB's own limit: the outbox sender alone keeps up to 50
# notices in flight at the paid rate (jobs/notifier.py), with the replies of up to
# MAX_CONCURRENT_UPDATES updates besides. A smaller pool queues them: the paid rate is
# then capped at a pool's worth of sends a round trip, a reply waits behind the notices,
# and once Telegram holds every connection for the pool timeout a reply fails with a
# TimedOut that is not retried. Only the connections in use are opened, and scanned.
POOL_SIZE = 256
# Seconds an idle connection is kept (httpx's): after a burst the pool shrinks back, and
# no connection is reused after a NAT or firewall may have silently forgotten it.
KEEPALIVE_EXPIRY = 5.0
FORM = b"application/x-www-form-urlencoded"


class TelegramTransport(BaseRequest):
    """Form-encoded Bot API requests on one httpcore pool of ``connection_pool_size``."""

    def __init__(
        self,
        connection_pool_size: int = POOL_SIZE,
        *,
        ssl_context: ssl.SSLContext | None = None,
        connect_timeout: float = CONNECT_TIMEOUT,
        read_timeout: float = READ_TIMEOUT,
        write_timeout: float = WRITE_TIMEOUT,
        pool_timeout: float = POOL_TIMEOUT,
        keepalive_expiry: float = KEEPALIVE_EXPIRY,
    ) -> None:
        self._size = connection_pool_size
        self._keepalive_expiry = keepalive_expiry
        self._ssl = ssl_context
        self._timeouts = {
            "connect": connect_timeout,
            "read": read_timeout,
            "write": write_timeout,
            "pool": pool_timeout,
        }
        self._pool: ConnectionPool | None = None
        self._headers = [(b"User-Agent", self.USER_AGENT.encode()), (b"Content-Type", FORM)]
        self._proxied = _environment_proxy()
        # PTB's own transport, for uploads and through a proxy, with as many connections
        # (a backup's upload taking minutes must not make a QR code's photo fail with
        # "Pool timeout" a second later); made when first needed, as most processes
        # never upload through one of their two transports (about 0.5 MB each).
        self._httpx_options: dict[str, Any] = {
            "connection_pool_size": connection_pool_size,
            "connect_timeout": connect_timeout,
            "read_timeout": read_timeout,
            "write_timeout": write_timeout,
            "pool_timeout": pool_timeout,
            "httpx_kwargs": {"verify": ssl_context} if ssl_context is not None else None,
        }
        self._httpx: HTTPXRequest | None = None

    @property
    def read_timeout(self) -> float:
        return self._timeouts["read"]

    async def initialize(self) -> None:
        if self._pool is None:
            self._pool = ConnectionPool(
                self._size, ssl_context=self._ssl, keepalive_expiry=self._keepalive_expiry
            )
        if self._proxied:
            await self._fallback()

    async def shutdown(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.aclose()
        fallback, self._httpx = self._httpx, None
        if fallback is not None:
            await fallback.shutdown()

    async def _fallback(self) -> HTTPXRequest:
        """PTB's transport, made and started on first use."""
        if self._httpx is None:
            self._httpx = HTTPXRequest(**self._httpx_options)
            await self._httpx.initialize()
        return self._httpx

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._proxied or (request_data is not None and request_data.contains_files):
            fallback = await self._fallback()
            return await fallback.do_request(
                url, method, request_data, read_timeout, write_timeout, connect_timeout,
                pool_timeout,
            )  # fmt: skip
        pool = self._pool
        if pool is None:
            raise RuntimeError("This TelegramTransport is not initialized!")
        fields = request_data.json_parameters if request_data is not None else {}
        body = urlencode(fields).encode()
        headers = [*self._headers, (b"Content-Length", str(len(body)).encode())]
        timeouts = {
            "connect": _given(connect_timeout, self._timeouts["connect"]),
            "read": _given(read_timeout, self._timeouts["read"]),
            "write": _given(write_timeout, self._timeouts["write"]),
            "pool": _given(pool_timeout, self._timeouts["pool"]),
        }
        try:
            return await pool.request(method, url, headers, body, timeouts)
        except httpcore.PoolTimeout as err:
            raise TimedOut(
                "Pool timeout: all connections in the pool are in use; the request was "
                "not sent to Telegram."
            ) from err
        except httpcore.TimeoutException as err:
            raise TimedOut from err
        except (
            httpcore.NetworkError,
            httpcore.ProtocolError,
            httpcore.UnsupportedProtocol,
            httpcore.ProxyError,
        ) as err:
            raise NetworkError(f"httpcore.{err.__class__.__name__}: {err}") from err


def _environment_proxy() -> bool:
    """Whether the environment names a proxy for httpx to use (its ``trust_env``)."""
    proxies = getproxies()
    return any(proxies.get(scheme) for scheme in ("http", "https", "all"))


def _given(value: ODVInput[float], default: float) -> float | None:
    """A timeout PTB passed for this request, or the transport's own where it passed none."""
    if isinstance(value, DefaultValue):
        return default
    return value
