"""Certificates, keys, static tokens and kubeconfig files of the local control plane."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import secrets
from pathlib import Path
from typing import Any

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ADMIN_USER = "slicewise-admin"
POOL_GROUP = "slicewise:test-users"


def write_serving_credentials(workdir: Path) -> None:
    """Write ``ca.crt``/``ca.key``, the API server's serving pair and the service-account key.

    The CA key is kept because the controller-manager's certificate signer needs it.
    """
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "slicewise-test-ca")])
    now = dt.datetime.now(dt.UTC)
    validity = (now - dt.timedelta(hours=1), now + dt.timedelta(days=2))
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(validity[0])
        .not_valid_after(validity[1])
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(validity[0])
        .not_valid_after(validity[1])
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                    x509.DNSName("localhost"),
                    x509.DNSName("kubernetes.default.svc"),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    (workdir / "ca.crt").write_bytes(ca_cert.public_bytes(pem))
    write_private(workdir / "ca.key", _key_pem(ca_key))
    (workdir / "serving.crt").write_bytes(cert.public_bytes(pem))
    write_private(workdir / "serving.key", _key_pem(key))
    # Service-account tokens are signed with RS256 by default, so this key is RSA.
    write_private(workdir / "sa.key", _key_pem(rsa.generate_private_key(65537, 2048)))


def write_token_file(path: Path, admin_token: str, pool_size: int) -> dict[str, str]:
    """Write the static token file (admin in ``system:masters`` plus a user pool).

    Returns the pool's tokens by user name.
    """
    pool = {f"user-{i}": secrets.token_urlsafe(32) for i in range(1, pool_size + 1)}
    lines = [f'{admin_token},{ADMIN_USER},uid-admin,"system:masters"']
    lines += [f'{tok},{user},uid-{user},"{POOL_GROUP}"' for user, tok in pool.items()]
    write_private(path, ("\n".join(lines) + "\n").encode())
    return pool


def write_kubeconfig(path: Path, document: dict[str, Any]) -> Path:
    """Write a kubeconfig document readable by the owner only, and return its path."""
    write_private(path, yaml.safe_dump(document, sort_keys=False).encode())
    return path


def _key_pem(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> bytes:
    """PEM (PKCS#8, unencrypted) encoding of a private key."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def write_private(path: Path, data: bytes) -> None:
    """Write a secret file readable by the owner only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
