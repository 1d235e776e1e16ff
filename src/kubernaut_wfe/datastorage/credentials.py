"""Credentials read from files that rotate: projected ServiceAccount tokens and CA bundles.

Each is re-read only when the file's modification time or size changes, so the per-request cost
is one `stat` of a local (tmpfs) file.
"""

from __future__ import annotations

import os
import ssl
import threading
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Generic, TypeVar

_Loaded = TypeVar("_Loaded")


class _FileWatch(ABC, Generic[_Loaded]):
    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._signature: tuple[int, int, int] | None = None
        self._value: _Loaded | None = None

    @abstractmethod
    def _load(self) -> _Loaded: ...

    def current(self) -> _Loaded:
        """The file's content as loaded at its latest change (re-loaded when it changed)."""
        stat = self.path.stat()
        signature = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        with self._lock:
            if self._value is None or signature != self._signature:
                self._value = self._load()
                self._signature = signature
            return self._value


class FileToken(_FileWatch[str]):
    """A bearer token file (e.g. a projected ServiceAccount token); call it for the token."""

    def _load(self) -> str:
        return self.path.read_text(encoding="utf-8").strip()

    def __call__(self) -> str | None:
        return self.current() or None


class CaBundle(_FileWatch[ssl.SSLContext]):
    """A CA bundle file; call it for an SSL context that trusts the file's current content."""

    def _load(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.path))

    def __call__(self) -> ssl.SSLContext:
        return self.current()
