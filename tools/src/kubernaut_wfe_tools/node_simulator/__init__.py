"""A node for the Job engine's pods: the kubelet and containerd, played by a test tool.

The test cluster runs the real API server and the real kube-controller-manager (Job controller,
garbage collector) but no scheduler and no kubelet: `NodeSimulator` registers a Node, binds the
`kubernaut.ai/workflow-execution` pods to it and runs them by their container's `FAILURE_MODE`,
writing what the kubelet writes (`job-engine.md` §9). On the API emulator, where no Job
controller runs, it plays that too (`play_job_controller=True`, `companion()`). `scenario`,
`documents`, `timeline` and `job_sync` are pure; `driver`, `pod_player`, `heartbeat`,
`job_controller` and `_api` do the I/O.
"""

from kubernaut_wfe_tools.node_simulator.documents.node import NodeIdentity
from kubernaut_wfe_tools.node_simulator.driver import NodeSimulator, companion
from kubernaut_wfe_tools.node_simulator.scenario import (
    Outcome,
    PodScenario,
    ScenarioError,
    read_scenario,
)
from kubernaut_wfe_tools.node_simulator.timeline import (
    Pacing,
    Timeline,
    Write,
    WriteKind,
    build_timeline,
)

__all__ = [
    "NodeIdentity",
    "NodeSimulator",
    "Outcome",
    "Pacing",
    "PodScenario",
    "ScenarioError",
    "Timeline",
    "Write",
    "WriteKind",
    "build_timeline",
    "companion",
    "read_scenario",
]
