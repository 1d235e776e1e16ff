"""The name files a service pod's container gets: its own name on its IP, the cluster's search
path, and a name server where nothing answers (a lookup fails at once, never hangs)."""

from __future__ import annotations

from kubernaut_wfe_tools.node_simulator.service_pods.network_files import hosts, resolv_conf


def test_the_hosts_file_names_the_pod_on_its_ip_and_keeps_localhost() -> None:
    lines = hosts("10.244.0.6", "controller-abc").splitlines()
    assert "127.0.0.1\tlocalhost" in lines
    assert lines[-1] == "10.244.0.6\tcontroller-abc"


def test_resolv_conf_searches_the_pods_namespace_first_and_asks_loopback() -> None:
    lines = resolv_conf("kubernaut-system").splitlines()
    assert lines[0] == ("search kubernaut-system.svc.cluster.local svc.cluster.local cluster.local")
    assert "nameserver 127.0.0.1" in lines
    assert "options ndots:5" in lines
