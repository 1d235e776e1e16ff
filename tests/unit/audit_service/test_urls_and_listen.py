"""Database URLs and the command's --listen address."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubernaut_wfe.audit_service.store import sqlite_path, store_for_url
from kubernaut_wfe.commands.audit_server import parse_listen, redact


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///audit.db", str(Path.cwd() / "audit.db")),
        ("sqlite:///data/audit.db", str(Path.cwd() / "data" / "audit.db")),
        ("sqlite:////var/lib/audit.db", "/var/lib/audit.db"),
        ("sqlite:///:memory:", ":memory:"),
    ],
)
def test_sqlite_urls_name_a_file(url: str, expected: str) -> None:
    assert sqlite_path(url) == expected


@pytest.mark.parametrize("url", ["mysql://db/audit", "sqlite://audit.db", "audit.db", "sqlite:///"])
def test_unsupported_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match="database"):
        store_for_url(url)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0.0.0.0:8080", ("0.0.0.0", 8080)),
        ("127.0.0.1:0", ("127.0.0.1", 0)),
        ("[::1]:9000", ("::1", 9000)),
        ("localhost:65535", ("localhost", 65535)),
    ],
)
def test_listen_addresses(text: str, expected: tuple[str, int]) -> None:
    assert parse_listen(text) == expected


@pytest.mark.parametrize("text", ["8080", ":8080", "host:", "host:http", "host:65536"])
def test_bad_listen_addresses(text: str) -> None:
    with pytest.raises(ValueError, match="HOST:PORT"):
        parse_listen(text)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://audit:s3cret@db:5432/audit", "postgresql://audit:***@db:5432/audit"),
        ("postgresql://audit@db:5432/audit", "postgresql://audit@db:5432/audit"),
        ("sqlite:///audit.db", "sqlite:///audit.db"),
    ],
)
def test_passwords_are_redacted(url: str, expected: str) -> None:
    assert redact(url) == expected
