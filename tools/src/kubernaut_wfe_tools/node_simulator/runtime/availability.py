"""Whether this machine can run containers as processes (`runtime_available`)."""

from __future__ import annotations

import os
import shutil
import subprocess

PROBE_TIMEOUT_SECONDS = 10


def runtime_available() -> str | None:
    """None when containers can run here; else why not (not root, `ip` or `unshare`
    missing, network namespaces not permitted)."""
    if os.geteuid() != 0:
        return "the container runtime needs root (network and mount namespaces, chroot)"
    for command in ("ip", "unshare", "mount"):
        if shutil.which(command) is None:
            return f"`{command}` is not installed (iproute2, util-linux)"
    probe = f"kwfe-probe-{os.getpid()}"
    try:
        added = subprocess.run(
            ["ip", "netns", "add", probe],
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"`ip netns add` failed: {error}"
    if added.returncode != 0:
        return f"network namespaces are not permitted: {added.stderr.strip()}"
    subprocess.run(
        ["ip", "netns", "delete", probe],
        capture_output=True,
        timeout=PROBE_TIMEOUT_SECONDS,
        check=False,
    )
    return None
