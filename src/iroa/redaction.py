"""Keep secrets out of what IROA says: error messages, log lines, pages and audit entries.

Each connector passes its errors through :func:`clean_message` where it translates
vendor errors, with the integration's secret; an integration's URL is shown through
:func:`without_userinfo`. A URL with credentials is refused on input, so these
guard against what a server repeats and against rows stored before that.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit, urlunsplit

MASK = "***"
MAX_MESSAGE_CHARS = 300
MIN_SECRET_CHARS = 4
"""Shorter secrets are left in place: they would blank out ordinary words, and no
message is built from a secret in the first place."""

_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)(?:[^\s/?#@]*@)+")
"""``user:password@`` after a URL's scheme, in free text (a password may hold ``@``)."""


def without_userinfo(url: str) -> str:
    """``url`` without the ``user:password@`` before its host, if it has one."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return _USERINFO.sub(r"\1", url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def clean_message(message: str, *secrets: str | None) -> str:
    """``message`` on one short line, without URL credentials and without ``secrets``
    (as given or percent-encoded)."""
    for secret in secrets:
        if secret and len(secret) >= MIN_SECRET_CHARS:
            for form in (secret, quote(secret, safe="")):
                message = message.replace(form, MASK)
    message = " ".join(_USERINFO.sub(r"\1", message).split())
    if len(message) > MAX_MESSAGE_CHARS:
        message = message[: MAX_MESSAGE_CHARS - 1] + "…"
    return message
