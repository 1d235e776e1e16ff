"""The first request of a start, judged (`core.api_reach`): ask again, or stop naming why."""

from __future__ import annotations

import pytest

from kubernaut_wfe.constants import ApiReachFailure, ConnectionSetting
from kubernaut_wfe.core.api_reach import (
    REACH_RETRY_CAP,
    answer_failure,
    reach_message,
    reach_retry_delay,
    reach_verdict,
)

Failure = ApiReachFailure
Setting = ConnectionSetting


@pytest.mark.parametrize(
    ("failure", "setting", "retry"),
    [
        (Failure.CONNECTION_REFUSED, Setting.SERVER, True),
        (Failure.HOST_NOT_FOUND, Setting.SERVER, True),
        (Failure.CONNECT_TIMEOUT, Setting.SERVER, True),
        (Failure.CONNECTION_CLOSED, Setting.SERVER, True),
        (Failure.UNREACHABLE, Setting.SERVER, True),
        (Failure.SERVER_ERROR, Setting.SERVER, True),
        (Failure.NOT_TLS, Setting.SERVER, False),
        (Failure.CERTIFICATE_UNTRUSTED, Setting.CERTIFICATE_AUTHORITY, False),
        (Failure.CERTIFICATE_NAME_MISMATCH, Setting.SERVER, False),
        (Failure.TLS_HANDSHAKE_FAILED, Setting.SERVER, False),
        (Failure.CREDENTIALS_REFUSED, Setting.CREDENTIALS, False),
        (Failure.DISCOVERY_FORBIDDEN, Setting.CREDENTIALS, False),
        (Failure.NOT_KUBERNETES, Setting.SERVER, False),
    ],
)
def test_what_may_pass_is_retried_and_the_rest_names_its_setting(
    failure: ApiReachFailure, setting: ConnectionSetting, retry: bool
) -> None:
    verdict = reach_verdict(failure)
    assert (verdict.failure, verdict.setting, verdict.retry) == (failure, setting, retry)


def test_every_failure_has_a_verdict() -> None:
    assert {reach_verdict(failure).failure for failure in ApiReachFailure} == set(ApiReachFailure)


@pytest.mark.parametrize(
    ("status", "document", "failure"),
    [
        (200, {"kind": "APIVersions", "versions": ["v1"]}, None),
        (200, {"kind": "Status"}, Failure.NOT_KUBERNETES),
        (200, None, Failure.NOT_KUBERNETES),
        (200, ["APIVersions"], Failure.NOT_KUBERNETES),
        (404, None, Failure.NOT_KUBERNETES),
        (400, None, Failure.NOT_KUBERNETES),
        (301, None, Failure.NOT_KUBERNETES),
        (401, {"kind": "Status"}, Failure.CREDENTIALS_REFUSED),
        (403, {"kind": "Status"}, Failure.DISCOVERY_FORBIDDEN),
        (429, None, Failure.SERVER_ERROR),
        (502, None, Failure.SERVER_ERROR),
        (503, {"kind": "Status"}, Failure.SERVER_ERROR),
    ],
)
def test_an_answer_is_kubernetes_only_as_api_versions(
    status: int, document: object, failure: ApiReachFailure | None
) -> None:
    assert answer_failure(status, document) == failure


def test_the_message_names_setting_server_cause_and_detail() -> None:
    message = reach_message(
        reach_verdict(Failure.CERTIFICATE_UNTRUSTED),
        setting="kubeconfig /k: clusters[c].cluster.certificate-authority-data",
        server="https://10.0.0.1:6443",
        detail="unable to get local issuer certificate",
    )
    assert message == (
        "kubeconfig /k: clusters[c].cluster.certificate-authority-data: the API server "
        "https://10.0.0.1:6443 presented a certificate this certificate authority did not sign "
        "(CertificateUntrusted: unable to get local issuer certificate)"
    )


@pytest.mark.parametrize(
    ("failed", "spread", "delay"),
    [(1, 0.0, 1.0), (1, 1.0, 0.5), (2, 0.0, 2.0), (3, 0.5, 3.0), (5, 0.0, 16.0), (6, 0.0, 30.0)],
)
def test_the_wait_doubles_and_spreads(failed: int, spread: float, delay: float) -> None:
    assert reach_retry_delay(failed, spread) == delay


def test_the_wait_is_capped_however_long_it_fails() -> None:
    assert reach_retry_delay(10_000, 0.0) == REACH_RETRY_CAP


@pytest.mark.parametrize(("failed", "spread"), [(0, 0.0), (1, -0.1), (1, 1.5)])
def test_the_wait_refuses_nonsense(failed: int, spread: float) -> None:
    with pytest.raises(ValueError, match="failed_tries"):
        reach_retry_delay(failed, spread)
