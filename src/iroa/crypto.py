"""Encryption of stored secrets (Fernet: AES-128-CBC with HMAC-SHA256) under the instance key."""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from iroa.config import Settings
from iroa.errors import IroaError


class SecretKeyError(IroaError):
    """The instance secret key is missing, unreadable or wrong."""


def load_secret_key(settings: Settings) -> str:
    """The instance key: ``IROA_SECRET_KEY``, else the key file (created with mode 0600)."""
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value()
    path = settings.secret_key_file
    if not path.exists():
        _create_key_file(path)
    try:
        key = path.read_text(encoding="ascii").strip()
    except OSError as exc:
        raise SecretKeyError(f"cannot read secret key file {path}: {exc.strerror}") from exc
    if not key:
        raise SecretKeyError(f"secret key file {path} is empty")
    return key


def _create_key_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(secrets.token_urlsafe(48) + "\n")


class SecretBox:
    """Encrypts and decrypts short secrets with a key derived from the instance key."""

    def __init__(self, instance_key: str) -> None:
        derived = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=b"iroa", info=b"integration-secrets"
        ).derive(instance_key.encode())
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode()
        except InvalidToken as exc:
            raise SecretKeyError(
                "a stored secret cannot be decrypted: the secret key differs from the one "
                "it was saved with"
            ) from exc
