"""A fake Telegram Bot API server for end-to-end tests.

It listens on a free loopback port and answers the methods the bot uses with the
official Bot API shapes (``{"ok": true, "result": ...}``, errors with ``error_code`` and
``description``). Tests act as users through it (send text, commands, photos and
documents, tap inline buttons) and read back what the bot sent to each chat. The bot
under test talks to it through ``TELEGRAM_API_BASE_URL``, so its real polling loop runs.

Like Telegram, it refuses malformed requests: HTML that would not parse, callback data
over 64 bytes, empty or over-long texts, unknown chats and messages, edits that change
nothing. A test can script failures (403, 429 with ``retry_after``, 5xx) per method.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import itertools
import json
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import httpx
from aiohttp import web
from babel.messages.pofile import read_po

from bot import i18n

JSON_FIELDS = {
    "reply_markup",
    "entities",
    "caption_entities",
    "allowed_updates",
    "commands",
    "scope",
    "link_preview_options",
    "reply_parameters",
    "media",
    "prices",
}
ALLOWED_TAGS = {
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span",
    "tg-spoiler", "a", "code", "pre", "blockquote", "tg-emoji",
}  # fmt: skip
MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_ANSWER = 200  # a callback answer's text


def units(text: str) -> int:
    """Telegram measures texts in UTF-16 code units: an emoji counts twice."""
    return len(text.encode("utf-16-le")) // 2


class ApiError(Exception):
    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after


def bad_request(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


class _HtmlCheck(HTMLParser):
    """Telegram's HTML rules: known tags, balanced, no bare <, > or &."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.stack: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            raise bad_request(f'can\'t parse entities: unsupported start tag "{tag}"')
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            raise bad_request(f'can\'t parse entities: unexpected end tag "{tag}"')
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        if any(c in data for c in "<>&"):
            raise bad_request("can't parse entities: unescaped character in text")
        self.text.append(data)

    def handle_entityref(self, name: str) -> None:
        if name not in {"lt", "gt", "amp", "quot"}:
            raise bad_request(f'can\'t parse entities: unsupported entity "&{name};"')
        self.text.append("x")

    def handle_charref(self, name: str) -> None:
        self.text.append("x")


def visible_text(text: str, parse_mode: str | None) -> str:
    """The text a user would see; raises like Telegram on malformed HTML."""
    if (parse_mode or "").upper() != "HTML":
        return text
    parser = _HtmlCheck()
    parser.feed(text)
    parser.close()
    if parser.stack:
        raise bad_request(f'can\'t parse entities: unclosed tag "{parser.stack[-1]}"')
    return "".join(parser.text)


def check_markup(markup: Any) -> None:
    if markup is None:
        return
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    for row in markup.get("keyboard", []):
        for button in row:
            if not (isinstance(button, str) or button.get("text")):
                raise bad_request("keyboard button text is empty")
            request = {} if isinstance(button, str) else button.get("request_users")
            if request is not None and not isinstance(request.get("request_id"), int):
                raise bad_request("request_id must be an integer")
    for row in markup.get("inline_keyboard", []):
        for button in row:
            if not button.get("text"):
                raise bad_request("text buttons are unallowed in the inline keyboard")
            data = button.get("callback_data")
            if data is not None and not 1 <= len(data.encode()) <= 64:
                raise bad_request("BUTTON_DATA_INVALID")


@dataclass
class User:
    id: int
    first_name: str
    username: str | None = None
    language_code: str = "en"

    def as_dict(self) -> dict[str, Any]:
        user: dict[str, Any] = {
            "id": self.id,
            "is_bot": False,
            "first_name": self.first_name,
            "language_code": self.language_code,
        }
        if self.username:
            user["username"] = self.username
        return user


@dataclass
class Chat:
    id: int
    type: str
    title: str | None = None
    user: User | None = None

    def as_dict(self) -> dict[str, Any]:
        chat: dict[str, Any] = {"id": self.id, "type": self.type}
        if self.type == "private" and self.user:
            chat["first_name"] = self.user.first_name
            if self.user.username:
                chat["username"] = self.user.username
        else:
            chat["title"] = self.title
        return chat


@dataclass
class Event:
    """Something the bot did in a chat: a new message, an edit or a deletion."""

    method: str
    message: dict[str, Any]

    @property
    def text(self) -> str:
        return str(self.message.get("text") or self.message.get("caption") or "")

    @property
    def buttons(self) -> list[tuple[str, str]]:
        """(text, callback_data or url) of every inline button, in order."""
        markup = self.message.get("reply_markup") or {}
        return [
            (b["text"], b.get("callback_data") or b.get("url") or "")
            for row in markup.get("inline_keyboard", [])
            for b in row
        ]

    def key(self, msgid: str, language: str = "en", **params: Any) -> str:
        """Callback data (or url) of the one button labelled exactly ``msgid`` translated.

        ``msgid`` is a message of the shipped catalog (``bot/locales/messages.pot``), so a
        test names a UI button the way the code does, in any language, and a reworded
        English label or a changed translation cannot make it tap another button.
        """
        if msgid not in _catalog_ids():
            raise AssertionError(f"{msgid!r} is not a message of bot/locales/messages.pot")
        label = _catalogs().get(language)._(msgid, **params)
        found = [data for text, data in self.buttons if text == label]
        if len(found) != 1:
            labels = [text for text, _ in self.buttons]
            raise AssertionError(f"{len(found)} buttons labelled {label!r} in {labels}")
        return found[0]

    def button(self, label_part: str) -> str:
        """Callback data of the first button whose label contains ``label_part``.

        ONLY for labels that are operator or user data: plan and payment method names,
        usernames, ``#id`` labels. A UI button is found by its catalog message with
        :meth:`key`, never by an English word.
        """
        for text, data in self.buttons:
            if label_part.lower() in text.lower():
                return data
        raise AssertionError(f"no button like {label_part!r} in {self.buttons}")


