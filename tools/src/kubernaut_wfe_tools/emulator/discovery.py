"""Discovery documents, `/version`, the OpenAPI v3 documents kubectl relies on and a bare
OpenAPI v2 document (kubectl reads v2 to check a `kind: List` it creates or applies)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from kubernaut_wfe_tools.emulator.builtins import POD_BINDING_DISCOVERY, PODS_KEY
from kubernaut_wfe_tools.emulator.resources import ResourceRegistry, ResourceType

SERVER_VERSION = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.0-kubernaut-emulator",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2026-01-01T00:00:00Z",
    "goVersion": "go1.23.0",
    "compiler": "gc",
    "platform": "linux/amd64",
}


def api_versions(server_address: str) -> dict[str, Any]:
    """`/api`."""
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}
        ],
    }


def _group(name: str, versions: list[str]) -> dict[str, Any]:
    entries = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"name": name, "versions": entries, "preferredVersion": entries[0]}


def api_group_list(registry: ResourceRegistry) -> dict[str, Any]:
    """`/apis`."""
    groups = [_group(g, vs) for g, vs in registry.group_versions().items() if g]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_group(registry: ResourceRegistry, group: str) -> dict[str, Any] | None:
    """`/apis/<group>`."""
    versions = registry.group_versions().get(group)
    if not group or not versions:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group(group, versions)}


def api_resource_list(
    registry: ResourceRegistry, group: str, version: str
) -> dict[str, Any] | None:
    """`/api/v1` or `/apis/<group>/<version>`, with `<plural>/status` (and `pods/binding`)
    where served."""
    resources = registry.in_group_version(group, version)
    if not resources:
        return None
    entries: list[dict[str, Any]] = []
    for res in resources:
        entry: dict[str, Any] = {
            "name": res.plural,
            "singularName": res.singular,
            "namespaced": res.namespaced,
            "kind": res.kind,
            "verbs": list(res.verbs),
        }
        if res.short_names:
            entry["shortNames"] = list(res.short_names)
        if res.categories:
            entry["categories"] = list(res.categories)
        entries.append(entry)
        if res.key == PODS_KEY:
            entries.append(dict(POD_BINDING_DISCOVERY))
        if res.status_subresource:
            entries.append(
                {
                    "name": f"{res.plural}/status",
                    "singularName": "",
                    "namespaced": res.namespaced,
                    "kind": res.kind,
                    "verbs": ["get", "patch", "update"],
                }
            )
    group_version = f"{group}/{version}" if group else version
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": entries,
    }


def _definition_name(res: ResourceType) -> str:
    group = ".".join(reversed(res.group.split("."))) if res.group else "io.k8s.api.core"
    return f"{group}.{res.version}.{res.kind}"


def openapi_v3_document(
    registry: ResourceRegistry, group: str, version: str
) -> dict[str, Any] | None:
    """One OpenAPI v3 document per group-version: paths whose operations carry
    `x-kubernetes-group-version-kind` and a PATCH with `fieldValidation`, and component schemas
    from the CRDs' openAPIV3Schema (tagged with their group-version-kind for `kubectl explain`)."""
    resources = registry.in_group_version(group, version)
    if not resources:
        return None
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for res in resources:
        gvk = {"group": res.group, "version": res.version, "kind": res.kind}
        definition = _definition_name(res)
        ref = {"$ref": f"#/components/schemas/{definition}"}
        schema = dict(
            res.openapi_schema or {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
        )
        schema["x-kubernetes-group-version-kind"] = [gvk]
        schemas[definition] = schema
        base = f"/{res.group_version_path}"
        prefix = f"{base}/namespaces/{{namespace}}" if res.namespaced else base
        collection = f"{prefix}/{res.plural}"
        item = f"{collection}/{{name}}"
        paths[collection] = _collection_path(res, gvk, ref)
        paths[item] = _item_path(res, gvk, ref)
        if res.status_subresource:
            paths[f"{item}/status"] = _item_path(res, gvk, ref, status=True)
        if res.namespaced:
            paths[f"{base}/{res.plural}"] = {
                "get": _operation(
                    "list", res, gvk, {"type": "object"}, f"list{res.kind}ForAllNamespaces"
                )
            }
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": SERVER_VERSION["gitVersion"]},
        "paths": paths,
        "components": {"schemas": schemas},
    }


