"""The permission a request needs, and the ledger of refused ones."""

from __future__ import annotations

import pytest

from kubernaut_wfe.adapters.permissions import (
    Permission,
    PermissionLedger,
    is_rbac_refusal,
    permission_of,
)

WFES = "/apis/kubernaut.ai/v1alpha1/namespaces/team-a/workflowexecutions"
KAI, WFE = "kubernaut.ai", "workflowexecutions"


@pytest.mark.parametrize(
    ("method", "path", "params", "expected"),
    [
        ("GET", f"{WFES}/x", None, Permission("get", KAI, WFE, "", "team-a")),
        ("GET", WFES, None, Permission("list", KAI, WFE, "", "team-a")),
        ("GET", WFES, {"watch": "true"}, Permission("watch", KAI, WFE, "", "team-a")),
        ("GET", "/apis/kubernaut.ai/v1alpha1/workflowexecutions", None,
         Permission("list", KAI, WFE)),
        ("PATCH", f"{WFES}/x/status", None, Permission("patch", KAI, WFE, "status", "team-a")),
        ("PUT", f"{WFES}/x", None, Permission("update", KAI, WFE, "", "team-a")),
        ("POST", "/apis/tekton.dev/v1/namespaces/kubernaut-workflows/pipelineruns", None,
         Permission("create", "tekton.dev", "pipelineruns", "", "kubernaut-workflows")),
        ("DELETE", "/apis/tekton.dev/v1/namespaces/w/pipelineruns/wfe-1", None,
         Permission("delete", "tekton.dev", "pipelineruns", "", "w")),
        ("POST", "/api/v1/namespaces/default/events", None,
         Permission("create", "", "events", "", "default")),
        ("GET", "/api/v1/namespaces/default", None, Permission("get", "", "namespaces", "", "")),
        ("GET", "/api/v1/namespaces", None, Permission("list", "", "namespaces")),
        ("GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/a.b", None,
         Permission("get", "apiextensions.k8s.io", "customresourcedefinitions")),
        ("GET", "/version", None, None),
        ("GET", "/apis", None, None),
        ("GET", "/api/v1", None, None),
    ],
)  # fmt: skip
def test_the_permission_of_a_request(
    method: str, path: str, params: dict[str, str] | None, expected: Permission | None
) -> None:
    assert permission_of(method, path, params) == expected


def test_a_permission_reads_as_rbac_speaks_of_it() -> None:
    assert str(Permission("patch", "kubernaut.ai", "workflowexecutions", "status", "default")) == (
        "patch workflowexecutions.kubernaut.ai/status in namespace default"
    )
    assert str(Permission("list", "", "namespaces")) == "list namespaces cluster-wide"


def test_the_access_review_asks_for_exactly_the_permission() -> None:
    review = Permission("create", "tekton.dev", "pipelineruns", "", "w").access_review()
    assert review["kind"] == "SelfSubjectAccessReview"
    assert review["spec"] == {
        "resourceAttributes": {
            "verb": "create",
            "group": "tekton.dev",
            "resource": "pipelineruns",
            "namespace": "w",
        }
    }
    status = Permission("patch", KAI, WFE, "status").access_review()
    assert status["spec"] == {
        "resourceAttributes": {
            "verb": "patch", "group": KAI, "resource": WFE, "subresource": "status"
        }
    }  # fmt: skip


def test_the_ledger_keeps_a_refusal_until_the_permission_works() -> None:
    ledger = PermissionLedger()
    create = Permission("create", "tekton.dev", "pipelineruns", "", "w")
    patch = Permission("patch", "kubernaut.ai", "workflowexecutions", "status", "a")
    assert ledger.denied(patch, "first")
    assert ledger.denied(create, "forbidden")
    assert not ledger.denied(patch, "again")
    assert ledger.missing() == [create, patch]
    assert ledger.message(patch) == "again"
    assert ledger.granted(patch)
    assert not ledger.granted(patch)
    assert ledger.missing() == [create]


@pytest.mark.parametrize(
    ("status", "message", "expected"),
    [
        (403, 'pipelineruns.tekton.dev is forbidden: User "x" cannot create resource', True),
        (
            403,
            'pipelineruns "a" is forbidden: exceeded quota: q, requested: count/pipelineruns=1',
            False,
        ),
        (401, "Unauthorized", False),
        (500, "forbidden", False),
    ],
)
def test_only_an_rbac_refusal_is_a_missing_permission(
    status: int, message: str, expected: bool
) -> None:
    assert is_rbac_refusal(status, message) is expected
