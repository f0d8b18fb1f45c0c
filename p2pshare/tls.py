"""The `--self-signed` certificate: made once, kept, reused while it still fits.

A browser on another machine of the LAN gets a secure context (Web Crypto,
OPFS, service workers) only over HTTPS. With no CA on a LAN, the server makes a
self-signed certificate for every name and address of this host; the browser
warns once, and the user can check the SHA-256 fingerprint it shows against the
one printed at start-up.

The certificate and its key live in the state directory (`--state-dir`, else
`$XDG_STATE_HOME/p2pshare`, else `~/.local/state/p2pshare`); the key is 0600.
They are reused while the certificate is valid for another `RENEW_BEFORE` and
its subject alternative names still cover this host's current names and
addresses (a laptop that moved to another network gets a new one, and with it a
new fingerprint and one more warning).
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import logging
import os
import re
import socket
from collections.abc import Iterator
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from p2pshare.config import Config
from p2pshare.errors import ConfigError
from p2pshare.netaddr import interface_addresses

__all__ = [
    "CERT_FILENAME",
    "KEY_FILENAME",
    "certificate_fingerprint",
    "certificate_names",
    "default_state_dir",
    "ensure_self_signed",
    "self_signed_fingerprint",
    "self_signed_paths",
]

log = logging.getLogger(__name__)

CERT_FILENAME = "self-signed-cert.pem"
KEY_FILENAME = "self-signed-key.pem"
LOCK_FILENAME = "self-signed.lock"
VALIDITY = datetime.timedelta(days=397)
"""Within the 398 days that some clients allow any certificate."""
RENEW_BEFORE = datetime.timedelta(days=30)
BACKDATE = datetime.timedelta(days=1)
"""Phones with a clock a little behind still accept a certificate made just now."""

_DNS_NAME = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)(?:\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*$")
_WILDCARDS = frozenset({"0.0.0.0", "::", ""})

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def default_state_dir() -> Path:
    """`$XDG_STATE_HOME/p2pshare`, or `~/.local/state/p2pshare` (the XDG default)."""
    xdg = os.environ.get("XDG_STATE_HOME", "").strip()
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".local" / "state"
    return base / "p2pshare"


def self_signed_paths(config: Config) -> tuple[Path, Path]:
    """Where the certificate and the key are (or will be) kept: (certfile, keyfile)."""
    state_dir = config.state_dir or default_state_dir()
    return state_dir / CERT_FILENAME, state_dir / KEY_FILENAME


def certificate_names(config: Config) -> tuple[list[str], list[IPAddress]]:
    """The DNS names and IP addresses the certificate must cover for this host.

    Names: localhost, the host name, and its mDNS form (`<host>.local`), which
    is what many LANs resolve. Addresses: every interface address (loopback
    included) and any specific address in `config.hosts`. No DNS lookup is made,
    so this is instant with no network.
    """
    names = ["localhost"]
    hostname = socket.gethostname().strip().rstrip(".").lower()
    if hostname and hostname != "localhost":
        short = hostname.split(".")[0]
        for name in (hostname, f"{short}.local"):
            if _DNS_NAME.match(name) and name not in names:
                names.append(name)
    addresses: list[IPAddress] = []
    texts = [*interface_addresses(), "127.0.0.1", "::1"]
    texts += [h for h in config.hosts if h not in _WILDCARDS]
    for text in texts:
        try:
            address = ipaddress.ip_address(text.split("%")[0])
        except ValueError:
            continue
        if address not in addresses:
            addresses.append(address)
    return names, addresses


def certificate_fingerprint(certfile: Path) -> str:
    """The SHA-256 fingerprint of the (first) certificate in a PEM file, as browsers show it:
    upper-case hex pairs joined by colons. Raises ConfigError if the file is unreadable."""
    try:
        cert = x509.load_pem_x509_certificate(certfile.read_bytes())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read the certificate {certfile}: {exc}") from exc
    return _fingerprint(cert)


def self_signed_fingerprint(config: Config) -> str:
    """The fingerprint of the certificate `--self-signed` uses (after `ensure_self_signed`)."""
    return certificate_fingerprint(self_signed_paths(config)[0])


def ensure_self_signed(
    config: Config, *, now: datetime.datetime | None = None
) -> tuple[Path, Path]:
    """Return (certfile, keyfile) of a self-signed certificate that fits this host now.

    Reuses the kept one if it is valid for at least `RENEW_BEFORE` more, matches
    its key and covers `certificate_names(config)`; otherwise makes and keeps a
    new one. Several processes sharing the state directory take turns (a lock).
    Raises ConfigError when the state directory cannot be created or written.
    """
    now = now or datetime.datetime.now(datetime.UTC)
    certfile, keyfile = self_signed_paths(config)
    state_dir = certfile.parent
    names, addresses = certificate_names(config)
    try:
        state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        with _locked(state_dir / LOCK_FILENAME):
            reason = _unfit_reason(certfile, keyfile, names, addresses, now)
            if reason is None:
                _restrict_key_mode(keyfile)
                action = "reusing"
            else:
                log.info("making a new self-signed certificate: %s", reason)
                cert_pem, key_pem = _make_certificate(names, addresses, now)
                _write_private(keyfile, key_pem)
                _write_private(certfile, cert_pem, mode=0o644)
                action = "made"
    except OSError as exc:
        raise ConfigError(
            f"cannot keep the self-signed certificate in {state_dir}: {exc.strerror or exc}"
            " (choose another place with --state-dir)"
        ) from exc
    log.info(
        "%s self-signed certificate %s for %s; SHA-256 fingerprint %s",
        action,
        certfile,
        ", ".join(names + [str(a) for a in addresses]),
        certificate_fingerprint(certfile),
    )
    return certfile, keyfile


def _fingerprint(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex(":").upper()


def _unfit_reason(
    certfile: Path,
    keyfile: Path,
    names: list[str],
    addresses: list[IPAddress],
    now: datetime.datetime,
) -> str | None:
    """Why the kept certificate cannot be reused, or None if it can."""
    if not certfile.is_file() or not keyfile.is_file():
        return "none kept yet"
    try:
        cert = x509.load_pem_x509_certificate(certfile.read_bytes())
        key = serialization.load_pem_private_key(keyfile.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        return f"the kept one is unreadable ({exc})"
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    encoding = serialization.Encoding.DER
    if cert.public_key().public_bytes(encoding, public) != key.public_key().public_bytes(
        encoding, public
    ):
        return "the kept certificate and key do not match"
    if cert.not_valid_before_utc > now:
        return "the kept one is not valid yet (was the clock changed?)"
    if cert.not_valid_after_utc - now < RENEW_BEFORE:
        return "the kept one expires soon"
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return "the kept one names no addresses"
    missing = [n for n in names if n not in san.get_values_for_type(x509.DNSName)]
    covered = san.get_values_for_type(x509.IPAddress)
    missing += [str(a) for a in addresses if a not in covered]
    if missing:
        return "this host has new names or addresses: " + ", ".join(missing)
    return None


def _make_certificate(
    names: list[str], addresses: list[IPAddress], now: datetime.datetime
) -> tuple[bytes, bytes]:
    """A new ECDSA P-256 key and a self-signed server certificate for `names` and `addresses`."""
    key = ec.generate_private_key(ec.SECP256R1())
    host = names[1] if len(names) > 1 else names[0]
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, f"p2pshare on {host}"[:64]),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "p2pshare (self-signed)"),
        ]
    )
    san: list[x509.GeneralName] = [x509.DNSName(n) for n in names]
    san += [x509.IPAddress(a) for a in addresses]
    public_key = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public_key)
        # A fresh random serial each time: Firefox refuses two certificates with
        # the same issuer and serial.
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.SubjectAlternativeName(san), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def _write_private(path: Path, data: bytes, *, mode: int = 0o600) -> None:
    """Write `data` to `path` atomically, the file created with `mode` from the start."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, mode)  # in case the file existed with other bits
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _restrict_key_mode(keyfile: Path) -> None:
    if os.name == "posix" and keyfile.stat().st_mode & 0o077:
        log.warning("%s was readable by others; making it private (0600)", keyfile)
        os.chmod(keyfile, 0o600)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive advisory lock on `path` (a no-op where there is no fcntl)."""
    try:
        import fcntl
    except ImportError:  # Windows: one process at a time is the user's business
        yield
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock
