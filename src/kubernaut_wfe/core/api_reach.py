"""The first request of a start (`GET /api`), judged: go on, ask again later, or stop.

What may pass by itself (an API server not up yet, a DNS or network outage, a load balancer
without backends) is asked again with back-off while `/readyz` says why the controller is not
ready. What asking again cannot change (a certificate the configured authority did not sign, an
address the certificate does not name, credentials refused, an answer that is not TLS or not
Kubernetes) stops the start with the setting at fault: the kubelet restarts the pod, with its own
back-off, and the next start works once someone has fixed the setting.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from kubernaut_wfe.constants import API_ROOT_KIND, ApiReachFailure, ConnectionSetting

REACH_RETRY_INITIAL = 1.0
"""Seconds before the second try."""
REACH_RETRY_CAP = 30.0
"""The longest wait between two tries: an API server that comes back is seen within it."""

Failure = ApiReachFailure
Setting = ConnectionSetting


@dataclass(frozen=True)
class ReachVerdict:
    """What a failed first request means."""

    failure: ApiReachFailure
    setting: ConnectionSetting
    """The setting at fault (or, for what may pass, the one that names the server)."""
    retry: bool
    """Whether asking again may help; otherwise the start stops."""
    cause: str
    """What happened, in words that follow "the API server URL"."""


_VERDICTS: Mapping[ApiReachFailure, tuple[ConnectionSetting, bool, str]] = {
    Failure.CONNECTION_REFUSED: (Setting.SERVER, True, "refused the connection"),
    Failure.HOST_NOT_FOUND: (Setting.SERVER, True, "has a host name that does not resolve"),
    Failure.CONNECT_TIMEOUT: (Setting.SERVER, True, "did not answer in time"),
    Failure.CONNECTION_CLOSED: (Setting.SERVER, True, "closed the connection without answering"),
    Failure.UNREACHABLE: (Setting.SERVER, True, "cannot be reached"),
    Failure.SERVER_ERROR: (Setting.SERVER, True, "answered with a server error"),
    Failure.NOT_TLS: (
        Setting.SERVER,
        False,
        "answered in plain HTTP, not TLS: give its https port, or http:// if it has none",
    ),
    Failure.CERTIFICATE_UNTRUSTED: (
        Setting.CERTIFICATE_AUTHORITY,
        False,
        "presented a certificate this certificate authority did not sign",
    ),
    Failure.CERTIFICATE_NAME_MISMATCH: (
        Setting.SERVER,
        False,
        "presented a certificate that does not name this address (not in its subjectAltName)",
    ),
    Failure.TLS_HANDSHAKE_FAILED: (Setting.SERVER, False, "failed the TLS handshake"),
    Failure.CREDENTIALS_REFUSED: (
        Setting.CREDENTIALS,
        False,
        "refused the credentials (401 Unauthorized)",
    ),
    Failure.DISCOVERY_FORBIDDEN: (
        Setting.CREDENTIALS,
        False,
        "forbids this identity to read API discovery (403 on /api)",
    ),
    Failure.NOT_KUBERNETES: (Setting.SERVER, False, "is not a Kubernetes API server"),
}


def reach_verdict(failure: ApiReachFailure) -> ReachVerdict:
    """The setting at fault and whether to ask again, for a first request that failed so."""
    setting, retry, cause = _VERDICTS[failure]
    return ReachVerdict(failure, setting, retry, cause)


def answer_failure(status: int, document: object) -> ApiReachFailure | None:
    """What an answer to `GET /api` says is wrong: None for a Kubernetes API server's
    `APIVersions`; `document` is the parsed JSON body (None when it is not JSON)."""
    if status == 401:
        return Failure.CREDENTIALS_REFUSED
    if status == 403:
        return Failure.DISCOVERY_FORBIDDEN
    if status == 429 or status >= 500:
        return Failure.SERVER_ERROR
    if (
        200 <= status < 300
        and isinstance(document, Mapping)
        and document.get("kind") == API_ROOT_KIND
    ):
        return None
    return Failure.NOT_KUBERNETES


def reach_message(verdict: ReachVerdict, *, setting: str, server: str, detail: str) -> str:
    """One line: the setting at fault (where it was read), the server, the cause, the detail."""
    return f"{setting}: the API server {server} {verdict.cause} ({verdict.failure}: {detail})"


def reach_retry_delay(failed_tries: int, spread: float) -> float:
    """Seconds to wait after `failed_tries` failed tries: 1, 2, 4, ... up to 30, less up to
    half of it by `spread` (in [0, 1]), so that several replicas do not ask in step."""
    if failed_tries < 1 or not 0.0 <= spread <= 1.0:
        raise ValueError(f"failed_tries {failed_tries} must be >= 1, spread {spread} in [0, 1]")
    base = min(REACH_RETRY_CAP, REACH_RETRY_INITIAL * 2.0 ** min(failed_tries - 1, 16))
    return base * (1.0 - spread / 2)
