"""The fault proxy's reading of a request (verb, resource, namespace, name, subresource), as the
API server's RequestInfoFactory reads it, and the names fault rules match a resource by."""

from __future__ import annotations

import pytest

from kubernaut_wfe_tools.testing.faultproxy.requestinfo import RequestInfo, parse_request_info

WFES = "/apis/kubernaut.ai/v1alpha1/namespaces/default/workflowexecutions"
RUNS = "/apis/tekton.dev/v1/namespaces/kubernaut-workflows/pipelineruns"


def _info(
    verb: str | None,
    resource: str,
    namespace: str | None = None,
    name: str | None = None,
    subresource: str | None = None,
    *,
    group: str = "",
    version: str = "v1",
) -> RequestInfo:
    return RequestInfo(verb, group, version, resource, namespace, name, subresource)


@pytest.mark.parametrize(
    ("method", "path", "query", "expected"),
    [
        ("GET", "/api/v1/pods", {}, _info("list", "pods")),
        ("GET", "/api/v1/namespaces/ns/pods", {}, _info("list", "pods", "ns")),
        ("GET", "/api/v1/namespaces/ns/pods", {"watch": "true"}, _info("watch", "pods", "ns")),
        ("GET", "/api/v1/namespaces/ns/pods", {"watch": "1"}, _info("watch", "pods", "ns")),
        ("GET", "/api/v1/namespaces/ns/pods", {"watch": "false"}, _info("list", "pods", "ns")),
        ("GET", "/api/v1/namespaces/ns/pods/p", {}, _info("get", "pods", "ns", "p")),
        ("HEAD", "/api/v1/namespaces/ns/pods/p", {}, _info("get", "pods", "ns", "p")),
        ("GET", "/api/v1/namespaces/ns/pods/p/log", {}, _info("get", "pods", "ns", "p", "log")),
        ("POST", "/api/v1/namespaces/ns/pods", {}, _info("create", "pods", "ns")),
        ("PUT", "/api/v1/namespaces/ns/pods/p", {}, _info("update", "pods", "ns", "p")),
        ("PATCH", "/api/v1/namespaces/ns/pods/p", {}, _info("patch", "pods", "ns", "p")),
        ("DELETE", "/api/v1/namespaces/ns/pods/p", {}, _info("delete", "pods", "ns", "p")),
        ("DELETE", "/api/v1/namespaces/ns/pods", {}, _info("deletecollection", "pods", "ns")),
        ("OPTIONS", "/api/v1/namespaces/ns/pods", {}, _info(None, "pods", "ns")),
        # a Namespace is cluster-scoped: the object itself, its status, its finalize
        ("GET", "/api/v1/namespaces", {}, _info("list", "namespaces")),
        ("POST", "/api/v1/namespaces", {}, _info("create", "namespaces")),
        ("GET", "/api/v1/namespaces/ns", {}, _info("get", "namespaces", None, "ns")),
        ("DELETE", "/api/v1/namespaces/ns", {}, _info("delete", "namespaces", None, "ns")),
        (
            "PUT", "/api/v1/namespaces/ns/status", {},
            _info("update", "namespaces", None, "ns", "status"),
        ),
        (
            "PUT", "/api/v1/namespaces/ns/finalize", {},
            _info("update", "namespaces", None, "ns", "finalize"),
        ),
        # groups
        (
            "GET", WFES, {"watch": "true"},
            _info("watch", "workflowexecutions", "default", group="kubernaut.ai",
                  version="v1alpha1"),
        ),
        (
            "PATCH", f"{WFES}/w/status", {},
            _info("patch", "workflowexecutions", "default", "w", "status", group="kubernaut.ai",
                  version="v1alpha1"),
        ),
        (
            "GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/x.y", {},
            _info("get", "customresourcedefinitions", None, "x.y",
                  group="apiextensions.k8s.io"),
        ),
        (
            "POST", RUNS, {},
            _info("create", "pipelineruns", "kubernaut-workflows", group="tekton.dev"),
        ),
        # the deprecated /watch/ and /proxy/ paths carry the verb
        ("GET", "/api/v1/watch/namespaces/ns/pods", {}, _info("watch", "pods", "ns")),
        ("GET", "/api/v1/watch/namespaces/ns/pods/p", {}, _info("watch", "pods", "ns", "p")),
        ("GET", "/api/v1/watch/pods", {}, _info("watch", "pods")),
        ("GET", "/api/v1/proxy/namespaces/ns/pods/p/a/b", {}, _info("proxy", "pods", "ns", "p")),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)  # fmt: skip
def test_a_resource_request_is_read_as_the_api_server_reads_it(
    method: str, path: str, query: dict[str, str], expected: RequestInfo
) -> None:
    assert parse_request_info(method, path, query) == expected


@pytest.mark.parametrize(
    ("selector", "name"),
    [
        ("metadata.name=w", "w"),
        ("metadata.name==w", "w"),
        ("status.phase=Running,metadata.name=w", "w"),
        ("metadata.name!=w", None),
        ("metadata.namespace=w", None),
        ("metadata.name=", None),
        ("metadata.name=..", None),
        ("metadata.name=a/b", None),
        ("metadata.name=a\\,b", "a,b"),
        ("nonsense", None),
    ],
)
def test_a_list_or_watch_takes_its_name_from_an_exact_field_selector(
    selector: str, name: str | None
) -> None:
    listed = parse_request_info("GET", WFES, {"fieldSelector": selector})
    watched = parse_request_info("GET", WFES, {"fieldSelector": selector, "watch": "true"})
    assert listed is not None
    assert watched is not None
    assert (listed.verb, listed.name) == ("list", name)
    assert (watched.verb, watched.name) == ("watch", name)


def test_a_field_selector_does_not_rename_a_request_with_a_name_in_its_path() -> None:
    info = parse_request_info("GET", f"{WFES}/w", {"fieldSelector": "metadata.name=other"})
    assert info is not None
    assert (info.verb, info.name) == ("get", "w")


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/version",
        "/healthz",
        "/readyz",
        "/livez",
        "/metrics",
        "/openapi/v2",
        "/openapi/v3/apis/tekton.dev/v1",
        "/api",
        "/api/v1",
        "/apis",
        "/apis/tekton.dev",
        "/apis/tekton.dev/v1",
        "/apis/tekton.dev/v1/",
        "/api/v1/watch",
        "/logs/x/y",
    ],
)
def test_a_non_resource_request_is_none(path: str) -> None:
    assert parse_request_info("GET", path, {}) is None


def test_a_resource_answers_to_its_plural_its_group_qualified_name_and_its_key() -> None:
    runs = parse_request_info("GET", RUNS, {})
    events = parse_request_info("GET", "/api/v1/namespaces/ns/events", {})
    assert runs is not None
    assert events is not None
    assert runs.resource_names == (
        "pipelineruns",
        "pipelineruns.tekton.dev",
        "tekton.dev/v1/pipelineruns",
    )
    assert events.resource_names == ("events", "events", "/v1/events")
