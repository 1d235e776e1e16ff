"""The kubelet of the Job rows on the real API server: the node stand-in
(`kubernaut_wfe_tools.node_simulator.NodeSimulator`) as a child process of the benchmark, so that
its work (a thousand pods' binding, statuses and Events) neither slows the benchmark's own
watches, which time the completion mirror, nor hides from the CPU the processes share.

Run as `python -m bench.node_stand_in KUBECONFIG NAMESPACE` (the admin's kubeconfig: its requests
are not the controller's); prints `ready` once its Node is registered and its pod watch started,
and plays the pods of NAMESPACE until it is stopped (SIGTERM).
"""

from __future__ import annotations

import asyncio
import sys

from kubernaut_wfe.adapters.kube_connection import KubeConnection
from kubernaut_wfe.adapters.kubeconfig import load_kubeconfig
from kubernaut_wfe_tools.node_simulator import NodeSimulator


async def main(kubeconfig: str, namespace: str) -> None:
    """Play the node until cancelled."""
    connection = KubeConnection.open(load_kubeconfig(kubeconfig))
    token = connection.token.read_now() if connection.token is not None else None
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with NodeSimulator(
        connection.server, namespaces=[namespace], tls=connection.tls, headers=headers
    ):
        print("ready", flush=True)
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