_QUERY = {"in": "query", "schema": {"type": "string"}, "uniqueItems": True}


def _param(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "description": description, **_QUERY}


_WRITE_PARAMS = [
    _param("dryRun", "When present, indicates that modifications should not be persisted."),
    _param("fieldManager", "A name associated with the actor or entity making these changes."),
    _param(
        "fieldValidation",
        "How the server handles unknown or duplicate fields: Ignore, Warn or Strict.",
    ),
]


def _operation(
    action: str, res: ResourceType, gvk: dict[str, str], schema: dict[str, Any], op_id: str
) -> dict[str, Any]:
    return {
        "operationId": op_id,
        "responses": {
            "200": {"description": "OK", "content": {"application/json": {"schema": schema}}}
        },
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": gvk,
    }


def _with_body(
    operation: dict[str, Any], media_types: list[str], schema: dict[str, Any]
) -> dict[str, Any]:
    operation["requestBody"] = {
        "content": {media: {"schema": schema} for media in media_types},
        "required": True,
    }
    operation["parameters"] = list(_WRITE_PARAMS)
    return operation


def _collection_path(res: ResourceType, gvk: dict[str, str], ref: dict[str, Any]) -> dict[str, Any]:
    kind = res.kind
    return {
        "get": _operation("list", res, gvk, {"type": "object"}, f"list{kind}"),
        "post": _with_body(_operation("post", res, gvk, ref, f"create{kind}"), ["*/*"], ref),
        "delete": _operation(
            "deletecollection", res, gvk, {"type": "object"}, f"deletecollection{kind}"
        ),
    }


def _item_path(
    res: ResourceType, gvk: dict[str, str], ref: dict[str, Any], *, status: bool = False
) -> dict[str, Any]:
    suffix = "Status" if status else ""
    kind = res.kind
    patch_media = [
        "application/json-patch+json",
        "application/merge-patch+json",
        "application/apply-patch+yaml",
    ]
    if not res.custom:
        patch_media.append("application/strategic-merge-patch+json")
    path: dict[str, Any] = {
        "get": _operation("get", res, gvk, ref, f"read{kind}{suffix}"),
        "put": _with_body(_operation("put", res, gvk, ref, f"replace{kind}{suffix}"), ["*/*"], ref),
        "patch": _with_body(
            _operation("patch", res, gvk, ref, f"patch{kind}{suffix}"),
            patch_media,
            {"type": "object"},
        ),
    }
    if not status:
        path["delete"] = _operation("delete", res, gvk, {"type": "object"}, f"delete{kind}")
    return path


def openapi_v3_index(registry: ResourceRegistry) -> dict[str, Any]:
    """`/openapi/v3`: one entry per group-version, with a content hash in the URL."""
    paths: dict[str, Any] = {}
    for group, versions in registry.group_versions().items():
        for version in versions:
            name = f"apis/{group}/{version}" if group else f"api/{version}"
            document = openapi_v3_document(registry, group, version)
            digest = hashlib.sha512(json.dumps(document, sort_keys=True).encode()).hexdigest()[:64]
            paths[name] = {"serverRelativeURL": f"/openapi/v3/{name}?hash={digest.upper()}"}
    return {"paths": paths}


OPENAPI_V2_PROTOBUF = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
"""The media type the API server answers kubectl's `/openapi/v2` in (gnostic's
`openapi.v2.Document`; kubectl asks for `...spec.v2@v1.0+protobuf`)."""


def openapi_v2_document() -> dict[str, Any]:
    """`/openapi/v2` without definitions: kubectl then checks nothing on its side (it looks a
    kind up there and skips kinds it does not find) and leaves it to the server, whose
    `fieldValidation` it asks for anyway."""
    return {
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": SERVER_VERSION["gitVersion"]},
        "paths": {},
        "definitions": {},
    }


def openapi_v2_protobuf() -> bytes:
    """The same document as gnostic's protobuf `Document` (swagger = 1, info = 2 with title = 1
    and version = 2)."""
    document = openapi_v2_document()
    info = _proto_text(1, document["info"]["title"]) + _proto_text(2, document["info"]["version"])
    return _proto_text(1, document["swagger"]) + _proto_field(2, info)


def _proto_text(number: int, text: str) -> bytes:
    return _proto_field(number, text.encode())


def _proto_field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)
