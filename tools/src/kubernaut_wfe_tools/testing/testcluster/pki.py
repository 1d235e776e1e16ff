"""The test cluster's keys and certificates, made fresh at every start: a CA, the API server's
serving certificate, client certificates for the admin and kube-controller-manager, the fault
proxy's serving certificate (so kubeconfigs trusting the CA trust the proxy too) and the
ServiceAccount token signing key."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALIDITY = timedelta(days=7)
"""Long enough for a `.testcluster/` kept up for days; every start makes new ones."""


@dataclass(frozen=True)
class KeyPair:
    """A certificate and its private key, as PEM files."""

    cert: Path
    key: Path


@dataclass(frozen=True)
class ClusterPki:
    """Every file of the cluster's PKI."""

    ca: KeyPair
    serving: KeyPair
    admin: KeyPair
    controller_manager: KeyPair
    proxy: KeyPair
    """The fault proxy's serving certificate, for 127.0.0.1 and localhost."""
    service_account_key: Path
    service_account_public_key: Path


def subject_name(common_name: str, organization: str | None = None) -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    return x509.Name(attributes)


def _write_key(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey, path: Path) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)


def issue(
    directory: Path,
    stem: str,
    subject: x509.Name,
    *,
    issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None,
    usage: x509.ObjectIdentifier | None = None,
    addresses: tuple[str, ...] = (),
) -> tuple[KeyPair, x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A certificate for `subject` (self-signed as a CA without `issuer`) with its key, written
    to `directory` as `<stem>.crt` and `<stem>.key`."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    signer_name, signer_key = (issuer[0].subject, issuer[1]) if issuer else (subject, key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(signer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True)
    )
    if issuer is None:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True, key_cert_sign=True, crl_sign=True,
                content_commitment=False, key_encipherment=False, data_encipherment=False,
                key_agreement=False, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )  # fmt: skip
    if usage is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    if addresses:
        names: list[x509.GeneralName] = []
        for address in addresses:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(address)))
            except ValueError:
                names.append(x509.DNSName(address))
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    cert = builder.sign(signer_key, hashes.SHA256())
    pair = KeyPair(directory / f"{stem}.crt", directory / f"{stem}.key")
    pair.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _write_key(key, pair.key)
    return pair, cert, key


def make_pki(directory: Path) -> ClusterPki:
    """Write a new CA and everything it signs into `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    ca, ca_cert, ca_key = issue(
        directory, "ca", subject_name("kubernaut-wfe test cluster CA"), issuer=None
    )
    signer = (ca_cert, ca_key)
    serving, _, _ = issue(
        directory, "apiserver", subject_name("kube-apiserver"), issuer=signer,
        usage=ExtendedKeyUsageOID.SERVER_AUTH,
        addresses=("127.0.0.1", "localhost", "kubernetes", "kubernetes.default",
                   "kubernetes.default.svc", "10.96.0.1"),
    )  # fmt: skip
    admin, _, _ = issue(
        directory, "admin", subject_name("kubernetes-admin", "system:masters"), issuer=signer,
        usage=ExtendedKeyUsageOID.CLIENT_AUTH,
    )  # fmt: skip
    controller_manager, _, _ = issue(
        directory, "kube-controller-manager", subject_name("system:kube-controller-manager"),
        issuer=signer, usage=ExtendedKeyUsageOID.CLIENT_AUTH,
    )  # fmt: skip
    proxy, _, _ = issue(
        directory, "proxy", subject_name("kubernaut-wfe fault proxy"), issuer=signer,
        usage=ExtendedKeyUsageOID.SERVER_AUTH, addresses=("127.0.0.1", "localhost"),
    )  # fmt: skip
    signing_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    service_account_key = directory / "service-account.key"
    _write_key(signing_key, service_account_key)
    service_account_public_key = directory / "service-account.pub"
    service_account_public_key.write_bytes(
        signing_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return ClusterPki(
        ca=ca,
        serving=serving,
        admin=admin,
        controller_manager=controller_manager,
        proxy=proxy,
        service_account_key=service_account_key,
        service_account_public_key=service_account_public_key,
    )
