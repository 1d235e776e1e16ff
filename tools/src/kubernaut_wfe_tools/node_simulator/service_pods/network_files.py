"""The name files the kubelet gives every container (pure): `/etc/hosts` with the pod's own name
on its IP, and `/etc/resolv.conf` with the cluster's search path."""

from __future__ import annotations

CLUSTER_DOMAIN = "cluster.local"
NO_NAME_SERVER = "127.0.0.1"
"""Where lookups go without cluster DNS: nothing listens there, so they fail at once."""


def hosts(pod_ip: str, pod_name: str) -> str:
    """The kubelet's managed hosts file (`hostNetwork: false`)."""
    return (
        "# Kubernetes-managed hosts file.\n"
        "127.0.0.1\tlocalhost\n"
        "::1\tlocalhost ip6-localhost ip6-loopback\n"
        "fe00::0\tip6-localnet\n"
        "fe00::0\tip6-mcastprefix\n"
        "fe00::1\tip6-allnodes\n"
        "fe00::2\tip6-allrouters\n"
        f"{pod_ip}\t{pod_name}\n"
    )


def resolv_conf(namespace: str) -> str:
    """`dnsPolicy: ClusterFirst` without a cluster DNS Service: the search path of a pod of
    `namespace`, the name server nobody answers on."""
    search = f"{namespace}.svc.{CLUSTER_DOMAIN} svc.{CLUSTER_DOMAIN} {CLUSTER_DOMAIN}"
    return f"search {search}\nnameserver {NO_NAME_SERVER}\noptions ndots:5\n"
