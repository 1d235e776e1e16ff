"""`kubernaut-wfe sandbox`: the whole stack on one machine, for newcomers and the e2e suite.

The Kubernetes API emulator with the Tekton simulator, the audit service on a fresh SQLite
database and the controller as its own process (the same `kubernaut-wfe run` users deploy), all on
127.0.0.1; then it applies manifests over the Kubernetes API and shows a live timeline of every
WorkflowExecution. With `--api cluster` a real control plane (the test cluster) replaces the
emulator and the controller runs on its ServiceAccount.

| module | role |
|---|---|
| `manifests.py` | reading multi-document YAML, locating `examples/` |
| `kubeapi.py` | the small HTTP client: discovery, create, namespaces, list and watch WFEs |
| `timeline.py` | pure: what changed between two views of a WFE, one progress line per WFE |
| `display.py` | plain timestamped lines, or a redrawn block of progress lines on a terminal |
| `stack.py` | starting and stopping everything; the `sandbox.json` state file |
| `cluster.py` | `--api cluster`: the built binaries, the real control plane's start and stop |
| `session.py` | apply, watch, `--exit-when-done`, the `--output json` document |
"""

from kubernaut_wfe_tools.sandbox.session import SandboxOptions, run_sandbox
from kubernaut_wfe_tools.sandbox.stack import STATE_FILE_NAME, Endpoints

__all__ = ["STATE_FILE_NAME", "Endpoints", "SandboxOptions", "run_sandbox"]