@functools.cache
def _catalogs() -> i18n.Catalogs:
    """The shipped catalogs, without operator overrides; loaded once per test run."""
    return i18n.load()


@functools.cache
def _catalog_ids() -> frozenset[str]:
    with (i18n.LOCALES_DIR / "messages.pot").open("rb") as file:
        return frozenset(m.id if isinstance(m.id, str) else m.id[0] for m in read_po(file) if m.id)


@dataclass
class ScriptedFailure:
    method: str
    code: int
    description: str
    chat_id: int | None = None
    retry_after: int | None = None
    times: int = 1


@dataclass
class _ChatLog:
    chat: Chat
    messages: dict[int, dict[str, Any]] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    read: int = 0
    next_message_id: int = 1


class FakeBotAPI:
    def __init__(self, token: str = "123456:TEST-token-abcdefghijklmnopqrstuv") -> None:
        self.token = token
        self.bot = {
            "id": int(token.split(":")[0]),
            "is_bot": True,
            "first_name": "Reseller Bot",
            "username": "reseller_test_bot",
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.callback_answers: dict[str, dict[str, Any]] = {}
        self.commands: list[dict[str, Any]] = []  # the default menu, for any language
        # Every menu set, by (scope type, chat id, language code), as Telegram keeps them.
        self.command_menus: dict[tuple[str, int | None, str], list[dict[str, Any]]] = {}
        self.failures: list[ScriptedFailure] = []
        # Optional flood control like Telegram's: over this many sends a second, a 429.
        self.flood_limit: int | None = None
        self.flood_429s = 0
        self._recent_sends: collections.deque[float] = collections.deque()
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._callback_ids = itertools.count(1)
        self._file_ids = itertools.count(1)
        self._files: dict[str, tuple[bytes, str]] = {}
        self._chats: dict[int, _ChatLog] = {}
        self._changed = asyncio.Condition()
        # setWebhook's parameters while a webhook is set; updates are then posted to it.
        self.webhook: dict[str, Any] | None = None
        self.webhook_answers: list[int] = []  # HTTP status of each delivery
        self._runner: web.AppRunner | None = None
        self.url = ""
        # Payments in Telegram Stars (see "payments" below).
        self.invoices: list[dict[str, Any]] = []  # every sendInvoice, as sent
        self.pre_checkout_answers: dict[str, dict[str, Any]] = {}
        self.star_transactions: list[dict[str, Any]] = []  # StarTransaction objects
        self._charge_ids = itertools.count(1)
        self._invoice_payloads: dict[tuple[int, int], str] = {}
        self.invoice_links: dict[str, dict[str, Any]] = {}  # createInvoiceLink's, by link
        # Stars subscriptions paid through a link: the payer, first charge id, period end.
        self.subscriptions: dict[str, dict[str, Any]] = {}

    # --- lifecycle ----------------------------------------------------------------

    async def start(self) -> str:
        app = web.Application(client_max_size=50 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.*}", self._file)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def stop(self) -> None:
        async with self._changed:
            self._changed.notify_all()
        if self._runner:
            await self._runner.cleanup()

    # --- acting as users ----------------------------------------------------------

    def user(self, user_id: int, first_name: str = "User", username: str | None = None) -> User:
        user = User(user_id, first_name, username)
        self._chats.setdefault(user_id, _ChatLog(Chat(user_id, "private", user=user)))
        return user

    def group(self, chat_id: int, title: str = "Admins") -> Chat:
        chat = Chat(chat_id, "supergroup", title=title)
        self._chats.setdefault(chat_id, _ChatLog(chat))
        return chat

    def _chat_of(self, user: User, chat_id: int | None) -> Chat:
        log = self._chats[chat_id if chat_id is not None else user.id]
        return log.chat

    async def _push(self, update: dict[str, Any]) -> dict[str, Any]:
        update["update_id"] = next(self._update_ids)
        if self.webhook is not None:
            await self._deliver(update)
            return update
        async with self._changed:
            self._updates.append(update)
            self._changed.notify_all()
        return update

    def _user_message(self, user: User, chat_id: int | None, **content: Any) -> dict[str, Any]:
        chat = self._chat_of(user, chat_id)
        log = self._chats[chat.id]
        message = {
            "message_id": log.next_message_id,
            "date": int(time.time()),
            "chat": chat.as_dict(),
            "from": user.as_dict(),
            **content,
        }
        log.next_message_id += 1
        log.messages[message["message_id"]] = message
        return message

    async def send(
        self, user: User, text: str, chat_id: int | None = None,
        reply_to: Event | dict[str, Any] | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        """The user sends ``text`` (as a reply to ``reply_to``, if given).

        A leading /command gets its bot_command entity, as Telegram adds it.
        """
        content: dict[str, Any] = {"text": text}
        if reply_to is not None:
            replied = reply_to.message if isinstance(reply_to, Event) else reply_to
            log = self._chats[replied["chat"]["id"]]
            current = log.messages.get(replied["message_id"], replied)
            content["reply_to_message"] = json.loads(json.dumps(current))
        if text.startswith("/"):
            length = len(text.split(maxsplit=1)[0])
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        message = self._user_message(user, chat_id, **content)
        await self._push({"message": message})
        return message

    def _store_file(self, content: bytes, path: str) -> tuple[str, str]:
        n = next(self._file_ids)
        file_id = f"FILE{n:06d}-{path.replace('/', '_')}"
        self._files[file_id] = (content, path)
        return file_id, f"U{n:06d}"

    async def send_photo(
        self, user: User, caption: str | None = None, chat_id: int | None = None,
        content: bytes = b"\x89PNG fake photo",
    ) -> dict[str, Any]:  # fmt: skip
        file_id, unique = self._store_file(content, f"photos/file_{next(self._file_ids)}.jpg")
        sizes = [
            {"file_id": file_id, "file_unique_id": unique, "width": w, "height": w,
             "file_size": len(content)}
            for w in (90, 320, 800)
        ]  # fmt: skip
        extra = {"caption": caption} if caption else {}
        message = self._user_message(user, chat_id, photo=sizes, **extra)
        await self._push({"message": message})
        return message

    async def send_document(
        self, user: User, file_name: str = "receipt.pdf", mime_type: str = "application/pdf",
        content: bytes = b"%PDF-1.4 fake", chat_id: int | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        file_id, unique = self._store_file(content, f"documents/{file_name}")
        document = {
            "file_id": file_id, "file_unique_id": unique, "file_name": file_name,
            "mime_type": mime_type, "file_size": len(content),
        }  # fmt: skip
        message = self._user_message(user, chat_id, document=document)
        await self._push({"message": message})
        return message

    async def send_sticker(self, user: User, chat_id: int | None = None) -> dict[str, Any]:
        sticker = {
            "file_id": "STICKER1", "file_unique_id": "S1", "type": "regular",
            "width": 512, "height": 512, "is_animated": False, "is_video": False,
        }  # fmt: skip
        message = self._user_message(user, chat_id, sticker=sticker)
        await self._push({"message": message})
        return message

    async def send_users_shared(
        self, user: User, request_id: int, shared_users: list[User]
    ) -> dict[str, Any]:
        """The user picks people with a ``request_users`` keyboard button: Telegram sends
        a service message with their ids (and the name and username asked for)."""
        users = []
        for shared in shared_users:
            one: dict[str, Any] = {"user_id": shared.id, "first_name": shared.first_name}
            if shared.username:
                one["username"] = shared.username
            users.append(one)
        content = {"users_shared": {"request_id": request_id, "users": users}}
        message = self._user_message(user, None, **content)
        await self._push({"message": message})
        return message

    async def tap(self, user: User, event_or_message: Event | dict[str, Any], data: str) -> str:
        """The user taps an inline button carrying ``data`` under a bot message.

        ``data`` need not be on the message: a modified client can send anything.
        """
        message = (
            event_or_message.message if isinstance(event_or_message, Event) else event_or_message
        )
        chat_id = message["chat"]["id"]
        current = json.loads(
            json.dumps(self._chats[chat_id].messages.get(message["message_id"], message))
        )
        query_id = f"cq{next(self._callback_ids)}"
        await self._push(
            {
                "callback_query": {
                    "id": query_id,
                    "from": user.as_dict(),
                    "message": current,
                    "chat_instance": f"ci{chat_id}",
                    "data": data,
                }
            }
        )
        return query_id

    async def member_update(
        self, user: User, chat_id: int, old: str = "left", new: str = "member"
    ) -> dict[str, Any]:
        """``user`` changes the bot's membership of a chat (``my_chat_member``): adds it to
        a group (the default), removes it (``left``), or in private blocks it (``kicked``)."""
        status = {"member": {}, "left": {}, "kicked": {"until_date": 0}}
        change = {
            "chat": self._chats[chat_id].chat.as_dict(),
            "from": user.as_dict(),
            "date": int(time.time()),
            "old_chat_member": {"status": old, "user": self.bot, **status[old]},
            "new_chat_member": {"status": new, "user": self.bot, **status[new]},
        }
        return await self._push({"my_chat_member": change})

    # --- reading what the bot did -----------------------------------------------------

    async def next_event(self, chat_id: int, within: float = 10.0) -> Event:
        """The next thing the bot did in this chat that the test has not read yet."""
        log = self._chats[chat_id]

        def ready() -> bool:
            return log.read < len(log.events)

        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(ready), within)
            except TimeoutError:
                raise AssertionError(
                    f"the bot did nothing in chat {chat_id} within {within}s"
                ) from None
        event = log.events[log.read]
        log.read += 1
        return event

    async def answer(self, query_id: str, within: float = 10.0) -> dict[str, Any]:
        """The bot's answerCallbackQuery for this tap."""
        async with self._changed:
            try:
                await asyncio.wait_for(
                    self._changed.wait_for(lambda: query_id in self.callback_answers), within
                )
            except TimeoutError:
                raise AssertionError(
                    f"callback {query_id} was not answered within {within}s"
                ) from None
        return self.callback_answers[query_id]

    def unconfirmed_updates(self) -> int:
        """Updates the bot has not confirmed by asking from a later offset: a bot killed
        now is sent them again, as by Telegram."""
        return len(self._updates)

    def unread(self, chat_id: int) -> list[Event]:
        log = self._chats[chat_id]
        return log.events[log.read :]

    def events(self, chat_id: int) -> list[Event]:
        return list(self._chats[chat_id].events)

    def message(self, chat_id: int, message_id: int) -> dict[str, Any] | None:
        return self._chats[chat_id].messages.get(message_id)

    def file_content(self, file_id: str) -> bytes:
        """The bytes of a file the bot uploaded (e.g. a photo it sent) or a user sent."""
        return self._files[file_id][0]

    def fail(
        self, method: str, code: int, description: str, *, chat_id: int | None = None,
        retry_after: int | None = None, times: int = 1,
    ) -> None:  # fmt: skip
        """Make the next ``times`` calls of ``method`` (to ``chat_id``) fail like Telegram."""
        self.failures.append(
            ScriptedFailure(method, code, description, chat_id, retry_after, times)
        )

    # --- the HTTP side ----------------------------------------------------------------

    async def _params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            body = await request.json()
            params.update(body or {})
            return params
        if request.can_read_body:
            form = await request.post()
            for name, value in form.items():
                if isinstance(value, web.FileField):
                    params[name] = ("upload", value.file.read(), value.filename)
                elif name in JSON_FIELDS and isinstance(value, str):
                    params[name] = json.loads(value)
                else:
                    params[name] = value
        return params

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _error(ApiError(401, "Unauthorized"))
        method = request.match_info["method"]
        params = await self._params(request)
        self.requests.append((method, params))
        handler = getattr(self, f"_m_{method.lower()}", None)
        if handler is None:
            return _error(ApiError(404, "Not Found"))
        try:
            self._scripted_failure(method, params)
            self._flood_control(method)
            result = await handler(params)
        except ApiError as exc:
            return _error(exc)
        return web.json_response({"ok": True, "result": result})

    def _flood_control(self, method: str) -> None:
        if self.flood_limit is None or not method.lower().startswith("send"):
            return
        now = time.monotonic()
        while self._recent_sends and now - self._recent_sends[0] > 1.0:
            self._recent_sends.popleft()
        if len(self._recent_sends) >= self.flood_limit:
            self.flood_429s += 1
            raise ApiError(429, "Too Many Requests: retry after 1", retry_after=1)
        self._recent_sends.append(now)

    def _scripted_failure(self, method: str, params: dict[str, Any]) -> None:
        for failure in self.failures:
            if failure.method != method or failure.times <= 0:
                continue
            if failure.chat_id is not None and _int(params.get("chat_id")) != failure.chat_id:
                continue
            failure.times -= 1
            raise ApiError(failure.code, failure.description, failure.retry_after)

    async def _file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        path = request.match_info["path"]
        for content, file_path in self._files.values():
            if file_path == path:
                return web.Response(body=content)
        return web.Response(status=404)

    # --- methods --------------------------------------------------------------------------

    async def _m_getme(self, params: dict[str, Any]) -> Any:
        return self.bot

    async def _deliver(self, update: dict[str, Any]) -> None:
        """POST the update to the webhook, with its secret token, as Telegram does."""
        assert self.webhook is not None
        headers = {"Content-Type": "application/json"}
        if self.webhook.get("secret_token"):
            headers["X-Telegram-Bot-Api-Secret-Token"] = self.webhook["secret_token"]
        async with httpx.AsyncClient() as client:
            answer = await client.post(
                self.webhook["url"], content=json.dumps(update), headers=headers
            )
        self.webhook_answers.append(answer.status_code)

    async def _m_setwebhook(self, params: dict[str, Any]) -> Any:
        if not str(params.get("url", "")).startswith(("https://", "http://")):
            raise bad_request("bad webhook: an HTTPS URL must be provided for webhook")
        self.webhook = dict(params)
        return True

    async def _m_deletewebhook(self, params: dict[str, Any]) -> Any:
        self.webhook = None
        return True

    async def _m_getwebhookinfo(self, params: dict[str, Any]) -> Any:
        url = self.webhook["url"] if self.webhook else ""
        return {"url": url, "has_custom_certificate": False, "pending_update_count": 0}

    async def _m_setmycommands(self, params: dict[str, Any]) -> Any:
        commands = params.get("commands") or []
        for command in commands:
            if (
                not 1 <= len(command["command"]) <= 32
                or command["command"] != command["command"].lower()
            ):
                raise bad_request("BOT_COMMAND_INVALID")
        key = _commands_key(params)
        self.command_menus[key] = commands
        if key == ("default", None, ""):
            self.commands = commands
        return True

    async def _m_getmycommands(self, params: dict[str, Any]) -> Any:
        return self.command_menus.get(_commands_key(params), [])

    async def _m_deletemycommands(self, params: dict[str, Any]) -> Any:
        key = _commands_key(params)
        self.command_menus.pop(key, None)
        if key == ("default", None, ""):
            self.commands = []
        return True

    async def _m_getupdates(self, params: dict[str, Any]) -> Any:
        offset = _int(params.get("offset")) or 0
        limit = _int(params.get("limit")) or 100
        timeout = float(params.get("timeout") or 0)
        async with self._changed:
            if offset:
                # Confirms every update below the offset, as Telegram does.
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
            if not self._updates and timeout > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        self._changed.wait_for(lambda: bool(self._updates)), timeout
                    )
            return self._updates[:limit]

    def _log(self, chat_id: Any) -> _ChatLog:
        chat = _int(chat_id)
        if chat is None or chat not in self._chats:
            raise bad_request("chat not found")
        return self._chats[chat]

    async def _record(self, log: _ChatLog, method: str, message: dict[str, Any]) -> None:
        async with self._changed:
            log.events.append(Event(method, json.loads(json.dumps(message))))
            self._changed.notify_all()

    def _new_bot_message(
        self, log: _ChatLog, params: dict[str, Any], **content: Any
    ) -> dict[str, Any]:
        markup = params.get("reply_markup")
        check_markup(markup)
        message: dict[str, Any] = {
            "message_id": log.next_message_id,
            "date": int(time.time()),
            "chat": log.chat.as_dict(),
            "from": self.bot,
            **content,
        }
        if markup and markup.get("inline_keyboard"):
            message["reply_markup"] = {"inline_keyboard": markup["inline_keyboard"]}
        elif markup and ("keyboard" in markup or "remove_keyboard" in markup):
            # A reply keyboard is not part of the message in Telegram: keep what the
            # user's client was shown with it, for tests to read.
            message["reply_keyboard"] = markup
        log.next_message_id += 1
        log.messages[message["message_id"]] = message
        return message

    async def _m_sendmessage(self, params: dict[str, Any]) -> Any:
        log = self._log(params.get("chat_id"))
        text = str(params.get("text") or "")
        shown = visible_text(text, params.get("parse_mode"))
        if not shown.strip():
            raise bad_request("message text is empty")
        if units(shown) > MAX_TEXT:
            raise bad_request("message is too long")
        message = self._new_bot_message(log, params, text=text)
        await self._record(log, "sendMessage", message)
        return message

    def _caption(self, params: dict[str, Any]) -> dict[str, Any]:
        caption = params.get("caption")
        if not caption:
            return {}
        if units(visible_text(caption, params.get("parse_mode"))) > MAX_CAPTION:
            raise bad_request("message caption is too long")
        return {"caption": caption}

    def _file_ref(self, value: Any, default_name: str) -> tuple[str, str, int, str]:
        """(file_id, unique id, size, name) of an upload or an existing file_id."""
        if isinstance(value, tuple) and value[0] == "upload":
            _, content, filename = value
            file_id, unique = self._store_file(content, f"uploads/{filename or default_name}")
            return file_id, unique, len(content), filename or default_name
        file_id = str(value)
        if file_id not in self._files:
            raise bad_request("wrong file identifier/HTTP URL specified")
        content, path = self._files[file_id]
        return file_id, f"U{file_id}", len(content), path.rsplit("/", 1)[-1]

    async def _m_sendphoto(self, params: dict[str, Any]) -> Any:
        log = self._log(params.get("chat_id"))
        file_id, unique, size, _ = self._file_ref(params.get("photo"), "photo.jpg")
        photo = [{"file_id": file_id, "file_unique_id": unique, "width": 800, "height": 800,
                  "file_size": size}]  # fmt: skip
        message = self._new_bot_message(log, params, photo=photo, **self._caption(params))
        await self._record(log, "sendPhoto", message)
        return message

    async def _m_senddocument(self, params: dict[str, Any]) -> Any:
        log = self._log(params.get("chat_id"))
        file_id, unique, size, name = self._file_ref(params.get("document"), "document")
        document = {"file_id": file_id, "file_unique_id": unique, "file_name": name,
                    "file_size": size}  # fmt: skip
        message = self._new_bot_message(log, params, document=document, **self._caption(params))
        await self._record(log, "sendDocument", message)
        return message

    def _bot_message(self, log: _ChatLog, params: dict[str, Any]) -> dict[str, Any]:
        message = log.messages.get(_int(params.get("message_id")) or 0)
        if message is None:
            raise bad_request("message to edit not found")
        if message["from"]["id"] != self.bot["id"]:
            raise bad_request("message can't be edited")
        if "reply_keyboard" in message:
            # Only messages without reply_markup or with an inline keyboard can be edited.
            raise bad_request("message can't be edited")
        return message

    async def _m_editmessagetext(self, params: dict[str, Any]) -> Any:
        log = self._log(params.get("chat_id"))
        message = self._bot_message(log, params)
        if "text" not in message:
            raise bad_request("there is no text in the message to edit")
        text = str(params.get("text") or "")
        shown = visible_text(text, params.get("parse_mode"))
        if not shown.strip():
            raise bad_request("message text is empty")
        if units(shown) > MAX_TEXT:
            raise bad_request("message is too long")
        markup = params.get("reply_markup")
        check_markup(markup)
        new_markup = {"inline_keyboard": markup["inline_keyboard"]} if markup else None
        if text == message["text"] and new_markup == message.get("reply_markup"):
            raise bad_request(
                "message is not modified: specified new message content and reply markup "
                "are exactly the same as a current content and reply markup of the message"
            )
        message["text"] = text
        message["edit_date"] = int(time.time())
        if new_markup and new_markup.get("inline_keyboard"):
            message["reply_markup"] = new_markup
        else:
            message.pop("reply_markup", None)
        await self._record(log, "editMessageText", message)
        return message

    async def _m_editmessagecaption(self, params: dict[str, Any]) -> Any:
        log = self._log(params.get("chat_id"))
        message = self._bot_message(log, params)
        caption = self._caption(params).get("caption")
        markup = params.get("reply_markup")
        check_markup(markup)
        if caption is not None:
            message["caption"] = caption
        if markup and markup.get("inline_keyboard"):
            message["reply_markup"] = {"inline_keyboard": markup["inline_keyboard"]}
        else:
            message.pop("reply_markup", None)
        message["edit_date"] = int(time.time())
        await self._record(log, "editMessageCaption", message)
        return message

    async def _m_editmessagereplymarkup(self, params: dict[str, Any]) -> Any:
        log = self._log(params.get("chat_id"))
        message = self._bot_message(log, params)
        markup = params.get("reply_markup")
        check_markup(markup)
        new_markup = (
            {"inline_keyboard": markup["inline_keyboard"]}
            if markup and markup.get("inline_keyboard")
            else None
        )
        if new_markup == message.get("reply_markup"):
            raise bad_request("message is not modified")
        if new_markup:
            message["reply_markup"] = new_markup
        else:
            message.pop("reply_markup", None)
        await self._record(log, "editMessageReplyMarkup", message)
        return message

    async def _m_deletemessage(self, params: dict[str, Any]) -> Any:
        log = self._log(params.get("chat_id"))
        message = log.messages.pop(_int(params.get("message_id")) or 0, None)
        if message is None:
            raise bad_request("message to delete not found")
        await self._record(log, "deleteMessage", message)
        return True

    async def _m_answercallbackquery(self, params: dict[str, Any]) -> Any:
        query_id = str(params.get("callback_query_id"))
        if query_id in self.callback_answers:
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        if units(str(params.get("text") or "")) > MAX_ANSWER:
            raise bad_request("MESSAGE_TOO_LONG")
        async with self._changed:
            self.callback_answers[query_id] = params
            self._changed.notify_all()
        return True

    async def _m_sendchataction(self, params: dict[str, Any]) -> Any:
        self._log(params.get("chat_id"))
        return True

    async def _m_getfile(self, params: dict[str, Any]) -> Any:
        file_id = str(params.get("file_id"))
        if file_id not in self._files:
            raise bad_request("invalid file_id")
        content, path = self._files[file_id]
        return {"file_id": file_id, "file_unique_id": f"U{file_id}", "file_size": len(content),
                "file_path": path}  # fmt: skip

    async def _m_close(self, params: dict[str, Any]) -> Any:
        return True

    async def _m_logout(self, params: dict[str, Any]) -> Any:
        return True

    # --- payments (Telegram Stars) ------------------------------------------------------

    def _check_invoice(self, params: dict[str, Any]) -> dict[str, Any]:
        """Refuse an invoice as Telegram does; the ``invoice`` part of its message."""
        title, description = str(params.get("title") or ""), str(params.get("description") or "")
        payload = str(params.get("payload") or "")
        if not 1 <= len(title) <= 32:
            raise bad_request("TITLE_INVALID")
        if not 1 <= len(description) <= 255:
            raise bad_request("DESCRIPTION_INVALID")
        if not 1 <= len(payload.encode()) <= 128:
            raise bad_request("INVOICE_PAYLOAD_INVALID")
        currency, prices = params.get("currency"), params.get("prices")
        if currency != "XTR":
            raise bad_request("CURRENCY_INVALID")  # the fake takes Stars only
        if params.get("provider_token"):
            raise bad_request("PAYMENT_PROVIDER_INVALID")
        if not isinstance(prices, list) or len(prices) != 1:
            raise bad_request("CURRENCY_TOTAL_AMOUNT_INVALID")
        amount = prices[0].get("amount")
        if not isinstance(amount, int) or isinstance(amount, bool) or not 1 <= amount <= 100_000:
            raise bad_request("CURRENCY_TOTAL_AMOUNT_INVALID")
        return {"title": title, "description": description, "start_parameter": "",
                "currency": currency, "total_amount": amount}  # fmt: skip

    async def _m_sendinvoice(self, params: dict[str, Any]) -> Any:
        log = self._log(params.get("chat_id"))
        invoice = self._check_invoice(params)
        self.invoices.append(params)
        message = self._new_bot_message(log, params, invoice=invoice)
        # The payload is not part of the message (only of its updates): kept aside.
        self._invoice_payloads[(log.chat.id, message["message_id"])] = str(params["payload"])
        await self._record(log, "sendInvoice", message)
        return message

    def invoice_payload(self, invoice: Event) -> str:
        """The payload the bot gave ``invoice`` (Telegram shows it only in its updates)."""
        chat_id, message_id = invoice.message["chat"]["id"], invoice.message["message_id"]
        return self._invoice_payloads[(chat_id, message_id)]

    async def _m_createinvoicelink(self, params: dict[str, Any]) -> Any:
        invoice = self._check_invoice(params)
        if params.get("subscription_period") is not None:
            # Telegram allows one period, 30 days, and at most 10000 Stars a period.
            if _int(params["subscription_period"]) != SUBSCRIPTION_PERIOD:
                raise bad_request("SUBSCRIPTION_PERIOD_INVALID")
            if invoice["total_amount"] > 10_000:
                raise bad_request("SUBSCRIPTION_PRICE_INVALID")
        self.invoices.append(params)
        link = f"https://t.me/$invoice{len(self.invoices)}"
        self.invoice_links[link] = {**params, "invoice": invoice}
        return link

    async def _m_edituserstarsubscription(self, params: dict[str, Any]) -> Any:
        charge_id = str(params.get("telegram_payment_charge_id") or "")
        user_id = _int(params.get("user_id"))
        found = next(
            (s for s in self.subscriptions.values()
             if s["first_charge_id"] == charge_id and s["user_id"] == user_id),
            None,
        )  # fmt: skip
        if found is None:
            raise bad_request("CHARGE_ID_INVALID")
        found["canceled"] = params.get("is_canceled") in (True, "true", "True", "1")
        return True

    async def _m_answerprecheckoutquery(self, params: dict[str, Any]) -> Any:
        query_id = str(params.get("pre_checkout_query_id"))
        ok = params.get("ok") in (True, "true", "True", "1")
        if query_id in self.pre_checkout_answers:
            raise bad_request("QUERY_ID_INVALID")
        if not ok and not params.get("error_message"):
            raise bad_request("ERROR_MESSAGE_EMPTY")
        async with self._changed:
            self.pre_checkout_answers[query_id] = {**params, "ok": ok}
            self._changed.notify_all()
        return True

    def _charge(self, charge_id: str) -> dict[str, Any] | None:
        for tx in self.star_transactions:
            if tx["id"] == charge_id and "source" in tx:
                return tx
        return None

    def _refunded(self, charge_id: str) -> bool:
        return any(tx["id"] == charge_id and "receiver" in tx for tx in self.star_transactions)

    async def _m_refundstarpayment(self, params: dict[str, Any]) -> Any:
        charge_id = str(params.get("telegram_payment_charge_id") or "")
        user_id = _int(params.get("user_id"))
        paid = self._charge(charge_id)
        if paid is None or paid["source"]["user"]["id"] != user_id:
            raise bad_request("CHARGE_NOT_FOUND")
        if self._refunded(charge_id):
            # Telegram's answer to a charge refunded before (tdlib/telegram-bot-api#690):
            # {"ok": false, "error_code": 400, "description": "Bad Request:
            # CHARGE_ALREADY_REFUNDED"}.
            raise bad_request("CHARGE_ALREADY_REFUNDED")
        self._refund_transaction(paid)
        return True

    def _refund_transaction(self, paid: dict[str, Any]) -> None:
        receiver = {**paid["source"]}
        receiver.pop("invoice_payload", None)
        self.star_transactions.append(
            {"id": paid["id"], "amount": paid["amount"], "date": int(time.time()),
             "receiver": receiver}
        )  # fmt: skip

    async def _m_getstartransactions(self, params: dict[str, Any]) -> Any:
        offset = _int(params.get("offset")) or 0
        limit = _int(params.get("limit")) or 100
        if not 1 <= limit <= 100 or offset < 0:
            raise bad_request("LIMIT_INVALID")
        return {"transactions": self.star_transactions[offset : offset + limit]}

    # --- acting as a paying user -----------------------------------------------------------

    async def pre_checkout(
        self, user: User, invoice: Event, *, total_amount: int | None = None
    ) -> dict[str, Any]:
        """``user`` taps Pay on ``invoice``: the pre-checkout query, and the bot's answer
        (it must come within Telegram's 10 seconds)."""
        details = invoice.message["invoice"]
        return await self._pre_checkout(
            user, details["currency"], total_amount or details["total_amount"],
            self.invoice_payload(invoice),
        )  # fmt: skip

    async def _pre_checkout(
        self, user: User, currency: str, total_amount: int, payload: str
    ) -> dict[str, Any]:
        query_id = f"pcq{next(self._callback_ids)}"
        await self._push(
            {
                "pre_checkout_query": {
                    "id": query_id,
                    "from": user.as_dict(),
                    "currency": currency,
                    "total_amount": total_amount,
                    "invoice_payload": payload,
                }
            }
        )
        async with self._changed:
            try:
                await asyncio.wait_for(
                    self._changed.wait_for(lambda: query_id in self.pre_checkout_answers), 10
                )
            except TimeoutError:
                raise AssertionError(f"pre-checkout {query_id} not answered in 10 s") from None
        return self.pre_checkout_answers[query_id]

    async def pay(self, user: User, invoice: Event) -> dict[str, Any]:
        """The whole payment: the pre-checkout (which must be answered ok), then the
        message with ``successful_payment``, as Telegram delivers it. Returns the message
        (``deliver_again`` sends the same update once more)."""
        answered = await self.pre_checkout(user, invoice)
        if not answered["ok"]:
            raise AssertionError(f"the bot refused the payment: {answered}")
        return await self.confirm(user, invoice)

    async def confirm(self, user: User, invoice: Event) -> dict[str, Any]:
        """Telegram takes the Stars of an invoice whose pre-checkout was answered ok
        earlier (``pre_checkout``): the message with ``successful_payment``. Two devices
        may both pass the pre-checkout before either payment arrives."""
        message = self._user_message(user, None, successful_payment=self.charge(user, invoice))
        await self._push({"message": message})
        return message

    def charge(self, user: User, invoice: Event) -> dict[str, Any]:
        """Telegram takes the Stars of an invoice (its transaction listed, refundable) and
        returns the ``successful_payment`` it would deliver, without delivering it: a bot
        that stopped right after recording the payment, say."""
        details = invoice.message["invoice"]
        charge_id = f"stxFAKE{next(self._charge_ids):06d}charge"
        payload = self.invoice_payload(invoice)
        self.star_transactions.append(
            {
                "id": charge_id,
                "amount": details["total_amount"],
                "date": int(time.time()),
                "source": {"type": "user", "transaction_type": "invoice_payment",
                           "user": user.as_dict(), "invoice_payload": payload},
            }
        )  # fmt: skip
        payment = {"currency": details["currency"], "total_amount": details["total_amount"],
                   "invoice_payload": payload, "telegram_payment_charge_id": charge_id,
                   "provider_payment_charge_id": f"prov{charge_id}"}  # fmt: skip
        return payment

    async def _charge_subscription(self, user: User, link: str, *, first: bool) -> dict[str, Any]:
        params = self.invoice_links[link]
        amount, payload = params["invoice"]["total_amount"], str(params["payload"])
        period = SUBSCRIPTION_PERIOD
        charge_id = f"stxFAKE{next(self._charge_ids):06d}sub"
        self.star_transactions.append(
            {
                "id": charge_id, "amount": amount, "date": int(time.time()),
                "source": {"type": "user", "transaction_type": "invoice_payment",
                           "user": user.as_dict(), "invoice_payload": payload,
                           "subscription_period": period},
            }
        )  # fmt: skip
        state = self.subscriptions.setdefault(
            link, {"user_id": user.id, "first_charge_id": charge_id, "canceled": False,
                   "until": int(time.time())},
        )  # fmt: skip
        state["until"] = max(state["until"], int(time.time())) + period
        payment = {"currency": "XTR", "total_amount": amount, "invoice_payload": payload,
                   "telegram_payment_charge_id": charge_id,
                   "provider_payment_charge_id": f"prov{charge_id}",
                   "subscription_expiration_date": state["until"], "is_recurring": True,
                   **({"is_first_recurring": True} if first else {})}  # fmt: skip
        message = self._user_message(user, None, successful_payment=payment)
        await self._push({"message": message})
        return message

    async def subscribe(self, user: User, link: str) -> dict[str, Any]:
        """``user`` opens a subscription's invoice link and pays: the pre-checkout (which
        must be answered ok), then the first charge (``is_first_recurring``)."""
        params = self.invoice_links[link]
        assert _int(params.get("subscription_period")) == SUBSCRIPTION_PERIOD, params
        answered = await self._pre_checkout(
            user, "XTR", params["invoice"]["total_amount"], str(params["payload"])
        )
        if not answered["ok"]:
            raise AssertionError(f"the bot refused the subscription: {answered}")
        return await self._charge_subscription(user, link, first=True)

    async def next_period(self, user: User, link: str) -> dict[str, Any] | None:
        """A period later Telegram charges the subscription again (no pre-checkout); not
        once the bot cancelled it (None then)."""
        state = self.subscriptions[link]
        if state["canceled"]:
            return None
        return await self._charge_subscription(user, link, first=False)

    async def deliver_again(self, message: dict[str, Any]) -> None:
        """The same message delivered once more (Telegram may repeat an update)."""
        await self._push({"message": json.loads(json.dumps(message))})

    async def refund_by_telegram(self, user: User, charge_id: str) -> dict[str, Any]:
        """Telegram refunds a payment itself: the Stars go back and the bot gets a
        ``refunded_payment`` service message."""
        paid = self._charge(charge_id)
        assert paid is not None, charge_id
        self._refund_transaction(paid)
        refunded = {"currency": "XTR", "total_amount": paid["amount"],
                    "invoice_payload": paid["source"]["invoice_payload"],
                    "telegram_payment_charge_id": charge_id}  # fmt: skip
        message = self._user_message(user, None, refunded_payment=refunded)
        await self._push({"message": message})
        return message


SUBSCRIPTION_PERIOD = 2_592_000  # 30 days, the only period Telegram accepts


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _error(exc: ApiError) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": exc.code, "description": exc.description}
    if exc.retry_after is not None:
        body["parameters"] = {"retry_after": exc.retry_after}
    return web.json_response(body, status=exc.code)


def _commands_key(params: dict[str, Any]) -> tuple[str, int | None, str]:
    scope = params.get("scope") or {"type": "default"}
    if isinstance(scope, str):
        scope = json.loads(scope)
    chat_id = scope.get("chat_id")
    return (
        scope["type"],
        int(chat_id) if chat_id is not None else None,
        params.get("language_code") or "",
    )
