"""The controller's one connection to the Kubernetes API server, which all of its API traffic
uses: kopf's watches (through kopf's login handler), our aiohttp client (`kube_http`) and, through
that client, the liveness probe's watch.

`connect` reads the configuration (`kubeconfig`: a kubeconfig file, $KUBECONFIG or the pod's
ServiceAccount), builds the TLS context and reads the bearer token once, so that anything unusable
stops the start with an error naming it. The TLS context comes from kopf's own
`ConnectionInfo.as_ssl_context`, the one kopf builds for its sessions: both verify the server and
present the client certificate alike. A token file is read again while running (projected
ServiceAccount tokens rotate about hourly); one that cannot be read is an error naming it, never a
fall-back to an older token or to none.
"""

from __future__ import annotations

import asyncio
import dataclasses
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import kopf
import structlog

from kubernaut_wfe.adapters.kubeconfig import KubeConfig, KubeConfigError, auto_config
from kubernaut_wfe.core.config import base_url_problem

logger = structlog.get_logger(__name__)

TOKEN_REREAD_INTERVAL = 60.0
"""Seconds between reads of a token file. The kubelet writes a new projected token when the old
one has run 80% of its life, so the old one is still good for a while; a 401 reads it at once."""
BEARER = "Bearer"


class CredentialsError(KubeConfigError):
    """The bearer token cannot be read; the message names the file and why."""


def read_token_file(path: str) -> str:
    """The token a file holds (blocking); CredentialsError when there is none to use."""
    where = f"bearer token file {path}"
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise CredentialsError(f"{where}: cannot read: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise CredentialsError(f"{where}: not UTF-8 text") from None
    token = text.strip()
    if not token:
        raise CredentialsError(f"{where}: empty")
    return token


class BearerToken:
    """The connection's bearer token: a static one, or a file's, read again at most every
    `reread_interval` seconds, and at once when asked for a `fresh` one (after a 401)."""

    def __init__(
        self,
        *,
        token: str | None = None,
        token_file: str | None = None,
        reread_interval: float = TOKEN_REREAD_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if (token is None) == (token_file is None):
            raise ValueError("BearerToken needs either a token or a token file")
        self.file = token_file
        self._value = token
        self._reread_interval = reread_interval
        self._clock = clock
        self._read_at: float | None = None
        self._failing: str | None = None
        self._lock = asyncio.Lock()

    @property
    def rereads(self) -> bool:
        """Whether a 401 is worth another try with a fresh read of the file."""
        return self.file is not None

    def read_now(self) -> str:
        """The token, the file read now (blocking: for start-up); CredentialsError names it."""
        if self.file is None:
            assert self._value is not None
            return self._value
        self._value = read_token_file(self.file)
        self._read_at = self._clock()
        return self._value

    async def current(self, *, fresh: bool = False) -> str:
        """The token, the file read again when due or `fresh`. A failed read is logged once as
        an error (until a read works again) and raised as CredentialsError each time."""
        if self.file is None:
            assert self._value is not None
            return self._value
        async with self._lock:
            due = self._read_at is None or self._clock() - self._read_at >= self._reread_interval
            if fresh or due:
                await self._read(self.file)
        assert self._value is not None
        return self._value

    async def _read(self, path: str) -> None:
        try:
            value = await asyncio.to_thread(read_token_file, path)
        except CredentialsError as error:
            if self._failing != str(error):
                logger.error("the Kubernetes API token cannot be read", path=path, error=str(error))
            self._failing = str(error)
            raise
        if self._failing is not None:
            logger.info("the Kubernetes API token can be read again", path=path)
            self._failing = None
        self._value, self._read_at = value, self._clock()


@dataclass(frozen=True)
class KubeConnection:
    """Server, TLS and credentials of the API server, from one `KubeConfig`."""

    config: KubeConfig
    info: kopf.ConnectionInfo
    """kopf's form of the same settings, without the token (`login` adds the current one)."""
    tls: ssl.SSLContext | None
    """None for a plain-HTTP server (the emulator)."""
    token: BearerToken | None
    """None when the configuration has no token (a client certificate, or anonymous)."""

    @classmethod
    def open(cls, config: KubeConfig) -> KubeConnection:
        """Build the TLS context and read the token file. Blocking: call at start-up.

        KubeConfigError names what cannot be used."""
        if (problem := base_url_problem(config.server)) is not None:
            raise KubeConfigError(f"kubeconfig server: {problem}")
        info = kopf.ConnectionInfo(
            server=config.server,
            ca_path=None if config.ca_data else config.ca_file,
            ca_data=config.ca_data,
            insecure=config.insecure_skip_tls_verify,
            certificate_path=None if config.client_cert_data else config.client_cert_file,
            certificate_data=config.client_cert_data,
            private_key_path=None if config.client_key_data else config.client_key_file,
            private_key_data=config.client_key_data,
            default_namespace=config.namespace,
        )
        tls = _tls_context(info) if config.server.startswith("https://") else None
        token = None
        if config.token_file is not None:
            token = BearerToken(token_file=config.token_file)
            token.read_now()
        elif config.token is not None:
            token = BearerToken(token=config.token)
        return cls(config, info, tls, token)

    @property
    def server(self) -> str:
        """The base URL, without a trailing slash."""
        return self.config.server.rstrip("/")

    @property
    def namespace(self) -> str:
        """The namespace of calls that name none."""
        return self.config.namespace

    async def login(self) -> kopf.ConnectionInfo:
        """kopf's credentials. kopf asks at start and again after a 401, so the token file is
        read now. kopf's `expiration` stays unset: an expiry makes kopf close the session and
        with it the open watches, and a 401 already brings kopf back here."""
        if self.token is None:
            return self.info
        token = await self.token.current(fresh=True)
        return dataclasses.replace(self.info, token=token, scheme=BEARER)


def _tls_context(info: kopf.ConnectionInfo) -> ssl.SSLContext:
    # Checked first only to name an unreadable file: the ssl module's errors do not.
    for what, path in (
        ("certificate authority", info.ca_path),
        ("client certificate", info.certificate_path),
        ("client key", info.private_key_path),
    ):
        if path is not None:
            try:
                with open(path, "rb"):
                    pass
            except OSError as error:
                raise KubeConfigError(
                    f"{what} {path!s}: cannot read: {error.strerror or error}"
                ) from None
    try:
        return info.as_ssl_context()
    except (OSError, ssl.SSLError, ValueError) as error:
        # The ssl module's messages name what failed, never key material.
        raise KubeConfigError(f"TLS certificates cannot be loaded: {error}") from None


def connect(kubeconfig: str | None = None) -> KubeConnection:
    """The connection `--kubeconfig` (or $KUBECONFIG, in-cluster, ~/.kube/config) describes.
    Blocking: call at start-up; KubeConfigError names what cannot be used."""
    return KubeConnection.open(auto_config(kubeconfig))
