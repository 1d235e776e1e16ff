"""HTTP front of the emulator: routing, faults, the request log, JSON and watch streams."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import aiohttp.web
import attrs
import kmock

from kubernaut_wfe_tools.emulator import builtins, discovery, errors
from kubernaut_wfe_tools.emulator.admission import WriteOptions
from kubernaut_wfe_tools.emulator.codec import (
    check_list_options,
    decode_body,
    decode_continue,
    encode_continue,
    error_response,
    json_response,
    list_limit,
    sort_key,
)
from kubernaut_wfe_tools.emulator.errors import ApiError
from kubernaut_wfe_tools.emulator.faults import RequestRecord
from kubernaut_wfe_tools.emulator.objects import APPLY_PATCH
from kubernaut_wfe_tools.emulator.paths import ResourcePath, UnknownResource, parse_resource_path
from kubernaut_wfe_tools.emulator.resources import CRD_RESOURCE, ResourceType
from kubernaut_wfe_tools.emulator.selectors import FieldSelector, LabelSelector
from kubernaut_wfe_tools.emulator.tables import table, wants_table
from kubernaut_wfe_tools.emulator.watching import WatchStream

if TYPE_CHECKING:
    from kubernaut_wfe_tools.emulator.server import ApiEmulator

logger = logging.getLogger(__name__)

CONTROL_PREFIX = "/_emulator/"
_SIMPLE_DOCS = ("/healthz", "/readyz", "/livez")


def _verb(method: str, path: ResourcePath, query: dict[str, str]) -> str | None:
    item = path.name is not None
    if method == "POST" and _is_binding(path):
        return "create"
    if method == "GET":
        if item:
            return "get"
        return "watch" if query.get("watch") in ("true", "1") else "list"
    return {
        ("POST", False): "create",
        ("PUT", True): "update",
        ("PATCH", True): "patch",
        ("DELETE", True): "delete",
        ("DELETE", False): "deletecollection",
    }.get((method, item))


def _is_binding(path: ResourcePath) -> bool:
    """`pods/<name>/binding`: the subresource a scheduler posts a `Binding` to."""
    return path.subresource == builtins.BINDING and path.resource.key == builtins.PODS_KEY


@attrs.define(kw_only=True)
class EmulatorHandler(kmock.KubernetesScaffold):
    """kmock's Kubernetes scaffold with its DSL matching replaced by the emulator's router
    (kmock's own request list and payload matching grow with every request)."""

    emulator: ApiEmulator

    async def __call__(self, raw_request: aiohttp.web.BaseRequest) -> aiohttp.web.StreamResponse:
        """Serve one request (aiohttp low-level handler)."""
        return await Router(self.emulator).serve(raw_request)


class Router:
    """Dispatches one request."""

    def __init__(self, emulator: ApiEmulator) -> None:
        self.emu = emulator

    async def serve(self, request: aiohttp.web.BaseRequest) -> aiohttp.web.StreamResponse:
        """Route, applying faults and logging API requests."""
        path = request.path
        try:
            if path.startswith(CONTROL_PREFIX):
                return await self.emu.control.serve(request)
            return await self._serve_api(request)
        except ApiError as error:
            return error_response(error)
        except Exception as exc:
            logger.exception("emulator failure on %s %s", request.method, path)
            return error_response(ApiError(500, f"emulator failure: {exc!r}"))

    async def _serve_api(self, request: aiohttp.web.BaseRequest) -> aiohttp.web.StreamResponse:
        query = dict(request.query)
        resolved = parse_resource_path(self.emu.registry, request.path)
        if resolved is None:
            return self._serve_document(request)
        if isinstance(resolved, UnknownResource):
            if self._builtin_group_version(resolved.group, resolved.version):
                raise ApiError(404, "the server could not find the requested resource", details={})
            return _page_not_found()  # as the API server answers under a CRD's group
        verb = _verb(request.method, resolved, query)
        res = resolved.resource
        record = RequestRecord(
            method=request.method,
            path=request.path,
            verb=verb,
            resource=res.plural,
            namespace=resolved.namespace,
            name=resolved.name,
            subresource=resolved.subresource,
            query=query,
            user_agent=request.headers.get("User-Agent", ""),
        )
        self.emu.request_log.append(record)
        names = (res.plural, f"{res.plural}.{res.group}" if res.group else res.plural, res.key)
        refusal = await self.emu.faults.apply(record, names)
        if refusal is not None:
            return error_response(refusal)
        try:
            if verb is None:
                raise ApiError(
                    405,
                    "the server does not allow this method on the requested resource",
                    details={},
                )
            if verb in ("list", "watch"):
                check_list_options(query, watch=verb == "watch")
            if verb == "watch":
                record.status = 200
                return await WatchStream(self.emu).serve(request, resolved, query, names)
            response = await self._serve_resource(request, verb, resolved, query, record)
        except ApiError as error:
            record.status = error.code
            record.message = error.message
            raise
        record.status = response.status
        return response

    def _serve_document(self, request: aiohttp.web.BaseRequest) -> aiohttp.web.StreamResponse:
        if request.method != "GET":
            raise ApiError(
                405, "the server does not allow this method on the requested resource", details={}
            )
        segments = [s for s in request.path.split("/") if s]
        registry = self.emu.registry
        document: dict[str, Any] | None = None
        if request.path in _SIMPLE_DOCS:
            return aiohttp.web.Response(text="ok")
        if not segments:
            document = {"paths": self._root_paths()}
        elif segments == ["version"]:
            document = dict(discovery.SERVER_VERSION)
        elif segments == ["api"]:
            document = discovery.api_versions(request.host)
        elif segments == ["apis"]:
            document = discovery.api_group_list(registry)
        elif segments[0] == "api" and len(segments) == 2:
            document = discovery.api_resource_list(registry, "", segments[1])
        elif segments[0] == "apis" and len(segments) == 2:
            document = discovery.api_group(registry, segments[1])
        elif segments[0] == "apis" and len(segments) == 3:
            document = discovery.api_resource_list(registry, segments[1], segments[2])
        elif segments == ["openapi", "v2"]:
            if "protobuf" in request.headers.get("Accept", ""):
                return aiohttp.web.Response(
                    body=discovery.openapi_v2_protobuf(),
                    content_type=discovery.OPENAPI_V2_PROTOBUF,
                )
            document = discovery.openapi_v2_document()
        elif segments[:2] == ["openapi", "v3"]:
            document = self._openapi(segments[2:])
        if document is None:
            return _page_not_found()
        return json_response(document)

    def _builtin_group_version(self, group: str, version: str) -> bool:
        return any(not res.custom for res in self.emu.registry.in_group_version(group, version))

    def _openapi(self, rest: list[str]) -> dict[str, Any] | None:
        registry = self.emu.registry
        if not rest:
            return discovery.openapi_v3_index(registry)
        if rest[0] == "api" and len(rest) == 2:
            return discovery.openapi_v3_document(registry, "", rest[1])
        if rest[0] == "apis" and len(rest) == 3:
            return discovery.openapi_v3_document(registry, rest[1], rest[2])
        return None

    def _root_paths(self) -> list[str]:
        paths = {
            "/api",
            "/api/v1",
            "/apis",
            "/version",
            "/openapi/v2",
            "/openapi/v3",
            *_SIMPLE_DOCS,
        }
        for group, versions in self.emu.registry.group_versions().items():
            if group:
                paths.add(f"/apis/{group}")
                paths.update(f"/apis/{group}/{v}" for v in versions)
        return sorted(paths)

    # -- resources ---------------------------------------------------------------------------

    async def _serve_resource(
        self,
        request: aiohttp.web.BaseRequest,
        verb: str,
        path: ResourcePath,
        query: dict[str, str],
        record: RequestRecord,
    ) -> aiohttp.web.StreamResponse:
        res = path.resource
        life = self.emu.lifecycle
        if verb not in res.verbs:
            if res.key == CRD_RESOURCE.key:  # the emulator's own limit (docs/testing.md)
                raise ApiError(
                    405,
                    f'{verb} is not supported on resources of kind "{res.kind}": the emulator '
                    "serves the CRDs it loaded read-only",
                )
            raise ApiError(
                405,
                "the server does not allow this method on the requested resource",
                details={},
            )
        if (path.subresource not in (None, "status") and not _is_binding(path)) or (
            path.subresource == "status" and not res.status_subresource
        ):
            raise ApiError(404, "the server could not find the requested resource")
        options = WriteOptions(
            warnings=record.warnings,
            field_validation=query.get("fieldValidation", "Warn"),
            dry_run=bool(query.get("dryRun")),
        )
        if options.field_validation not in ("Ignore", "Warn", "Strict"):
            raise ApiError(
                400,
                f'fieldValidation: Unsupported value: "{options.field_validation}": supported '
                'values: "Ignore", "Warn", "Strict"',
            )
        if path.subresource == builtins.BINDING:
            return await self._bind(request, verb, path, options)
        namespace = path.namespace or ""
        if verb == "get":
            assert path.name is not None
            return self._render(request, res, [life.get(res, namespace, path.name)], single=True)
        if verb == "list":
            return self._list(request, res, path.namespace, query)
        body_bytes = await request.read()
        if verb == "create":
            created = life.create(res, path.namespace, decode_body(body_bytes), options)
            record.name = str(created["metadata"]["name"])  # the log names what was created
            return json_response(created, 201, options.warnings)
        assert path.name is not None or verb == "deletecollection"
        if verb == "update":
            assert path.name is not None
            updated = life.update(
                res,
                namespace,
                path.name,
                decode_body(body_bytes),
                subresource=path.subresource,
                options=options,
            )
            return json_response(updated, 200, options.warnings)
        if verb == "patch":
            assert path.name is not None
            content_type = request.headers.get("Content-Type", "")
            if content_type.startswith(APPLY_PATCH) and not query.get("fieldManager"):
                message = "Required value: is required for apply patch"
                raise errors.invalid(
                    "PatchOptions",
                    "meta.k8s.io",
                    "",
                    [{"reason": "FieldValueRequired", "message": message, "field": "fieldManager"}],
                    [f"fieldManager: {message}"],
                )
            patched, created_now = life.patch(
                res,
                namespace,
                path.name,
                content_type=content_type,
                raw_body=body_bytes,
                subresource=path.subresource,
                options=options,
            )
            return json_response(patched, 201 if created_now else 200, options.warnings)
        delete_options = decode_body(body_bytes) if body_bytes.strip() else {}
        if verb == "delete":
            assert path.name is not None
            deleted, gone = life.delete(
                res, namespace, path.name, delete_options, dry_run=options.dry_run
            )
            # as the API server: a Status when the object is gone (a pod's registry answers the
            # pod), else the object as it is now
            answer = deleted if res.key == builtins.PODS_KEY else _success(res, deleted)
            return json_response(answer if gone else deleted, 200)
        selected = self._select(res, path.namespace, query)
        for obj in selected:
            meta = obj["metadata"]
            life.delete(
                res,
                meta.get("namespace", ""),
                meta["name"],
                delete_options,
                dry_run=options.dry_run,
            )
        list_meta = {"resourceVersion": str(self.emu.store.revision)}
        return json_response(self._list_body(res, selected, list_meta))

    async def _bind(
        self,
        request: aiohttp.web.BaseRequest,
        verb: str,
        path: ResourcePath,
        options: WriteOptions,
    ) -> aiohttp.web.StreamResponse:
        if verb != "create":
            raise ApiError(
                405, "the server does not allow this method on the requested resource", details={}
            )
        assert path.name is not None
        body = decode_body(await request.read())
        answer = self.emu.lifecycle.bind(
            path.resource, path.namespace or "", path.name, body, options
        )
        return json_response(answer, 201, options.warnings)

    def _select(
        self, res: ResourceType, namespace: str | None, query: dict[str, str]
    ) -> list[dict[str, Any]]:
        labels = LabelSelector.parse(query.get("labelSelector"))
        fields = FieldSelector.for_resource(res, query.get("fieldSelector"))
        return self.emu.store.select(res.key, namespace, labels, fields)

    def _list(
        self,
        request: aiohttp.web.BaseRequest,
        res: ResourceType,
        namespace: str | None,
        query: dict[str, str],
    ) -> aiohttp.web.StreamResponse:
        labels = LabelSelector.parse(query.get("labelSelector"))
        fields = FieldSelector.for_resource(res, query.get("fieldSelector"))
        token = query.get("continue")
        page = self.emu.store.page(
            res.key,
            namespace,
            labels,
            fields,
            after=decode_continue(token) if token else None,
            limit=list_limit(query.get("limit")),
        )
        list_meta: dict[str, Any] = {"resourceVersion": str(self.emu.store.revision)}
        if page.more and page.items:
            list_meta["continue"] = encode_continue(
                sort_key(page.items[-1]), self.emu.store.revision
            )
            if page.remaining is not None:
                list_meta["remainingItemCount"] = page.remaining
        return self._render(request, res, page.items, list_meta=list_meta)

    def _render(
        self,
        request: aiohttp.web.BaseRequest,
        res: ResourceType,
        objects: list[dict[str, Any]],
        *,
        single: bool = False,
        list_meta: dict[str, Any] | None = None,
    ) -> aiohttp.web.Response:
        meta = list_meta or {"resourceVersion": str(self.emu.store.revision)}
        if wants_table(request.headers.get("Accept", "")):
            return json_response(table(res, objects, meta, self.emu.lifecycle.clock()))
        if single:
            return json_response(objects[0])
        return json_response(self._list_body(res, objects, meta))

    def _list_body(
        self, res: ResourceType, objects: list[dict[str, Any]], meta: dict[str, Any]
    ) -> dict[str, Any]:
        return {
            "apiVersion": res.api_version,
            "kind": f"{res.kind}List",
            "metadata": meta,
            "items": objects,
        }


def _page_not_found() -> aiohttp.web.Response:
    """The API server's answer to a path it does not serve: plain text, not a Status."""
    return aiohttp.web.Response(status=404, text="404 page not found\n")


def _success(res: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata") or {}
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": {
            key: value
            for key, value in (
                ("name", meta.get("name")),
                ("group", res.group),
                ("kind", res.plural),
                ("uid", meta.get("uid")),
            )
            if value
        },
    }
