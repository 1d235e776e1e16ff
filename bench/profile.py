"""Profile the controller in a scenario: `python -m bench.profile {lifecycle,settle} [N] [OUT]`.

The controller process runs under pyinstrument (which cannot attach to a running process), so
the profile covers its whole life: start-up, the scenario, shutdown. The text report goes to OUT
(default bench/results/profile-<scenario>-<N>.txt, git-ignored).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from bench import lifecycle, report, rss, targets

DEFAULT_SIZES = {"lifecycle": 1000, "settle": 5000}


async def profile(scenario: str, count: int, output: Path) -> None:
    """Run `scenario` with `count` WFEs, the controller under pyinstrument writing `output`."""
    wrapper = ("-m", "pyinstrument", "-o", str(output), "-r", "text")
    with tempfile.TemporaryDirectory(prefix="kwfe-profile-") as scratch:
        if scenario == "lifecycle":
            await lifecycle.controller_lifecycle(
                targets.EmulatorTarget(), count, Path(scratch), wrapper
            )
        else:
            # the dev venv has pyinstrument; the runtime venv does not
            await rss.steady_rss(Path(sys.executable), count, Path(scratch), wrapper)


def main(argv: list[str]) -> int:
    """Parse `SCENARIO [N] [OUT]` and profile."""
    if not argv or argv[0] not in DEFAULT_SIZES:
        print(__doc__, file=sys.stderr)
        return 2
    scenario = argv[0]
    count = int(argv[1]) if len(argv) > 1 else DEFAULT_SIZES[scenario]
    default = report.RESULTS_DIR / f"profile-{scenario}-{count}.txt"
    output = Path(argv[2]) if len(argv) > 2 else default
    output.parent.mkdir(parents=True, exist_ok=True)
    asyncio.run(profile(scenario, count, output))
    print(output)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
