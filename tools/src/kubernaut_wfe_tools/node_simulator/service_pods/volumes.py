"""A pod's volumes as the kubelet fills them (pure): what each needs from the API (ConfigMaps,
Secrets, ServiceAccount tokens) and the files it then holds. `emptyDir` is an empty directory."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kubernaut_wfe_tools.node_simulator import messages
from kubernaut_wfe_tools.node_simulator.service_pods.spec import ConfigError, Identity, field_value

DEFAULT_MODE = 0o644
EMPTY_DIR_MODE = 0o777
DEFAULT_TOKEN_SECONDS = 3600
ObjectKey = tuple[str, str]
"""(`configmaps` or `secrets`, name)."""


class MountError(Exception):
    """A volume's object (or, with `key`, one of its keys an item names) is missing: the
    kubelet's `FailedMount` (`text`), retried until it appears."""

    def __init__(self, volume: str, kind: str, name: str, key: str | None = None) -> None:
        what = f"key {key!r} of " if key is not None else ""
        super().__init__(f"volume {volume}: {what}{kind} {name!r} not found")
        self.volume, self.kind, self.name, self.key = volume, kind, name, key

    @property
    def text(self) -> str:
        if self.key is None:
            return messages.mount_failed(self.volume, self.kind, self.name)
        return messages.mount_key_missing(self.volume, self.kind, self.key)


@dataclass(frozen=True)
class TokenSource:
    """A projected `serviceAccountToken`: what TokenRequest is asked for."""

    audience: str | None
    expiration_seconds: int


@dataclass(frozen=True)
class VolumeContent:
    """The files of one volume, by relative path (bytes, mode); `empty_dir` for an emptyDir."""

    files: Mapping[str, tuple[bytes, int]] = field(default_factory=dict)
    empty_dir: bool = False


@dataclass(frozen=True)
class Needs:
    objects: frozenset[ObjectKey]
    tokens: frozenset[TokenSource]


def needs(pod: Mapping[str, Any]) -> Needs:
    """The objects and tokens the pod's volumes are made of."""
    objects: set[ObjectKey] = set()
    tokens: set[TokenSource] = set()
    for volume in _volumes(pod):
        for source in _sources(volume):
            if "configMap" in source:
                objects.add(("configmaps", source["configMap"]["name"]))
            elif "secret" in source:
                objects.add(("secrets", _secret_name(source["secret"])))
            elif "serviceAccountToken" in source:
                tokens.add(_token_source(source["serviceAccountToken"]))
    return Needs(frozenset(objects), frozenset(tokens))


def volume_contents(
    pod: Mapping[str, Any],
    objects: Mapping[ObjectKey, Mapping[str, Any] | None],
    tokens: Mapping[TokenSource, str],
    who: Identity,
) -> dict[str, VolumeContent]:
    """Each volume's content by name; MountError for the first missing object that is not
    optional; ConfigError for a volume type the stand-in does not play."""
    contents: dict[str, VolumeContent] = {}
    for volume in _volumes(pod):
        name = volume["name"]
        if "emptyDir" in volume:
            contents[name] = VolumeContent(empty_dir=True)
            continue
        kinds = {"configMap", "secret", "projected"} & volume.keys()
        if not kinds:
            raise ConfigError(f"volume {name}: only configMap, secret, projected and emptyDir")
        mode = int((volume.get(next(iter(kinds))) or {}).get("defaultMode", DEFAULT_MODE))
        files: dict[str, tuple[bytes, int]] = {}
        for source in _sources(volume):
            files.update(
                _source_files(name, source, objects=objects, tokens=tokens, who=who, mode=mode)
            )
        contents[name] = VolumeContent(files=files)
    return contents


def _source_files(
    volume: str,
    source: Mapping[str, Any],
    *,
    objects: Mapping[ObjectKey, Mapping[str, Any] | None],
    tokens: Mapping[TokenSource, str],
    who: Identity,
    mode: int,
) -> dict[str, tuple[bytes, int]]:
    if "serviceAccountToken" in source:
        token = source["serviceAccountToken"]
        return {token["path"]: (tokens[_token_source(token)].encode(), mode)}
    if "downwardAPI" in source:
        return {
            item["path"]: (
                field_value(item["fieldRef"]["fieldPath"], who).encode(),
                int(item.get("mode", mode)),
            )
            for item in source["downwardAPI"].get("items") or []
        }
    if "configMap" in source:
        reference, kind, noun = source["configMap"], "configmaps", "configmap"
        name = reference["name"]
    else:
        reference, kind, noun = source["secret"], "secrets", "secret"
        name = _secret_name(reference)
    found = objects.get((kind, name))
    if found is None:
        if reference.get("optional"):
            return {}
        raise MountError(volume, noun, name)
    data = object_data(found, secret=kind == "secrets")
    items = reference.get("items")
    if not items:
        return {key: (value, mode) for key, value in data.items()}
    files: dict[str, tuple[bytes, int]] = {}
    for item in items:
        if item["key"] not in data:
            if reference.get("optional"):
                continue
            raise MountError(volume, noun, name, key=item["key"])
        files[item["path"]] = (data[item["key"]], int(item.get("mode", mode)))
    return files


def object_data(obj: Mapping[str, Any] | None, *, secret: bool) -> dict[str, bytes]:
    """A ConfigMap's or Secret's keys and their bytes ({} for an object that does not exist)."""
    obj = obj or {}
    data: dict[str, bytes] = {}
    for key, value in (obj.get("data") or {}).items():
        data[key] = base64.b64decode(value) if secret else str(value).encode()
    for key, value in (obj.get("binaryData") or {}).items():
        data[key] = base64.b64decode(value)
    return data


def _volumes(pod: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    volumes: list[Mapping[str, Any]] = (pod.get("spec") or {}).get("volumes") or []
    return volumes


def _sources(volume: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    if "projected" in volume:
        sources: list[Mapping[str, Any]] = volume["projected"].get("sources") or []
        return sources
    if "configMap" in volume:
        return [{"configMap": volume["configMap"]}]
    if "secret" in volume:
        return [{"secret": volume["secret"]}]
    return []


def _secret_name(reference: Mapping[str, Any]) -> str:
    return str(reference.get("secretName") or reference.get("name") or "")


def _token_source(token: Mapping[str, Any]) -> TokenSource:
    seconds = int(token.get("expirationSeconds", DEFAULT_TOKEN_SECONDS))
    return TokenSource(token.get("audience"), seconds)
