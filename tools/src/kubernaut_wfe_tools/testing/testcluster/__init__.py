"""The test cluster: a real kube-apiserver, etcd and kube-controller-manager built from their Go
modules (`tools/testcluster/`), started on loopback for the tests and for people."""

from kubernaut_wfe_tools.testing.testcluster.build import BuildError, build, built
from kubernaut_wfe_tools.testing.testcluster.cluster import (
    CONTROLLER_USER,
    ClusterError,
    TestCluster,
    owned_cluster,
    running_cluster,
)

__all__ = [
    "CONTROLLER_USER",
    "BuildError",
    "ClusterError",
    "TestCluster",
    "build",
    "built",
    "owned_cluster",
    "running_cluster",
]
