"""Where the Kubernetes API is and how to authenticate to it: kubeconfig files and in-cluster.

Read here rather than by kopf's `login_with_kubeconfig`/`login_with_service_account`, because
those take no kubeconfig path (only $KUBECONFIG or ~/.kube/config) and no context, ignore
`tokenFile`, resolve relative paths against the working directory instead of the file's, answer a
malformed file with a bare KeyError, and assume a fixed in-cluster server name. What is read here
becomes the controller's one connection in `kube_connection`. Exec credential plugins, auth
providers and basic authentication are refused: no library of the product runs them.

Everything here reads files and runs once, at start-up, before the event loop serves anything.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

SERVICE_ACCOUNT_DIR = Path("var/run/secrets/kubernetes.io/serviceaccount")
"""Relative to the root of the file system, so that tests can supply their own root."""
DEFAULT_NAMESPACE = "default"
PEM_BEGIN = b"-----BEGIN "


class KubeConfigError(Exception):
    """The configuration is missing or wrong; the message says where and what."""


@dataclass(frozen=True)
class SettingNames:
    """Where each setting of a connection was read (`kubeconfig FILE: clusters[c].cluster.server`),
    for the errors of a server that cannot be used."""

    server: str = "server"
    certificate_authority: str = "certificate authority"
    credentials: str = "credentials"


@dataclass(frozen=True)
class KubeConfig:
    """Connection settings of one API server. Secrets never appear in `repr`."""

    server: str
    """Base URL, e.g. `https://10.0.0.1:443`; may carry a path prefix of a proxy."""
    namespace: str = DEFAULT_NAMESPACE
    """Namespace used when a call names none."""
    ca_file: str | None = None
    ca_data: bytes | None = field(default=None, repr=False)
    """PEM; wins over `ca_file`, as in kubectl."""
    client_cert_file: str | None = None
    client_cert_data: bytes | None = field(default=None, repr=False)
    client_key_file: str | None = None
    client_key_data: bytes | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
    """Static bearer token (a kubeconfig's `token` when it names no `tokenFile`)."""
    token_file: str | None = None
    """Bearer token file, re-read while running (projected service-account tokens rotate)."""
    insecure_skip_tls_verify: bool = False
    names: SettingNames = field(default_factory=SettingNames, compare=False)
    """Where each setting was read, for errors (not a setting: equal configurations may differ)."""

    def __post_init__(self) -> None:
        if not self.server.startswith(("https://", "http://")):
            raise KubeConfigError(f"server {self.server!r} must be an http:// or https:// URL")


@dataclass(frozen=True)
class _Section:
    """A mapping of a kubeconfig file, with its location for error messages."""

    data: Mapping[str, Any]
    where: str
    base_dir: Path

    def text(self, key: str) -> str | None:
        value = self.data.get(key)
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            raise KubeConfigError(f"{self.where}.{key} must be a string")
        return value

    def flag(self, key: str) -> bool:
        value = self.data.get(key, False)
        if not isinstance(value, bool):
            raise KubeConfigError(f"{self.where}.{key} must be true or false")
        return value

    def file(self, key: str) -> str | None:
        """A file path; relative paths are relative to the kubeconfig file, as in kubectl."""
        value = self.text(key)
        return None if value is None else str(self.base_dir / Path(value).expanduser())

    def pem(self, key: str) -> bytes | None:
        """Base64 of PEM, as kubectl takes it; the PEM from its first `-----BEGIN` line on (what
        may precede it, kubectl skips too, but kopf's TLS set-up would read as base64)."""
        value = self.text(key)
        if value is None:
            return None
        try:
            data = base64.b64decode(value, validate=True)
        except binascii.Error as error:
            raise KubeConfigError(f"{self.where}.{key} is not valid base64: {error}") from None
        start = data.find(PEM_BEGIN)
        if start < 0:
            raise KubeConfigError(f"{self.where}.{key} is not PEM (no '-----BEGIN ' line)")
        return data[start:]


@dataclass
class _Merged:
    """Several kubeconfig files merged as kubectl does: the first definition of a name wins."""

    sources: list[str] = field(default_factory=list)
    current_context: str | None = None
    clusters: dict[str, _Section] = field(default_factory=dict)
    users: dict[str, _Section] = field(default_factory=dict)
    contexts: dict[str, _Section] = field(default_factory=dict)

    def add_file(self, path: Path) -> None:
        try:
            document = yaml.safe_load(path.read_text(encoding="utf-8"))
        except OSError as error:
            raise KubeConfigError(f"kubeconfig {path}: cannot read: {error.strerror}") from None
        except UnicodeDecodeError:
            raise KubeConfigError(f"kubeconfig {path}: not a text file (not UTF-8)") from None
        except yaml.YAMLError as error:
            raise KubeConfigError(f"kubeconfig {path}: not valid YAML: {error}") from None
        except RecursionError:
            raise KubeConfigError(f"kubeconfig {path}: YAML nested too deeply") from None
        self.sources.append(str(path))
        if document is None:
            return
        if not isinstance(document, dict):
            raise KubeConfigError(f"kubeconfig {path}: must be a mapping")
        base_dir = path.parent
        where = f"kubeconfig {path}"
        current = _Section(document, where, base_dir).text("current-context")
        if self.current_context is None:
            self.current_context = current
        for key, inner, target in (
            ("clusters", "cluster", self.clusters),
            ("users", "user", self.users),
            ("contexts", "context", self.contexts),
        ):
            for name, section in _named_entries(document, key, inner, where, base_dir):
                target.setdefault(name, section)

    def describe(self) -> str:
        return "kubeconfig " + os.pathsep.join(self.sources)


def _named_entries(
    document: Mapping[str, Any], key: str, inner: str, where: str, base_dir: Path
) -> list[tuple[str, _Section]]:
    entries = document.get(key) or []
    if not isinstance(entries, list):
        raise KubeConfigError(f"{where}: {key} must be a list")
    result = []
    for index, entry in enumerate(entries):
        at = f"{where}: {key}[{index}]"
        if not isinstance(entry, dict):
            raise KubeConfigError(f"{at} must be a mapping")
        name = entry.get("name")
        if not isinstance(name, str) or not name:
            raise KubeConfigError(f"{at}.name must be a non-empty string")
        body = entry.get(inner) or {}
        if not isinstance(body, dict):
            raise KubeConfigError(f"{at}.{inner} must be a mapping")
        result.append((name, _Section(body, f"{where}: {key}[{name}].{inner}", base_dir)))
    return result


_UNSUPPORTED_USER_FIELDS = {
    "exec": "exec credential plugins",
    "auth-provider": "auth providers",
    "username": "basic authentication",
}


def _user_settings(user: _Section | None) -> dict[str, Any]:
    if user is None:
        return {}
    for key, what in _UNSUPPORTED_USER_FIELDS.items():
        if user.data.get(key):
            raise KubeConfigError(
                f"{user.where}.{key}: {what} are not supported; "
                "use token, tokenFile or a client certificate"
            )
    settings: dict[str, Any] = {
        "client_cert_file": user.file("client-certificate"),
        "client_cert_data": user.pem("client-certificate-data"),
        "client_key_file": user.file("client-key"),
        "client_key_data": user.pem("client-key-data"),
        "token_file": user.file("tokenFile"),
    }
    certificate = settings["client_cert_file"] or settings["client_cert_data"]
    key = settings["client_key_file"] or settings["client_key_data"]
    if bool(certificate) != bool(key):
        raise KubeConfigError(
            f"{user.where}: a client certificate and its client key go together; "
            f"only the {'certificate' if certificate else 'key'} is given"
        )
    token = user.text("token")
    # The file wins over a static token, as in client-go, which reads the file for each request;
    # unlike client-go, a file that cannot be read is an error, never a fall-back to the token.
    settings["token"] = token if settings["token_file"] is None else None
    return settings


def _kubeconfig_paths(path: str | None, environ: Mapping[str, str], home: Path) -> list[Path]:
    listed = path if path else environ.get("KUBECONFIG", "")
    paths = [Path(item).expanduser() for item in listed.split(os.pathsep) if item]
    if not paths:
        return [home / ".kube" / "config"]
    return paths


def load_kubeconfig(
    path: str | None = None,
    context: str | None = None,
    *,
    environ: Mapping[str, str] = os.environ,
    home: Path | None = None,
) -> KubeConfig:
    """Read a kubeconfig: `path` (a $PATH-like list), else $KUBECONFIG, else ~/.kube/config.

    `context` overrides the file's `current-context`. Errors name the file and the field.
    """
    paths = _kubeconfig_paths(path, environ, home or Path.home())
    merged = _Merged()
    for item in paths:
        # A $KUBECONFIG list may name files that do not exist; kubectl skips those.
        if len(paths) > 1 and not item.exists():
            continue
        merged.add_file(item)
    if not merged.sources:
        raise KubeConfigError(f"kubeconfig: none of {os.pathsep.join(map(str, paths))} exists")
    where = merged.describe()
    context_name = context or merged.current_context
    known = ", ".join(sorted(merged.contexts)) or "none"
    if context_name is None:
        raise KubeConfigError(f"{where}: no current-context and no context given (known: {known})")
    chosen = merged.contexts.get(context_name)
    if chosen is None:
        raise KubeConfigError(f"{where}: context {context_name!r} not found (known: {known})")
    cluster_name = chosen.text("cluster")
    if cluster_name is None:
        raise KubeConfigError(f"{chosen.where}.cluster is required")
    cluster = merged.clusters.get(cluster_name)
    if cluster is None:
        known_clusters = ", ".join(sorted(merged.clusters)) or "none"
        raise KubeConfigError(
            f"{where}: cluster {cluster_name!r} of context {context_name!r} not found "
            f"(known: {known_clusters})"
        )
    user_name = chosen.text("user")
    user = None
    if user_name is not None:
        user = merged.users.get(user_name)
        if user is None:
            raise KubeConfigError(
                f"{where}: user {user_name!r} of context {context_name!r} not found"
            )
    server = cluster.text("server")
    if server is None:
        raise KubeConfigError(f"{cluster.where}.server is required")
    if not server.startswith(("https://", "http://")):
        raise KubeConfigError(f"{cluster.where}.server {server!r} must be an http(s):// URL")
    namespace = chosen.text("namespace") or DEFAULT_NAMESPACE
    ca_file = cluster.file("certificate-authority")
    ca_data = cluster.pem("certificate-authority-data")
    insecure = cluster.flag("insecure-skip-tls-verify")
    user_settings = _user_settings(user)
    authority = _authority_key(cluster)
    if insecure and authority is not None:
        # kubectl refuses the combination too: one of the two is a mistake, and which one
        # decides whether the server is verified at all.
        raise KubeConfigError(
            f"{cluster.where}: insecure-skip-tls-verify with {authority}: specifying a root "
            "certificates file with the insecure flag is not allowed"
        )
    names = SettingNames(
        server=f"{cluster.where}.server",
        certificate_authority=(
            f"{cluster.where}.{authority}"
            if authority
            else f"{cluster.where} (no certificate-authority: the system's)"
        ),
        credentials=_credentials_key(user, chosen),
    )
    return KubeConfig(
        server=server,
        namespace=namespace,
        ca_file=ca_file,
        ca_data=ca_data,
        insecure_skip_tls_verify=insecure,
        names=names,
        **user_settings,
    )


def _authority_key(cluster: _Section) -> str | None:
    """The key the cluster's CA is read from (the data wins, as in kubectl), if any."""
    for key in ("certificate-authority-data", "certificate-authority"):
        if cluster.text(key) is not None:
            return key
    return None


def _credentials_key(user: _Section | None, context: _Section) -> str:
    keys = ("client-certificate-data", "client-certificate", "tokenFile", "token")
    given = [key for key in keys if user is not None and user.text(key) is not None]
    if user is None or not given:
        return f"{context.where} (no credentials: anonymous)"
    return f"{user.where}.{' and .'.join(given)}"


def in_cluster_config(
    *, root: Path = Path("/"), environ: Mapping[str, str] = os.environ
) -> KubeConfig:
    """The pod's service account: API address from the environment, token and CA from files."""
    host = environ.get("KUBERNETES_SERVICE_HOST")
    port = environ.get("KUBERNETES_SERVICE_PORT")
    if not host or not port:
        raise KubeConfigError(
            "not running in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT "
            "must both be set"
        )
    account = root / SERVICE_ACCOUNT_DIR
    ca_file = account / "ca.crt"
    namespace_file = account / "namespace"
    namespace = DEFAULT_NAMESPACE
    if namespace_file.is_file():
        namespace = namespace_file.read_text(encoding="utf-8").strip() or DEFAULT_NAMESPACE
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 address
    token_file = account / "token"
    return KubeConfig(
        server=f"https://{host}:{port}",
        namespace=namespace,
        ca_file=str(ca_file) if ca_file.is_file() else None,
        token_file=str(token_file),
        names=SettingNames(
            server="in-cluster KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT",
            certificate_authority=f"in-cluster {ca_file}",
            credentials=f"in-cluster {token_file}",
        ),
    )


def auto_config(
    kubeconfig: str | None = None,
    *,
    context: str | None = None,
    environ: Mapping[str, str] = os.environ,
    root: Path = Path("/"),
    home: Path | None = None,
) -> KubeConfig:
    """The first configuration that applies: `kubeconfig`, $KUBECONFIG, in-cluster, ~/.kube."""
    if kubeconfig or environ.get("KUBECONFIG"):
        return load_kubeconfig(kubeconfig, context, environ=environ, home=home)
    if environ.get("KUBERNETES_SERVICE_HOST"):
        return in_cluster_config(root=root, environ=environ)
    default = (home or Path.home()) / ".kube" / "config"
    if default.is_file():
        return load_kubeconfig(str(default), context, environ=environ, home=home)
    raise KubeConfigError(
        "no Kubernetes configuration: no kubeconfig given, $KUBECONFIG unset, "
        f"not in a cluster (KUBERNETES_SERVICE_HOST unset), and {default} absent"
    )
