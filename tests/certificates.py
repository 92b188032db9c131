"""One self-signed certificate builder for every test that needs a real one (TLS or a pasted cert)."""

from __future__ import annotations

import datetime
import ipaddress
from pathlib import Path


def self_signed(
    common_name: str = "localhost", *, expires: datetime.datetime | None = None
) -> tuple[bytes, bytes]:
    """A self-signed CA certificate for `common_name` (also valid for localhost and 127.0.0.1, so a
    loopback TLS server can use it) and its private key, both PEM. Valid from yesterday until
    `expires` (default: in three days)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(expires or now + datetime.timedelta(days=3))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(private, hashes.SHA256())
    )
    key_pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def write_certificate(path: Path, common_name: str = "localhost") -> Path:
    """`path` holding a self-signed certificate (PEM) for `common_name`."""
    path.write_bytes(self_signed(common_name)[0])
    return path
