"""Fault injection between the controller and a real API server: a TLS reverse proxy on loopback
that applies the emulator's fault rules (`kubernaut_wfe_tools.emulator.faults`, the one
implementation both share) to the Kubernetes requests passing through it.

Hand-written because no maintained library injects faults by the Kubernetes API's own request
attributes (verb, resource, namespace, name, subresource, open watches): TCP-level tools such as
Toxiproxy cannot see inside TLS, and general HTTP proxies know nothing of Kubernetes requests.

Use: `async with FaultProxy(cluster.url, cluster.tls(admin=False), *cluster.proxy_certificate)
as proxy`, point a client at `proxied_kubeconfig(cluster.controller_kubeconfig, proxy.url, ...)`,
then `proxy.faults.add(action=..., ...)` as with the emulator; `proxy.refused` logs what the proxy
answered itself.
"""

from kubernaut_wfe_tools.testing.faultproxy.kubeconfig import proxied_kubeconfig
from kubernaut_wfe_tools.testing.faultproxy.proxy import FaultProxy
from kubernaut_wfe_tools.testing.faultproxy.requestinfo import RequestInfo, parse_request_info

__all__ = ["FaultProxy", "RequestInfo", "parse_request_info", "proxied_kubeconfig"]
