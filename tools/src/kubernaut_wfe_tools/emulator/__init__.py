"""A Kubernetes API emulator in place of envtest (no apiserver can be had on these machines).

It serves discovery, `/version`, OpenAPI v3 (for `kubectl apply`/`explain`), namespaces, events,
leases and the custom resources of the loaded CRDs (the WorkflowExecution CRD and the emulator's
own Tekton PipelineRun/TaskRun CRDs by default), enforcing what a real apiserver enforces:
schemas and CEL rules, pruning and strict field validation, status-subresource rules,
resourceVersion conflicts, finalizers, selectors, paging and watches. Request bodies are JSON,
or protobuf for the built-in kinds `kubectl create` makes (namespace, configmap, secret,
serviceaccount); other protobuf bodies get a 415 that says to send JSON.

Test hooks under `/_emulator/` (also `ApiEmulator.request_log` / `.faults` in-process):
- `GET /_emulator/requests?verb=&resource=&namespace=&name=&subresource=&method=` → `{items}`;
  `DELETE /_emulator/requests` clears the log.
- `POST /_emulator/faults` `{action: error|hold|delay|drop-watch, count, verb?, resource?,
  namespace?, name?, subresource?, status?: 400|403|409|410|422|429|500|503|504, message?,
  delay_seconds?}`;
  `GET`/`DELETE /_emulator/faults`; `POST /_emulator/faults/release` lets held requests go.
"""

from kubernaut_wfe_tools.emulator.errors import ApiError
from kubernaut_wfe_tools.emulator.faults import FaultInjector, FaultRule, RequestLog, RequestRecord
from kubernaut_wfe_tools.emulator.server import ApiEmulator, Companion, default_crd_paths, load_crds

__all__ = [
    "ApiEmulator",
    "ApiError",
    "Companion",
    "FaultInjector",
    "FaultRule",
    "RequestLog",
    "RequestRecord",
    "default_crd_paths",
    "load_crds",
]
