"""Plain timestamped lines, or lines scrolling above a redrawn progress block."""

from __future__ import annotations

import datetime
import io

from kubernaut_wfe_tools.sandbox.display import Display
from kubernaut_wfe_tools.sandbox.timeline import WfeView

NOON = datetime.datetime(2026, 1, 2, 12, 0, 5, tzinfo=datetime.UTC)


def display(live: bool, columns: int = 200) -> tuple[Display, io.StringIO]:
    stream = io.StringIO()
    return Display(stream, live=live, clock=lambda: NOON, columns=lambda: columns), stream


def test_plain_mode_writes_timestamped_lines_and_no_progress_block() -> None:
    shown, stream = display(live=False)

    shown.timeline("default/a", ["created", "Running (PipelineRun wfe-1)"], key_width=10)
    shown.progress({"default/a": WfeView(key="default/a", phase="Running")})
    shown.note("banner")

    assert stream.getvalue() == (
        "12:00:05 default/a   created\n12:00:05 default/a   Running (PipelineRun wfe-1)\nbanner\n"
    )


def test_live_mode_redraws_the_block_below_new_lines() -> None:
    shown, stream = display(live=True)
    views = {"default/b": WfeView(key="default/b"), "default/a": WfeView(key="default/a")}

    shown.progress(views)
    shown.log("apply x")

    lines = stream.getvalue().split("\n")
    assert lines[0].startswith("… default/a")
    assert lines[1].startswith("… default/b")
    assert lines[2] == "\x1b[2F\x1b[J12:00:05 apply x"
    assert lines[3].startswith("… default/a")
    assert lines[4].startswith("… default/b")


def test_live_block_lines_never_wrap() -> None:
    shown, stream = display(live=True, columns=30)

    shown.progress({"default/a": WfeView(key="default/a", run="wfe-" + "9" * 40)})

    (line,) = stream.getvalue().splitlines()
    assert len(line) == 29
