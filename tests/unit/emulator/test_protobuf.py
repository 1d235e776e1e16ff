"""Protobuf request bodies: the kinds kubectl creates are read field by field; anything the
emulator cannot read is refused with a clear error, never half-read."""

from __future__ import annotations

import pytest

from kubernaut_wfe_tools.emulator.errors import ApiError
from kubernaut_wfe_tools.emulator.protobuf import decode, is_protobuf


def varint(number: int) -> bytes:
    out = bytearray()
    while True:
        byte, number = number & 0x7F, number >> 7
        out.append(byte | (0x80 if number else 0))
        if not number:
            return bytes(out)


def field(number: int, value: bytes | str | int) -> bytes:
    if isinstance(value, int):
        return varint(number << 3) + varint(value)
    data = value.encode() if isinstance(value, str) else value
    return varint(number << 3 | 2) + varint(len(data)) + data


def envelope(api_version: str, kind: str, body: bytes) -> bytes:
    type_meta = field(1, api_version) + field(2, kind)
    return b"k8s\x00" + field(1, type_meta) + field(2, body) + field(3, "") + field(4, "")


def entry(key: str, value: str | bytes) -> bytes:
    return field(1, key) + field(2, value)


# As Go writes it: every non-pointer field, empty or not.
META = field(1, "cfg") + field(2, "") + field(3, "team") + field(5, "") + field(7, 0)
META += field(8, b"")


def test_a_configmap_is_read_with_empty_fields_dropped() -> None:
    body = (
        field(1, META + field(11, entry("tier", "x")))
        + field(2, entry("a", "b"))
        + field(2, entry("empty", ""))
        + field(3, entry("bin", b"\x00\xff"))
        + field(4, 1)
    )
    assert decode(envelope("v1", "ConfigMap", body)) == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "cfg", "namespace": "team", "labels": {"tier": "x"}},
        "data": {"a": "b", "empty": ""},
        "binaryData": {"bin": "AP8="},
        "immutable": True,
    }


def test_secret_data_is_base64_as_in_json() -> None:
    body = field(1, field(1, "s")) + field(2, entry("k", b"v")) + field(3, "Opaque")
    decoded = decode(envelope("v1", "Secret", body))
    assert decoded["data"] == {"k": "dg=="}
    assert decoded["type"] == "Opaque"


def test_a_namespace_status_is_the_servers_to_set() -> None:
    body = field(1, field(1, "team-x")) + field(2, b"") + field(3, field(1, "Terminating"))
    assert decode(envelope("v1", "Namespace", body)) == {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "team-x"},
    }


def test_a_kind_it_cannot_read_is_a_415_naming_the_ones_it_can() -> None:
    with pytest.raises(ApiError) as raised:
        decode(envelope("apps/v1", "Deployment", field(1, field(1, "d"))))
    assert raised.value.code == 415
    assert "apps/v1 Deployment" in raised.value.message
    assert "ConfigMap" in raised.value.message


def test_an_unknown_field_with_content_is_a_415_not_dropped() -> None:
    owner = field(13, field(1, "apps/v1"))  # metadata.ownerReferences
    with pytest.raises(ApiError) as raised:
        decode(envelope("v1", "ConfigMap", field(1, field(1, "cfg") + owner)))
    assert raised.value.code == 415
    assert "ConfigMap.metadata: protobuf field 13" in raised.value.message


@pytest.mark.parametrize(
    "broken",
    [
        b"k8s\x00\x0a\x05ab",  # a length beyond the end
        b"k8s\x00\x0a\x80",  # a truncated number
        b"k8s\x00\x0b",  # a wire type that does not exist
    ],
)
def test_a_malformed_body_is_a_400(broken: bytes) -> None:
    with pytest.raises(ApiError) as raised:
        decode(broken)
    assert raised.value.code == 400


def test_only_the_magic_prefix_marks_protobuf() -> None:
    assert is_protobuf(b"k8s\x00anything")
    assert not is_protobuf(b'{"kind": "ConfigMap"}')
