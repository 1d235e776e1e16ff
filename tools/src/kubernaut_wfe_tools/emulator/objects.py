"""Object lifecycle rules of the apiserver: create, update, patch, delete, status subresource,
finalizers, generation, preconditions, schema pruning and validation."""

from __future__ import annotations

import base64
import copy
import datetime
import secrets
import uuid
from collections.abc import Callable
from typing import Any

import yaml

from kubernaut_wfe_tools.emulator import builtins, errors
from kubernaut_wfe_tools.emulator.admission import (
    NAMESPACES_KEY,
    Problem,
    WriteOptions,
    admit,
    check_fields,
    invalid,
    name_problems,
    rfc3339,
    utc_now,
)
from kubernaut_wfe_tools.emulator.deletion import Reaper, delete_options
from kubernaut_wfe_tools.emulator.errors import ApiError
from kubernaut_wfe_tools.emulator.patching import json_patch, merge_patch
from kubernaut_wfe_tools.emulator.resources import ResourceType
from kubernaut_wfe_tools.emulator.store import ObjectStore

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"

_GENERATE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_SYSTEM_METADATA = (
    "uid",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "generation",
    "resourceVersion",
)


class ObjectLifecycle:
    """The write paths of the apiserver over an `ObjectStore`."""

    def __init__(
        self, store: ObjectStore, clock: Callable[[], datetime.datetime] = utc_now
    ) -> None:
        self.store = store
        self.clock = clock
        self.reaper = Reaper(store, clock)

    # -- reading -----------------------------------------------------------------------------

    def get(self, res: ResourceType, namespace: str, name: str) -> dict[str, Any]:
        """The stored object or a 404 NotFound."""
        obj = self.store.get(res.key, namespace if res.namespaced else "", name)
        if obj is None:
            raise errors.not_found(res.group, res.plural, name)
        return obj

    # -- create ------------------------------------------------------------------------------

    def create(
        self, res: ResourceType, namespace: str | None, body: Any, options: WriteOptions
    ) -> dict[str, Any]:
        """POST: defaulting, namespace checks, generateName, pruning, validation, store."""
        obj = self._typed_body(res, body)
        check_fields(res, obj, options)
        metadata = obj["metadata"]
        self._place(res, namespace, metadata)
        if metadata.get("resourceVersion"):
            raise ApiError(400, "resourceVersion should not be set on objects to be created")
        if not metadata.get("name"):
            prefix = metadata.get("generateName")
            if not prefix:
                raise invalid(
                    res,
                    "",
                    [
                        Problem(
                            "metadata.name",
                            "FieldValueRequired",
                            "Required value: name or generateName is required",
                        )
                    ],
                )
            metadata["name"] = self._generated_name(res, metadata.get("namespace", ""), prefix)
        problems = name_problems(res, metadata["name"])
        if problems:
            raise invalid(res, metadata["name"], problems)
        ns = metadata.get("namespace", "")
        if res.namespaced:
            home = self.store.get(NAMESPACES_KEY, "", ns)
            if home is None:
                raise errors.not_found("", "namespaces", ns)
            if home["metadata"].get("deletionTimestamp"):
                raise errors.namespace_terminating(res.group, res.plural, metadata["name"], ns)
        if self.store.get(res.key, ns, metadata["name"]) is not None:
            raise errors.already_exists(res.group, res.plural, metadata["name"])
        for key in _SYSTEM_METADATA:
            metadata.pop(key, None)
        if res.status_subresource and res.key not in builtins.STATUS_KEPT_ON_CREATE:
            obj.pop("status", None)
        if res.key == SECRETS_KEY:
            _default_secret(obj)
        if res.key == NAMESPACES_KEY:
            obj["spec"] = {"finalizers": ["kubernetes"]}
            obj["status"] = {"phase": "Active"}
            metadata.setdefault("labels", {})["kubernetes.io/metadata.name"] = metadata["name"]
        obj = admit(res, obj, None, options)
        metadata = obj["metadata"]
        metadata["uid"] = str(uuid.uuid4())
        metadata["creationTimestamp"] = rfc3339(self.clock())
        if _tracks_generation(res):
            metadata["generation"] = 1
        builtins.prepare_created(res.key, obj)
        if options.dry_run:
            metadata["resourceVersion"] = str(self.store.revision)
            return obj
        return self.store.put(res.key, obj)

    def _typed_body(self, res: ResourceType, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise ApiError(400, "the request body must be a JSON object")
        obj = copy.deepcopy(body)
        api_version = obj.get("apiVersion")
        if api_version and api_version != res.api_version:
            raise ApiError(
                400,
                f"the API version in the data ({api_version}) does not match the expected "
                f"API version ({res.api_version})",
            )
        kind = obj.get("kind")
        if kind and kind != res.kind:
            raise ApiError(
                400, f"the kind in the data ({kind}) does not match the expected kind ({res.kind})"
            )
        metadata = obj.get("metadata")
        if metadata is None:
            metadata = {}
        if not isinstance(metadata, dict):
            raise ApiError(400, "metadata must be an object")
        return {"apiVersion": res.api_version, "kind": res.kind, **obj, "metadata": metadata}

    def _place(self, res: ResourceType, namespace: str | None, metadata: dict[str, Any]) -> None:
        if not res.namespaced:
            metadata.pop("namespace", None)
            return
        given = metadata.get("namespace")
        if given and namespace and given != namespace:
            raise ApiError(
                400,
                "the namespace of the provided object does not match the namespace sent on the "
                "request",
            )
        metadata["namespace"] = namespace or given or "default"

    def _generated_name(self, res: ResourceType, namespace: str, prefix: str) -> str:
        prefix = prefix[: 253 - 5]
        for _ in range(100):
            suffix = "".join(secrets.choice(_GENERATE_ALPHABET) for _ in range(5))
            if self.store.get(res.key, namespace, prefix + suffix) is None:
                return prefix + suffix
        raise ApiError(
            409, f"could not generate a unique name from {prefix!r}", reason="AlreadyExists"
        )

    # -- update ------------------------------------------------------------------------------

    def update(
        self,
        res: ResourceType,
        namespace: str,
        name: str,
        body: Any,
        *,
        subresource: str | None,
        options: WriteOptions,
    ) -> dict[str, Any]:
        """PUT on the object or its `/status`."""
        new = self._typed_body(res, body)
        check_fields(res, new, options)
        metadata = new["metadata"]
        if metadata.get("name") and metadata["name"] != name:
            raise ApiError(
                400,
                f"the name of the object ({metadata['name']}) does not match the name on the URL "
                f"({name})",
            )
        metadata["name"] = name
        self._place(res, namespace, metadata)
        old = self.get(res, namespace, name)
        given_rv = metadata.get("resourceVersion")
        if not given_rv and res.custom:
            raise invalid(
                res,
                name,
                [
                    Problem(
                        "metadata.resourceVersion",
                        "FieldValueInvalid",
                        "Invalid value: 0x0: must be specified for an update",
                    )
                ],
            )
        return self._replace(res, old, new, subresource, options, check_rv=bool(given_rv))

    def _replace(
        self,
        res: ResourceType,
        old: dict[str, Any],
        new: dict[str, Any],
        subresource: str | None,
        options: WriteOptions,
        *,
        check_rv: bool,
    ) -> dict[str, Any]:
        old_meta = old["metadata"]
        new_meta = new.setdefault("metadata", {})
        name = old_meta["name"]
        if check_rv and new_meta.get("resourceVersion") != old_meta.get("resourceVersion"):
            raise errors.conflict(res.group, res.plural, name, errors.STALE_OBJECT)
        if new_meta.get("uid") and new_meta["uid"] != old_meta.get("uid"):
            raise errors.conflict(
                res.group,
                res.plural,
                name,
                f"StorageError: invalid object, Code: 4, Key: {_etcd_key(res, old_meta)}, "
                "ResourceVersion: 0, AdditionalErrorMsg: Precondition failed: UID in "
                f"precondition: {new_meta['uid']}, UID in object meta: {old_meta.get('uid')}",
            )
        if subresource == "status":
            status = new.get("status")
            new = copy.deepcopy(old)
            if status is None:
                new.pop("status", None)
            else:
                new["status"] = copy.deepcopy(status)
        else:
            for key in _SYSTEM_METADATA:
                if key in old_meta:
                    new_meta[key] = old_meta[key]
                else:
                    new_meta.pop(key, None)
            new_meta["name"] = name
            if "namespace" in old_meta:
                new_meta["namespace"] = old_meta["namespace"]
            if res.status_subresource:
                if "status" in old:
                    new["status"] = copy.deepcopy(old["status"])
                else:
                    new.pop("status", None)
            self._check_new_finalizers(res, old, new)
        new = admit(res, new, old, options)
        if _tracks_generation(res) and subresource != "status" and _content(new) != _content(old):
            new["metadata"]["generation"] = int(old_meta.get("generation", 1)) + 1
        new["metadata"]["resourceVersion"] = old_meta.get("resourceVersion")
        if new == old:
            return old
        if options.dry_run:
            return new
        if (
            new["metadata"].get("deletionTimestamp")
            and not new["metadata"].get("finalizers")
            and not builtins.deletion_pending(new)
        ):
            return self.reaper.finalize(res, new)
        return self.store.put(res.key, new)

    def _check_new_finalizers(
        self, res: ResourceType, old: dict[str, Any], new: dict[str, Any]
    ) -> None:
        if not old["metadata"].get("deletionTimestamp"):
            return
        before = set(old["metadata"].get("finalizers") or [])
        added = [f for f in new["metadata"].get("finalizers") or [] if f not in before]
        if added:
            quoted = ", ".join(f'"{f}"' for f in added)
            raise invalid(
                res,
                old["metadata"]["name"],
                [
                    Problem(
                        "metadata.finalizers",
                        "FieldValueForbidden",
                        "Forbidden: no new finalizers can be added if the object is being deleted, "
                        f"found new finalizers []string{{{quoted}}}",
                    )
                ],
            )

    # -- patch -------------------------------------------------------------------------------

    def patch(
        self,
        res: ResourceType,
        namespace: str,
        name: str,
        *,
        content_type: str,
        raw_body: bytes,
        subresource: str | None,
        options: WriteOptions,
    ) -> tuple[dict[str, Any], bool]:
        """PATCH: JSON patch, merge patch, (built-ins only) strategic merge, minimal apply.
        Returns the object and whether it was created (server-side apply of a new object)."""
        media = content_type.split(";", maxsplit=1)[0].strip().lower()
        if media == APPLY_PATCH:
            return self._apply(
                res, namespace, name, raw_body=raw_body, subresource=subresource, options=options
            )
        if media == STRATEGIC_PATCH and res.custom:
            raise ApiError(
                415,
                f"the body of the request was in an unknown format - accepted media types "
                f"include: {JSON_PATCH}, {MERGE_PATCH}, {APPLY_PATCH}",
            )
        if media not in (JSON_PATCH, MERGE_PATCH, STRATEGIC_PATCH):
            raise ApiError(
                415,
                f"the body of the request was in an unknown format - accepted media types "
                f"include: {JSON_PATCH}, {MERGE_PATCH}, {APPLY_PATCH}",
            )
        patch_doc = _decode_json(raw_body)
        old = self.get(res, namespace, name)
        if media == JSON_PATCH:
            patched = json_patch(old, patch_doc)
        else:
            if not isinstance(patch_doc, dict):
                raise ApiError(400, "a merge patch must be a JSON object")
            patched = merge_patch(old, patch_doc)
        if not isinstance(patched, dict):
            raise ApiError(422, "the patched object is not a JSON object")
        patched = self._typed_body(res, patched)
        check_fields(res, patched, options, patched=True)
        if not res.custom:
            builtins.check_uid_kept(res.kind, res.group, old, patched)
        check_rv = patched["metadata"].get("resourceVersion") != old["metadata"].get(
            "resourceVersion"
        )
        return self._replace(res, old, patched, subresource, options, check_rv=check_rv), False

    def _apply(
        self,
        res: ResourceType,
        namespace: str,
        name: str,
        *,
        raw_body: bytes,
        subresource: str | None,
        options: WriteOptions,
    ) -> tuple[dict[str, Any], bool]:
        # Minimal server-side apply: the applied configuration is merged over the live object
        # (no field ownership, no conflicts between managers).
        try:
            applied = yaml.safe_load(raw_body.decode() or "{}")
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise ApiError(400, f"error decoding YAML: {exc}") from exc
        if not isinstance(applied, dict):
            raise ApiError(400, "an apply patch must be an object")
        existing = self.store.get(res.key, namespace if res.namespaced else "", name)
        if existing is None:
            applied.setdefault("metadata", {})["name"] = name
            return self.create(res, namespace, applied, options), True
        applied.get("metadata", {}).pop("resourceVersion", None)
        patched = self._typed_body(res, merge_patch(existing, applied))
        check_fields(res, patched, options, patched=True)
        return self._replace(res, existing, patched, subresource, options, check_rv=False), False

    # -- pods/binding ------------------------------------------------------------------------

    def bind(
        self, res: ResourceType, namespace: str, name: str, body: Any, options: WriteOptions
    ) -> dict[str, Any]:
        """POST `pods/<name>/binding`: the pod assigned to the Binding's node; the answer is the
        server's `Status` Success."""
        binding = builtins.checked_binding(body, name)
        pod = builtins.bound(self.get(res, namespace, name), binding, self.clock())
        if not options.dry_run:
            self.store.put(res.key, pod)
        return dict(builtins.BINDING_ANSWER)

    # -- delete ------------------------------------------------------------------------------

    def delete(
        self, res: ResourceType, namespace: str, name: str, options_body: Any, *, dry_run: bool
    ) -> tuple[dict[str, Any], bool]:
        """DELETE: options, preconditions, finalizers (deletionTimestamp + generation bump),
        removal. The object the answer shows and whether it is gone (see `Reaper.delete`)."""
        options = delete_options(options_body)
        return self.reaper.delete(res, self.get(res, namespace, name), options, dry_run=dry_run)


SECRETS_KEY = "/v1/secrets"


def _default_secret(secret: dict[str, Any]) -> None:
    """As the API server stores a Secret: type Opaque unless given, `stringData` folded into
    `data` (base64)."""
    if not secret.get("type"):
        secret["type"] = "Opaque"
    string_data = secret.pop("stringData", None) or {}
    if string_data:
        data = dict(secret.get("data") or {})
        for key, value in string_data.items():
            data[key] = base64.b64encode(str(value).encode()).decode()
        secret["data"] = data


def _etcd_key(res: ResourceType, meta: dict[str, Any]) -> str:
    """Where the API server keeps the object in etcd (its storage errors quote it)."""
    parts = ["/registry", *([res.group] if res.group else []), res.plural]
    if meta.get("namespace"):
        parts.append(meta["namespace"])
    return "/".join([*parts, meta["name"]])


def _tracks_generation(res: ResourceType) -> bool:
    return res.custom or res.key in builtins.GENERATION_TRACKED


def _content(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in ("metadata", "status")}


def _decode_json(raw: bytes) -> Any:
    import json

    try:
        return json.loads(raw or b"null")
    except ValueError as exc:
        raise ApiError(400, f"error decoding patch: {exc}") from exc
