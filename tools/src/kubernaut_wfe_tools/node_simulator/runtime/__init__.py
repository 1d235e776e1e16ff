"""The node stand-in's container runtime: a pod's containers run as local processes, each in
the pod's network namespace (`PodSandbox`, its own veth and pod IP), in a private mount
namespace on an overlay of the host's `/`, as the uid, volumes, read-only root and memory limit
of its spec say. `ServiceProxy` plays kube-proxy for the Service IPs the pods reach.

`addresses`, `spec` and the parsing in `cgroups` are pure; `launch.py` is the launcher the
sandbox runs as root in the new namespaces (standard library only). Needs root and iproute2
(`runtime_available()` says why not).
"""

from kubernaut_wfe_tools.node_simulator.runtime.availability import runtime_available
from kubernaut_wfe_tools.node_simulator.runtime.container import RunningContainer
from kubernaut_wfe_tools.node_simulator.runtime.proxy import ServiceProxy
from kubernaut_wfe_tools.node_simulator.runtime.sandbox import PodSandbox
from kubernaut_wfe_tools.node_simulator.runtime.spec import ContainerSpec, ExitStatus, Mount

__all__ = [
    "ContainerSpec",
    "ExitStatus",
    "Mount",
    "PodSandbox",
    "RunningContainer",
    "ServiceProxy",
    "runtime_available",
]
