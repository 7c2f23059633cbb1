"""Secrets (stream keys, tokens): read from an environment variable or a file, and masked out of every log line
and error text."""

from __future__ import annotations

import logging
import os
import re
import urllib.parse
from pathlib import Path

MASK = "****"
_ENV_PLACEHOLDER = re.compile(r"\{env:([A-Za-z_][A-Za-z0-9_]*)\}")


def read_secret(env: str = "", file: str = "", what: str = "secret", optional: bool = False) -> str:
    """The secret from env var `env` or, failing that, the contents of `file`; "" when neither is named.

    RuntimeError when the file cannot be read, or when `env` is named but empty and there is no file (unless the
    secret is `optional`: then "" means there is none)."""
    if env and os.environ.get(env, "").strip():
        return os.environ[env].strip()
    if file:
        try:
            return Path(file).expanduser().read_text(encoding="utf-8").strip()
        except OSError as error:
            raise RuntimeError(f"cannot read the {what} file {file}: {error.strerror}") from None
    if env and not optional:
        raise RuntimeError(f"the {what} environment variable {env} is empty or not set")
    return ""


class SecretMasker:
    """Replaces every known secret (and its URL-encoded forms) with MASK."""

    def __init__(self, *secrets: str):
        self._secrets: list[str] = []
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str):
        # Very short strings would mask innocent text and are no secret anyway.
        for form in {secret, urllib.parse.quote(secret, safe=""), urllib.parse.quote_plus(secret)}:
            if len(form) >= 4 and form not in self._secrets:
                self._secrets.append(form)
        self._secrets.sort(key=len, reverse=True)

    @property
    def secrets(self) -> list[str]:
        return list(self._secrets)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        return text

    def expand(self, template: str, key: str = "") -> str:
        """Fill {key} and {env:NAME} in a URL template, registering every value filled in as a secret."""

        def from_env(match: re.Match) -> str:
            value = os.environ.get(match.group(1), "").strip()
            if not value:
                raise RuntimeError(f"the environment variable {match.group(1)} used in a target URL is not set")
            self.add(value)
            return value

        if "{key}" in template:
            if not key:
                raise RuntimeError("a target URL has {key} but no stream key was given (key_env or key_file)")
            self.add(key)
            template = template.replace("{key}", key)
        return _ENV_PLACEHOLDER.sub(from_env, template)


class MaskingFilter(logging.Filter):
    """A logging filter that masks secrets in the message and in any formatted exception."""

    def __init__(self, masker: SecretMasker):
        super().__init__()
        self.masker = masker

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = self.masker(record.getMessage()), None
        if record.exc_info:
            record.exc_text = self.masker(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True
