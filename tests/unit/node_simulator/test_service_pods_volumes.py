"""A service pod's volumes: what they need from the API, and the files the kubelet fills them
with."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

import pytest

from kubernaut_wfe_tools.node_simulator import messages
from kubernaut_wfe_tools.node_simulator.samples import kube_api_access_volume
from kubernaut_wfe_tools.node_simulator.service_pods.spec import ConfigError, Identity
from kubernaut_wfe_tools.node_simulator.service_pods.volumes import (
    MountError,
    Needs,
    ObjectKey,
    TokenSource,
    VolumeContent,
    needs,
    object_data,
    volume_contents,
)

WHO = Identity(
    name="controller-0",
    namespace="kubernaut-system",
    uid="uid-1",
    node_name="kubelet-standin",
    service_account="kubernaut-wfe-controller",
    pod_ip="10.244.0.7",
    host_ip="172.18.0.2",
    labels={"app": "kubernaut-wfe"},
    annotations={},
)
CONFIG = {"data": {"config.yaml": "logLevel: info\n", "extra.yaml": "a: 1\n"}}
ROOT_CA = {"data": {"ca.crt": "-----BEGIN CERTIFICATE-----\n"}}
KUBE_API_ACCESS = kube_api_access_volume()
ACCESS_TOKEN = TokenSource(audience=None, expiration_seconds=3607)


def pod_with(*volumes: Mapping[str, Any]) -> dict[str, Any]:
    return {"spec": {"volumes": list(volumes)}}


def contents(
    *volumes: Mapping[str, Any],
    objects: Mapping[ObjectKey, Mapping[str, Any] | None] | None = None,
    tokens: Mapping[TokenSource, str] | None = None,
) -> dict[str, VolumeContent]:
    return volume_contents(pod_with(*volumes), objects or {}, tokens or {}, WHO)


def test_needs_lists_the_objects_and_tokens_of_every_volume() -> None:
    pod = pod_with(
        {"name": "config", "configMap": {"name": "app-config"}},
        {"name": "creds", "secret": {"secretName": "app-creds"}},
        {"name": "tmp", "emptyDir": {}},
        {
            "name": "bundle",
            "projected": {
                "sources": [
                    {"secret": {"name": "bundle-key"}},
                    {"serviceAccountToken": {"path": "vault", "audience": "vault"}},
                ]
            },
        },
        KUBE_API_ACCESS,
    )

    assert needs(pod) == Needs(
        objects=frozenset(
            {
                ("configmaps", "app-config"),
                ("secrets", "app-creds"),
                ("secrets", "bundle-key"),
                ("configmaps", "kube-root-ca.crt"),
            }
        ),
        tokens=frozenset({TokenSource("vault", 3600), ACCESS_TOKEN}),
    )


def test_a_pod_without_volumes_needs_nothing() -> None:
    assert needs({"spec": {}}) == Needs(frozenset(), frozenset())


def test_a_config_map_volume_holds_every_key_with_the_default_mode() -> None:
    volume = {"name": "config", "configMap": {"name": "app-config"}}

    found = contents(volume, objects={("configmaps", "app-config"): CONFIG})

    assert found == {
        "config": VolumeContent(
            files={
                "config.yaml": (b"logLevel: info\n", 0o644),
                "extra.yaml": (b"a: 1\n", 0o644),
            }
        )
    }


def test_binary_data_is_decoded() -> None:
    volume = {"name": "config", "configMap": {"name": "app-config"}}
    obj = {"binaryData": {"blob": base64.b64encode(b"\x00\x01").decode()}}

    found = contents(volume, objects={("configmaps", "app-config"): obj})

    assert found["config"].files == {"blob": (b"\x00\x01", 0o644)}


def test_items_select_keys_to_paths_with_their_modes() -> None:
    volume = {
        "name": "config",
        "configMap": {
            "name": "app-config",
            "defaultMode": 0o440,
            "items": [
                {"key": "config.yaml", "path": "conf/main.yaml"},
                {"key": "extra.yaml", "path": "extra.yaml", "mode": 0o400},
            ],
        },
    }

    found = contents(volume, objects={("configmaps", "app-config"): CONFIG})

    assert found["config"].files == {
        "conf/main.yaml": (b"logLevel: info\n", 0o440),
        "extra.yaml": (b"a: 1\n", 0o400),
    }


def test_an_item_naming_a_missing_key_is_refused_unless_optional() -> None:
    items = [{"key": "absent", "path": "absent"}, {"key": "config.yaml", "path": "c"}]
    objects: dict[ObjectKey, Mapping[str, Any] | None] = {("configmaps", "app-config"): CONFIG}

    with pytest.raises(MountError) as missing:
        contents(
            {"name": "v", "configMap": {"name": "app-config", "items": items}}, objects=objects
        )
    assert missing.value.text == (
        'MountVolume.SetUp failed for volume "v" : '
        "configmap references non-existent config key: absent"
    )
    optional = {"name": "app-config", "items": items, "optional": True}
    found = contents({"name": "v", "configMap": optional}, objects=objects)
    assert found["v"].files == {"c": (b"logLevel: info\n", 0o644)}


def test_a_missing_optional_object_leaves_the_volume_empty() -> None:
    volume = {"name": "config", "configMap": {"name": "app-config", "optional": True}}

    assert contents(volume, objects={("configmaps", "app-config"): None}) == {
        "config": VolumeContent()
    }


@pytest.mark.parametrize(
    ("volume", "kind", "name"),
    [
        ({"name": "config", "configMap": {"name": "app-config"}}, "configmap", "app-config"),
        ({"name": "creds", "secret": {"secretName": "app-creds"}}, "secret", "app-creds"),
    ],
)
def test_a_missing_object_is_a_mount_error_naming_it(
    volume: Mapping[str, Any], kind: str, name: str
) -> None:
    with pytest.raises(MountError) as missing:
        contents(volume)

    assert (missing.value.volume, missing.value.kind, missing.value.name) == (
        volume["name"],
        kind,
        name,
    )
    assert messages.mount_failed(missing.value.volume, missing.value.kind, name) == (
        f'MountVolume.SetUp failed for volume "{volume["name"]}" : {kind} "{name}" not found'
    )


def test_secret_data_is_base64_decoded() -> None:
    volume = {"name": "creds", "secret": {"secretName": "app-creds", "defaultMode": 0o400}}
    secret = {"data": {"password": base64.b64encode(b"hunter2").decode()}}

    found = contents(volume, objects={("secrets", "app-creds"): secret})

    assert found["creds"].files == {"password": (b"hunter2", 0o400)}


def test_the_kube_api_access_volume_holds_token_ca_and_namespace() -> None:
    found = contents(
        KUBE_API_ACCESS,
        objects={("configmaps", "kube-root-ca.crt"): ROOT_CA},
        tokens={ACCESS_TOKEN: "eyJhbGciOi.token"},
    )

    assert found == {
        "kube-api-access-x7k2p": VolumeContent(
            files={
                "token": (b"eyJhbGciOi.token", 0o644),
                "ca.crt": (b"-----BEGIN CERTIFICATE-----\n", 0o644),
                "namespace": (b"kubernaut-system", 0o644),
            }
        )
    }


def test_downward_api_items_keep_their_own_mode() -> None:
    volume = {
        "name": "info",
        "projected": {
            "defaultMode": 0o444,
            "sources": [
                {
                    "downwardAPI": {
                        "items": [
                            {"path": "name", "fieldRef": {"fieldPath": "metadata.name"}},
                            {
                                "path": "app",
                                "fieldRef": {"fieldPath": "metadata.labels['app']"},
                                "mode": 0o400,
                            },
                        ]
                    }
                }
            ],
        },
    }

    assert contents(volume)["info"].files == {
        "name": (b"controller-0", 0o444),
        "app": (b"kubernaut-wfe", 0o400),
    }


def test_an_empty_dir_is_an_empty_directory() -> None:
    found = contents({"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}})

    assert found == {"tmp": VolumeContent(empty_dir=True)}
    assert found["tmp"].files == {}


def test_an_unsupported_volume_type_is_refused() -> None:
    with pytest.raises(ConfigError, match="volume data: only configMap, secret, projected"):
        contents({"name": "data", "hostPath": {"path": "/var/data"}})


def test_object_data_of_a_missing_object_is_empty() -> None:
    assert object_data(None, secret=True) == {}
    assert object_data({"data": {"k": "v"}}, secret=False) == {"k": b"v"}
