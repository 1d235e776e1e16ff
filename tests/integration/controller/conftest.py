"""The controller's integration stack (`kubernaut_wfe_tools.testing.stack`) with the audit
service on SQLite, in three namespaces besides the execution one, and the means to play Tekton
by hand."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from kubernaut_wfe.constants import Annotation, Label
from kubernaut_wfe_tools.testing.stack import (
    EXECUTION_NAMESPACE,
    HELLO,
    RUNS_PATH,
    IntegrationStack,
    serving_stack,
    sqlite_audit_service,
)
from kubernaut_wfe_tools.testing.testcluster import TestCluster


class Stack(IntegrationStack):
    """Everything a controller test talks to, and PipelineRuns written by hand."""

    async def put_run(
        self, name: str, *, holder: str, holder_uid: str, finalizers: list[str] | None = None
    ) -> dict[str, Any]:
        """CREATE a PipelineRun by hand, annotated as held by `holder` (`ns/name`)."""
        body = {
            "apiVersion": "tekton.dev/v1",
            "kind": "PipelineRun",
            "metadata": {
                "name": name,
                "namespace": EXECUTION_NAMESPACE,
                "labels": {Label.WORKFLOW_EXECUTION.value: holder.split("/")[1]},
                "annotations": {
                    Annotation.WORKFLOW_EXECUTION.value: holder,
                    Annotation.WORKFLOW_EXECUTION_UID.value: holder_uid,
                },
                "finalizers": finalizers or [],
            },
            "spec": {
                "pipelineRef": {
                    "resolver": "bundles",
                    "params": [
                        {"name": "bundle", "value": HELLO},
                        {"name": "name", "value": "workflow"},
                        {"name": "kind", "value": "pipeline"},
                    ],
                }
            },
        }
        response = await self.client.post(RUNS_PATH, json=body)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    async def patch_json(self, path: str, patch: Any) -> None:
        """A merge patch of any object through the API."""
        response = await self.client.patch(
            path, json=patch, headers={"Content-Type": "application/merge-patch+json"}
        )
        assert response.status_code == 200, response.text


@pytest.fixture
async def audit_url(tmp_path: Path) -> AsyncIterator[str]:
    """The audit service on SQLite, serving until the test ends."""
    async with sqlite_audit_service(tmp_path) as url:
        yield url


NAMESPACES = (EXECUTION_NAMESPACE, "team-a", "team-b")


@pytest.fixture
async def stack(
    tmp_path: Path, audit_url: str, api_cluster: TestCluster | None
) -> AsyncIterator[Stack]:
    """The whole stack with the Tekton simulator driving every run."""
    async with serving_stack(
        Stack, tmp_path, audit_url, cluster=api_cluster, namespaces=NAMESPACES
    ) as stack:
        yield stack


@pytest.fixture
async def bare_stack(
    tmp_path: Path, audit_url: str, api_cluster: TestCluster | None
) -> AsyncIterator[Stack]:
    """The stack without Tekton: runs stay as created unless the test writes their status."""
    async with serving_stack(
        Stack, tmp_path, audit_url, cluster=api_cluster, namespaces=NAMESPACES, tekton=False
    ) as stack:
        yield stack
