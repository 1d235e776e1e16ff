from __future__ import annotations

import re

import pytest

from kubernaut_wfe.core.naming import (
    dns_label,
    pipelinerun_name,
    sanitize_label_value,
    target_label_value,
)

LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


@pytest.mark.parametrize(
    ("target", "name"),
    [
        ("default/deployment/nginx", "wfe-f3457dcc8fbcb6d9"),
        ("payment/deployment/payment-api", "wfe-cf0cc089293b1165"),
        ("node/worker-node-1", "wfe-ac45b7d6911e97a5"),
    ],
)
def test_pipelinerun_name_vectors(target: str, name: str) -> None:
    assert pipelinerun_name(target) == name


def test_pipelinerun_name_shape_and_distinct_per_target() -> None:
    names = {pipelinerun_name(f"ns/deployment/app-{i}") for i in range(200)}
    assert len(names) == 200
    assert all(re.fullmatch(r"wfe-[0-9a-f]{16}", name) for name in names)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("restart-nginx", "restart-nginx"),
        ("default/deployment/nginx", "default_deployment_nginx"),
        ("a b:c@d", "a_b_c_d"),
        ("ünïcode", "_n_code".strip("_")),
        ("-leading-and-trailing-", "leading-and-trailing"),
        ("x" * 62 + "-y", "x" * 62),
        ("a" * 70, "a" * 63),
        ("", ""),
        ("___", ""),
    ],
)
def test_sanitize_label_value(raw: str, expected: str) -> None:
    assert sanitize_label_value(raw) == expected
    assert LABEL_VALUE.match(sanitize_label_value(raw))


@pytest.mark.parametrize(
    "raw",
    ["a" * 61 + "..b", "ns/" + "k" * 59 + "/-x", "a.b-c_d" * 20, "éé/ü", "a/" * 40],
)
def test_sanitized_values_are_always_valid_labels(raw: str) -> None:
    value = sanitize_label_value(raw)
    assert len(value) <= 63
    assert LABEL_VALUE.match(value)


def test_target_label_value_doubles_slashes() -> None:
    assert target_label_value("default/deployment/nginx") == "default__deployment__nginx"
    assert target_label_value("node/worker-node-1") == "node__worker-node-1"


def test_target_label_value_truncation_never_ends_on_separator() -> None:
    target = "n" * 30 + "/deployment/" + "x" * 40
    value = target_label_value(target)
    assert len(value) <= 63
    assert value[-1].isalnum()


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("db", "secret-db"),
        ("x" * 56, "secret-" + "x" * 56),  # 63 characters: still the name itself
        ("db.credentials", None),
        ("x" * 57, None),
        ("...", None),
    ],
)
def test_dns_label_keeps_a_valid_name_and_derives_a_distinct_one_otherwise(
    name: str, expected: str | None
) -> None:
    label = dns_label("secret-", name)
    assert re.fullmatch(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", label), label
    if expected is not None:
        assert label == expected
    else:
        assert label.startswith("secret-")
        assert label != dns_label("secret-", name + "y")
