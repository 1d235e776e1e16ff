"""The permissions kopf's watches need, reviewed at start (kopf sends them itself, so a refusal
would otherwise be found only in its log)."""

from __future__ import annotations

from kubernaut_wfe.controller.kopf_setup import WATCHED, watch_permissions
from kubernaut_wfe.core.config import ControllerConfig


def test_a_cluster_wide_controller_needs_list_and_watch_of_each_kind_cluster_wide() -> None:
    permissions = watch_permissions(ControllerConfig())
    assert {str(p) for p in permissions} >= {
        "watch workflowexecutions.kubernaut.ai cluster-wide",
        "list pipelineruns.tekton.dev cluster-wide",
        "watch taskruns.tekton.dev cluster-wide",
        "watch jobs.batch cluster-wide",
        "watch pods cluster-wide",
        "list events cluster-wide",
    }
    assert len(permissions) == 2 * len(WATCHED)


def test_a_namespaced_controller_needs_them_in_its_namespaces_and_the_execution_one() -> None:
    config = ControllerConfig.model_validate({"controller": {"namespaces": ["team-a"]}})
    namespaces = {p.namespace for p in watch_permissions(config)}
    assert namespaces == {"team-a", config.execution.namespace}
