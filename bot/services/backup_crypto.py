"""Encrypted backup files: the database copy sealed with the ``SECRET_KEY`` Fernet key.

The same key and the same Fernet scheme that seal panel credentials (``bot.services.panels``),
applied to the file in chunks so a large database is never held whole in memory:

    MAGIC, then for each chunk: its token's length (4 bytes, big-endian) and a Fernet token
    of [chunk number (8 bytes, big-endian)] [1 if it is the last chunk, else 0] [the bytes].

Fernet authenticates each token; the numbers and the last-chunk flag make a reordered,
repeated or cut file fail to open instead of opening as a different database.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

MAGIC = b"RESELLER-BOT-BACKUP-FERNET-1\n"
CHUNK = 1024 * 1024
MAKE_KEY = (
    "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
)
_LENGTH = struct.Struct(">I")
_HEAD = struct.Struct(">QB")


class CryptoError(Exception):
    """An encrypted backup could not be written or read; ``code`` says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def fernet(key: str | None) -> Fernet:
    """The Fernet of ``SECRET_KEY``, or a clear error when it is missing or malformed."""
    if not key:
        raise CryptoError(
            "no_key",
            "SECRET_KEY is not set, so the backup cannot be encrypted or decrypted. "
            f"Make a key with: {MAKE_KEY} and put it in .env as SECRET_KEY=<key>",
        )
    try:
        return Fernet(key.encode())
    except (ValueError, TypeError) as exc:
        raise CryptoError(
            "bad_key", f"SECRET_KEY is not a Fernet key; make one with: {MAKE_KEY}"
        ) from exc


def is_encrypted(path: Path) -> bool:
    with path.open("rb") as file:
        return file.read(len(MAGIC)) == MAGIC


def encrypt_file(source: Path, target: Path, key: str | None) -> None:
    """Write ``source`` sealed into ``target`` (created readable by its owner only)."""
    box = fernet(key)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with source.open("rb") as plain, os.fdopen(fd, "wb") as sealed:
        sealed.write(MAGIC)
        number = 0
        chunk = plain.read(CHUNK)
        while True:
            following = plain.read(CHUNK)
            last = not following
            token = box.encrypt(_HEAD.pack(number, int(last)) + chunk)
            sealed.write(_LENGTH.pack(len(token)) + token)
            if last:
                break
            chunk, number = following, number + 1


def decrypt_file(source: Path, target: Path, key: str | None) -> None:
    """Open a sealed backup into ``target``; a wrong key or a damaged file is refused."""
    if not key:
        raise CryptoError(
            "no_key",
            "this backup is encrypted: set SECRET_KEY to the key it was made with "
            "(the bot's SECRET_KEY on the old machine)",
        )
    box = fernet(key)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with source.open("rb") as sealed, os.fdopen(fd, "wb") as plain:
        if sealed.read(len(MAGIC)) != MAGIC:
            raise CryptoError("not_encrypted", f"{source} is not an encrypted backup")
        expected = 0
        while True:
            size = sealed.read(_LENGTH.size)
            if len(size) < _LENGTH.size:
                raise CryptoError("damaged", f"{source} is cut short: the backup is incomplete")
            token = sealed.read(_LENGTH.unpack(size)[0])
            try:
                opened = box.decrypt(token)
            except InvalidToken as exc:
                if expected == 0:
                    raise CryptoError(
                        "wrong_key",
                        "SECRET_KEY is not the key this backup was encrypted with",
                    ) from exc
                raise CryptoError("damaged", f"{source} is damaged") from exc
            number, last = _HEAD.unpack(opened[: _HEAD.size])
            if number != expected:
                raise CryptoError("damaged", f"{source} is damaged: its parts are out of order")
            plain.write(opened[_HEAD.size :])
            if last:
                break
            expected += 1
        if sealed.read(1):
            raise CryptoError("damaged", f"{source} is damaged: data after its end")
