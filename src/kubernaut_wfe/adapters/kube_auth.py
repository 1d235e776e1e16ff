"""TLS and bearer-token authentication to the API server, built from a `KubeConfig`."""

from __future__ import annotations

import asyncio
import shutil
import ssl
import tempfile
import time
from collections.abc import AsyncGenerator, Callable
from pathlib import Path

import httpx
import structlog

from kubernaut_wfe.adapters.kubeconfig import KubeConfig, KubeConfigError

logger = structlog.get_logger(__name__)

TOKEN_REFRESH_INTERVAL = 60.0
"""Seconds between re-reads of a token file: projected tokens rotate well before they expire."""


def build_ssl_context(config: KubeConfig) -> ssl.SSLContext:
    """A TLS context with the configured CA and client certificate. Blocking: call at start-up.

    Certificate data (not files) for the CA is loaded from memory; the client certificate and key
    can only be loaded from files, so their data is written to a private temporary directory that
    is removed as soon as the context holds them.
    """
    if config.insecure_skip_tls_verify:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    else:
        cadata = config.ca_data.decode("ascii") if config.ca_data else None
        cafile = None if cadata else config.ca_file
        try:
            context = ssl.create_default_context(cafile=cafile, cadata=cadata)
        except (OSError, ssl.SSLError, UnicodeDecodeError) as error:
            raise KubeConfigError(f"certificate authority cannot be loaded: {error}") from None
    if config.has_client_certificate:
        _load_client_certificate(context, config)
    return context


def _load_client_certificate(context: ssl.SSLContext, config: KubeConfig) -> None:
    if not (config.client_key_file or config.client_key_data):
        raise KubeConfigError("a client certificate is configured without its client key")
    private_dir = Path(tempfile.mkdtemp(prefix="kubernaut-wfe-tls-"))  # mode 0700
    try:
        cert_file = _data_or_file(config.client_cert_data, config.client_cert_file, private_dir)
        key_file = _data_or_file(config.client_key_data, config.client_key_file, private_dir)
        context.load_cert_chain(cert_file, key_file)
    except (OSError, ssl.SSLError) as error:
        # The error text of ssl names no key material, only what failed.
        raise KubeConfigError(f"client certificate cannot be loaded: {error}") from None
    finally:
        shutil.rmtree(private_dir, ignore_errors=True)


def _data_or_file(data: bytes | None, file: str | None, private_dir: Path) -> str:
    if data is None:
        assert file is not None  # checked by the caller
        return file
    fd, name = tempfile.mkstemp(dir=private_dir)  # mode 0600
    with open(fd, "wb") as handle:
        handle.write(data)
    return name


class BearerTokenAuth(httpx.Auth):
    """Sends `Authorization: Bearer …`; re-reads the token file periodically and after a 401.

    The file's last good value wins over the static token, which is only the fallback, as in
    client-go.
    """

    def __init__(
        self,
        *,
        token: str | None = None,
        token_file: str | None = None,
        refresh_interval: float = TOKEN_REFRESH_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if token is None and token_file is None:
            raise ValueError("BearerTokenAuth needs a token or a token file")
        self._static_token = token
        self._token_file = token_file
        self._refresh_interval = refresh_interval
        self._clock = clock
        self._file_token: str | None = None
        self._read_at: float | None = None
        self._lock = asyncio.Lock()

    @property
    def rereads_file(self) -> bool:
        """Whether a 401 is worth a retry with the token file read again."""
        return self._token_file is not None

    async def token(self, *, force: bool = False) -> str:
        """The current token, re-reading the file when it is due (or `force`)."""
        if self._token_file is None:
            assert self._static_token is not None
            return self._static_token
        async with self._lock:
            now = self._clock()
            due = self._read_at is None or now - self._read_at >= self._refresh_interval
            if force or due:
                await self._reload(self._token_file, now)
        if self._file_token is not None:
            return self._file_token
        if self._static_token is not None:
            return self._static_token
        raise KubeConfigError(f"bearer token file {self._token_file} cannot be read")

    async def _reload(self, token_file: str, now: float) -> None:
        self._read_at = now
        try:
            text = await asyncio.to_thread(Path(token_file).read_text, encoding="utf-8")
        except OSError as error:
            # Keep the last good token: a rotation may be in progress.
            logger.warning("token file unreadable", path=token_file, error=error.strerror)
            return
        token = text.strip()
        if token:
            self._file_token = token
        else:
            logger.warning("token file empty", path=token_file)

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = await self.token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == httpx.codes.UNAUTHORIZED and self._token_file is not None:
            fresh = await self.token(force=True)
            if fresh != token:
                request.headers["Authorization"] = f"Bearer {fresh}"
                yield request
