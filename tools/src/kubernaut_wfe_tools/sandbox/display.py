"""Where the sandbox's human-readable lines go: plain timestamped lines, or on a terminal the same
lines scrolling above a block of progress lines (one per WFE) that is redrawn in place."""

from __future__ import annotations

import datetime
import shutil
from collections.abc import Callable, Mapping
from typing import TextIO

from kubernaut_wfe_tools.sandbox.timeline import WfeView, progress_line

CURSOR_UP_AND_CLEAR = "\x1b[{n}F\x1b[J"
"""Move to the start of the line n lines up, then clear to the end of the screen."""


def _local_now() -> datetime.datetime:
    return datetime.datetime.now().astimezone()


def _terminal_columns() -> int:
    return shutil.get_terminal_size(fallback=(120, 24)).columns


class Display:
    """Timestamped log lines, plus (when `live`) the redrawn progress block."""

    def __init__(
        self,
        stream: TextIO,
        *,
        live: bool,
        clock: Callable[[], datetime.datetime] = _local_now,
        columns: Callable[[], int] = _terminal_columns,
    ) -> None:
        self._stream = stream
        self._live = live
        self._clock = clock
        self._columns = columns
        self._block: list[str] = []

    def log(self, message: str) -> None:
        """One line with the time of day in front."""
        stamped = f"{self._clock():%H:%M:%S} {message}"
        if self._live:
            self._redraw([stamped])
        else:
            self._stream.write(stamped + "\n")
            self._stream.flush()

    def note(self, message: str) -> None:
        """A line without a timestamp (banners, instructions)."""
        if self._live:
            self._redraw([message])
        else:
            self._stream.write(message + "\n")
            self._stream.flush()

    def timeline(self, key: str, changes: list[str], key_width: int) -> None:
        for change in changes:
            self.log(f"{key:<{key_width}}  {change}")

    def progress(self, views: Mapping[str, WfeView]) -> None:
        """Redraw the progress block (live mode only)."""
        if not self._live:
            return
        width = max((len(key) for key in views), default=0)
        # A wrapped line would throw off the cursor movement of the next redraw.
        columns = max(self._columns() - 1, 20)
        lines = [progress_line(views[key], width)[:columns] for key in sorted(views)]
        self._redraw([], lines)

    def _redraw(self, above: list[str], block: list[str] | None = None) -> None:
        if self._block:
            self._stream.write(CURSOR_UP_AND_CLEAR.format(n=len(self._block)))
        for line in above:
            self._stream.write(line + "\n")
        if block is not None:
            self._block = block
        for line in self._block:
            self._stream.write(line + "\n")
        self._stream.flush()
