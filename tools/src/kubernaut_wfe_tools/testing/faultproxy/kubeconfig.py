"""Kubeconfigs that reach a cluster through the fault proxy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


def proxied_kubeconfig(source: Path, proxy_url: str, destination: Path) -> Path:
    """A copy of kubeconfig `source` (same user, token, CA) whose cluster server is the proxy:
    the cluster of the current context (or the only one). Relative file paths are made absolute
    against `source`'s directory, as kubectl resolves them."""
    config: dict[str, Any] = yaml.safe_load(source.read_text(encoding="utf-8"))
    clusters: list[dict[str, Any]] = config.get("clusters") or []
    contexts = {entry["name"]: entry["context"] for entry in config.get("contexts") or []}
    current = contexts.get(config.get("current-context") or "")
    wanted = current["cluster"] if current else None
    if wanted is None and len(clusters) == 1:
        wanted = clusters[0]["name"]
    targets = [entry for entry in clusters if entry["name"] == wanted]
    if not targets:
        raise ValueError(f"{source}: no current context's cluster to point at the proxy")
    targets[0]["cluster"]["server"] = proxy_url
    base = source.resolve().parent
    files = (
        [(entry["cluster"], "certificate-authority") for entry in clusters]
        + [(entry["user"], key) for entry in config.get("users") or []
           for key in ("client-certificate", "client-key", "tokenFile")]
    )  # fmt: skip
    for section, key in files:
        if section and section.get(key):
            section[key] = str(base / section[key])  # an absolute path stays as it is
    destination.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    destination.chmod(0o600)
    return destination
