"""Signed, expiring citation-viewer links (issue 11).

When the viewer is protected (`Settings.viewer_protected`), every ``/documents/{doc_id}?start=&end=``
link the service hands out (query and chat responses, the widget, Slack) gets ``exp`` (Unix time)
and ``sig`` (HMAC-SHA256 of doc id, span and expiry under the link secret), and the viewer opens
without an API key only for a link whose signature matches and has not expired.

The secret is `DOCQA_LINK_SECRET`; when unset, one is generated once and kept in
``DATA_DIR/link-secret`` (created atomically, mode 0600), so links already handed out keep working
across restarts and every worker process of one data directory signs alike.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from service.config import Settings

logger = logging.getLogger(__name__)

VIEWER_PREFIX = "/documents/"
SECRET_FILE = "link-secret"
MIN_SECRET_BYTES = 16


class LinkSecretUnavailable(RuntimeError):
    """No link secret is configured and none can be kept in the data directory."""


@dataclass(frozen=True)
class ViewerLinks:
    """Signs and checks viewer links; with no key, links stay unsigned and the viewer open.

    Args:
        key: The HMAC key, or None when the viewer is not protected.
        ttl_seconds: How long a signed link stays valid.
        clock: Unix time source.

    Example:
        >>> links = ViewerLinks(b"k" * 32, ttl_seconds=60, clock=lambda: 1000.0)
        >>> links.sign("/documents/cco-vs-cro?start=0&end=7")
        '/documents/cco-vs-cro?start=0&end=7&exp=1060&sig=…'          # doctest: +SKIP
    """

    key: bytes | None
    ttl_seconds: int = 7 * 24 * 3600
    clock: Callable[[], float] = field(default=time.time, compare=False)

    @property
    def enabled(self) -> bool:
        """True when the viewer needs a key or a signed link."""
        return self.key is not None

    @classmethod
    def from_settings(cls, settings: Settings) -> ViewerLinks:
        """The links of `settings`: unsigned unless the viewer is protected.

        Raises:
            LinkSecretUnavailable: Protected, no `DOCQA_LINK_SECRET`, and the data directory
                cannot hold a generated one.
        """
        if not settings.viewer_protected:
            return cls(None, settings.viewer_link_ttl_seconds)
        if settings.link_secret is not None:
            key = settings.link_secret.get_secret_value().encode()
        else:
            key = load_or_create_secret(settings.data_dir)
        return cls(key, settings.viewer_link_ttl_seconds)

    def signature(self, doc_id: str, start: int | None, end: int | None, expires: int) -> str:
        """The ``sig`` of a link (URL-safe base64 of the HMAC-SHA256)."""
        if self.key is None:
            raise ValueError("links are not signed: the viewer is not protected")
        message = f"{doc_id}\n{'' if start is None else start}\n{'' if end is None else end}\n{expires}"
        digest = hmac.new(self.key, message.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")

    def url(self, doc_id: str, start: int | None = None, end: int | None = None) -> str:
        """The relative viewer link of a document (and span), signed when protection is on."""
        query = [] if start is None or end is None else [f"start={start}", f"end={end}"]
        if self.key is not None:
            expires = int(self.clock()) + self.ttl_seconds
            query += [f"exp={expires}", f"sig={self.signature(doc_id, start, end, expires)}"]
        path = VIEWER_PREFIX + quote(doc_id, safe="")
        return path + ("?" + "&".join(query) if query else "")

    def sign(self, link: str) -> str:
        """`link` (an unsigned relative viewer link) signed; any other text unchanged."""
        if self.key is None or not link.startswith(VIEWER_PREFIX):
            return link
        parts = urlsplit(link)
        query = parse_qs(parts.query)
        doc_id = unquote(parts.path[len(VIEWER_PREFIX) :])
        try:
            start, end = int(query["start"][0]), int(query["end"][0])
        except (KeyError, ValueError):
            return self.url(doc_id)
        return self.url(doc_id, start, end)

    def sign_body(self, body: Any) -> Any:
        """Sign every viewer link found under a ``url`` key of a response body, in place.

        Args:
            body: A JSON-like response (dicts and lists), e.g. a QueryResponse.

        Returns:
            The same object.
        """
        if self.key is None:
            return body
        if isinstance(body, dict):
            for key, value in body.items():
                if key == "url" and isinstance(value, str):
                    body[key] = self.sign(value)
                else:
                    self.sign_body(value)
        elif isinstance(body, list):
            for item in body:
                self.sign_body(item)
        return body

    def check(self, doc_id: str, start: int | None, end: int | None, expires: int, sig: str) -> str | None:
        """Why a signed link does not open the viewer (``"expired"``, ``"invalid"``), or None."""
        if self.key is None:
            return None
        if not hmac.compare_digest(self.signature(doc_id, start, end, expires).encode(), sig.encode("utf-8")):
            return "invalid"
        if expires < self.clock():
            return "expired"
        return None


def load_or_create_secret(data_dir: Path) -> bytes:
    """The link secret kept in ``data_dir/link-secret``, created atomically on first use.

    Concurrent first starts (several workers) agree: the file is written under a temporary name
    and hard-linked into place, which fails for every process but the first; the others read it.

    Raises:
        LinkSecretUnavailable: The file cannot be read or created, or is too short.
    """
    path = data_dir / SECRET_FILE
    try:
        if not path.exists():
            _create_secret(path)
        key = path.read_bytes().strip()
    except OSError as exc:
        raise LinkSecretUnavailable(
            f"The viewer is protected but no link secret is set and {path} cannot be used ({exc.strerror}); "
            "set DOCQA_LINK_SECRET or make DOCQA_DATA_DIR writable."
        ) from exc
    if len(key) < MIN_SECRET_BYTES:
        raise LinkSecretUnavailable(
            f"{path} holds fewer than {MIN_SECRET_BYTES} bytes; delete it (a new one is generated) "
            "or set DOCQA_LINK_SECRET."
        )
    return key


def _create_secret(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(secrets.token_urlsafe(48) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)
            logger.info("generated the viewer link secret in %s", path)
        except FileExistsError:
            pass  # Another process created it first; use theirs.
    finally:
        tmp.unlink(missing_ok=True)
