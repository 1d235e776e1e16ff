"""The kubelet's HTTP probe: a GET of the container's port on the pod IP; success is a status
from 200 to 399; a failure reads as the kubelet's `Unhealthy` Event quotes it."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from kubernaut_wfe_tools.node_simulator import messages
from kubernaut_wfe_tools.node_simulator.service_pods.spec import Probe

USER_AGENT = "kube-probe/1.36"


@dataclass(frozen=True)
class ProbeResult:
    success: bool
    output: str
    """The failure as the kubelet words it ('' on success)."""


async def http_probe(client: httpx.AsyncClient, probe: Probe, pod_ip: str) -> ProbeResult:
    address = f"{pod_ip}:{probe.port}"
    url = f"{probe.scheme}://{address}{probe.path}"
    try:
        response = await client.get(
            url, timeout=probe.timeout, headers={"User-Agent": USER_AGENT}, follow_redirects=False
        )
    except httpx.TimeoutException:
        return ProbeResult(False, messages.probe_get_failed(url, messages.PROBE_TIMEOUT))
    except httpx.ConnectError:
        return ProbeResult(
            False, messages.probe_get_failed(url, messages.connection_refused(address))
        )
    except httpx.HTTPError as error:
        return ProbeResult(
            False, messages.probe_get_failed(url, str(error) or type(error).__name__)
        )
    if 200 <= response.status_code < 400:
        return ProbeResult(True, "")
    return ProbeResult(False, messages.probe_status_code(response.status_code))
