"""TLS: --certfile/--keyfile, and the --self-signed certificate (made, kept, reused, renewed)."""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import re
import socket
import ssl
import stat
from pathlib import Path

import pytest
import trio
import trio_websocket
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID

from p2pshare import tls
from p2pshare.config import Config
from p2pshare.signaling.admission import access_key
from p2pshare.signaling.messages import Join, Welcome, decode_server_message, encode_client_message
from p2pshare.signaling.room import creator_room_id
from p2pshare.tls import (
    certificate_fingerprint,
    default_state_dir,
    ensure_self_signed,
    self_signed_paths,
)
from tests.conftest import StartServer
from tests.deploy.cluster import http_get

FINGERPRINT = re.compile(r"^(?:[0-9A-F]{2}:){31}[0-9A-F]{2}$")


def _load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def _sans(cert: x509.Certificate) -> tuple[list[str], list[str]]:
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return san.get_values_for_type(x509.DNSName), [
        str(a) for a in san.get_values_for_type(x509.IPAddress)
    ]


def test_self_signed_certificate_covers_this_host_and_is_kept_private(tmp_path: Path) -> None:
    config = Config(state_dir=tmp_path / "state")
    certfile, keyfile = ensure_self_signed(config)
    assert (certfile, keyfile) == self_signed_paths(config)
    assert stat.S_IMODE(keyfile.stat().st_mode) == 0o600
    assert stat.S_IMODE(certfile.parent.stat().st_mode) == 0o700
    cert = _load(certfile)
    assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey)
    assert cert.public_key().curve.name == "secp256r1"  # type: ignore[union-attr]
    names, addresses = _sans(cert)
    assert "localhost" in names and socket.gethostname().lower() in names
    from p2pshare.netaddr import interface_addresses

    for address in [*interface_addresses(), "127.0.0.1", "::1"]:
        assert str(ipaddress.ip_address(address)) in addresses
    usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.SERVER_AUTH in usage
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    # The fingerprint in the form browsers show, of the DER certificate.
    fingerprint = certificate_fingerprint(certfile)
    assert FINGERPRINT.match(fingerprint)
    der = ssl.PEM_cert_to_DER_cert(certfile.read_text())
    assert fingerprint.replace(":", "").lower() == hashlib.sha256(der).hexdigest()


def test_it_is_reused_while_it_fits(tmp_path: Path) -> None:
    config = Config(state_dir=tmp_path)
    certfile, keyfile = ensure_self_signed(config)
    before = (certfile.read_bytes(), keyfile.read_bytes())
    ensure_self_signed(config)
    assert (certfile.read_bytes(), keyfile.read_bytes()) == before
    # Still valid well past the renewal margin: kept.
    later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=300)
    ensure_self_signed(config, now=later)
    assert certfile.read_bytes() == before[0]


def test_it_is_renewed_before_it_expires(tmp_path: Path) -> None:
    config = Config(state_dir=tmp_path)
    certfile, _ = ensure_self_signed(config)
    old = certificate_fingerprint(certfile)
    near_the_end = datetime.datetime.now(datetime.UTC) + tls.VALIDITY - datetime.timedelta(days=5)
    ensure_self_signed(config, now=near_the_end)
    assert certificate_fingerprint(certfile) != old
    assert _load(certfile).not_valid_after_utc > near_the_end + tls.RENEW_BEFORE


def test_a_new_address_gets_a_new_certificate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = Config(state_dir=tmp_path)
    certfile, _ = ensure_self_signed(config)
    old = certificate_fingerprint(certfile)
    assert "192.0.2.77" not in _sans(_load(certfile))[1]
    from p2pshare import netaddr

    real = netaddr.interface_addresses
    monkeypatch.setattr(tls, "interface_addresses", lambda: ["192.0.2.77", *real()])
    ensure_self_signed(config)
    assert "192.0.2.77" in _sans(_load(certfile))[1]
    assert certificate_fingerprint(certfile) != old
    # A specific --host address is covered too.
    ensure_self_signed(Config(hosts=("198.51.100.5",), state_dir=tmp_path))
    assert "198.51.100.5" in _sans(_load(certfile))[1]


def test_a_broken_or_mismatched_pair_is_replaced(tmp_path: Path) -> None:
    config = Config(state_dir=tmp_path)
    certfile, keyfile = ensure_self_signed(config)
    other = tmp_path / "other"
    _, other_key = ensure_self_signed(Config(state_dir=other))
    keyfile.write_bytes(other_key.read_bytes())  # the key of another certificate
    ensure_self_signed(config)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(certfile, keyfile)  # raises if they do not match
    certfile.write_text("garbage")
    ensure_self_signed(config)
    ctx.load_cert_chain(certfile, keyfile)


def test_loose_key_permissions_are_tightened(tmp_path: Path) -> None:
    config = Config(state_dir=tmp_path)
    _, keyfile = ensure_self_signed(config)
    keyfile.chmod(0o644)
    ensure_self_signed(config)
    assert stat.S_IMODE(keyfile.stat().st_mode) == 0o600


def test_state_dir_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    assert default_state_dir() == tmp_path / "xdg" / "p2pshare"
    certfile, _ = ensure_self_signed(Config())
    assert certfile.parent == tmp_path / "xdg" / "p2pshare"
    monkeypatch.setenv("XDG_STATE_HOME", "relative/ignored")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_state_dir() == tmp_path / "home" / ".local" / "state" / "p2pshare"


def test_an_unwritable_state_dir_is_a_config_error(tmp_path: Path) -> None:
    from p2pshare.errors import ConfigError

    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(ConfigError, match="--state-dir"):
        ensure_self_signed(Config(state_dir=blocker / "state"))


async def _https_and_wss(
    port: int, context: ssl.SSLContext, host: str = "127.0.0.1", *, hsts: bool = False
) -> None:
    status, headers, _ = await trio.to_thread.run_sync(
        lambda: http_get(f"https://{host}:{port}/", context=context)
    )
    names = {k.lower() for k in headers}
    assert status == 200 and "content-security-policy" in names
    # HSTS with a real certificate; never with a self-signed one (its warning could then not
    # be clicked through, for a year).
    assert ("strict-transport-security" in names) is hsts
    url = f"wss://{host}:{port}/ws/{creator_room_id('t' * 22)}"
    async with trio_websocket.open_websocket_url(url, ssl_context=context) as ws:
        access = access_key(bytes(32), creator_room_id("t" * 22))
        await ws.send_message(
            encode_client_message(Join(cid="c" * 22, token="t" * 22, access=access))
        )
        with trio.fail_after(5):
            assert isinstance(decode_server_message(await ws.get_message()), Welcome)


async def test_self_signed_server_speaks_https_and_wss(
    start_server: StartServer, tmp_path: Path
) -> None:
    server = await start_server(config={"self_signed": True, "state_dir": tmp_path})
    assert server.tls
    certfile, _ = self_signed_paths(Config(state_dir=tmp_path))
    # A client that trusts exactly this certificate (what the one click-through does).
    context = ssl.create_default_context(cafile=str(certfile))
    await _https_and_wss(server.http_port, context)
    await _https_and_wss(server.http_port, context, host="localhost")
    # The certificate on the wire is the one whose fingerprint is printed.
    der = await trio.to_thread.run_sync(
        lambda: ssl.get_server_certificate(("127.0.0.1", server.http_port))
    )
    assert hashlib.sha256(ssl.PEM_cert_to_DER_cert(der)).hexdigest() == (
        certificate_fingerprint(certfile).replace(":", "").lower()
    )


async def test_certfile_and_keyfile(start_server: StartServer, tmp_path: Path) -> None:
    certfile, keyfile = ensure_self_signed(Config(state_dir=tmp_path / "made-elsewhere"))
    server = await start_server(config={"certfile": certfile, "keyfile": keyfile})
    assert server.tls
    context = ssl.create_default_context(cafile=str(certfile))
    await _https_and_wss(server.http_port, context, hsts=True)


def test_certificate_files_must_be_readable(tmp_path: Path) -> None:
    from p2pshare.errors import ConfigError

    with pytest.raises(ConfigError):
        certificate_fingerprint(tmp_path / "missing.pem")


async def test_a_certificate_and_key_that_do_not_match_are_a_config_error(
    start_server: StartServer, tmp_path: Path
) -> None:
    from p2pshare.errors import ConfigError

    certfile, _ = ensure_self_signed(Config(state_dir=tmp_path / "a"))
    _, keyfile = ensure_self_signed(Config(state_dir=tmp_path / "b"))
    with pytest.raises(ConfigError, match="cannot use the certificate"):
        await start_server(config={"certfile": certfile, "keyfile": keyfile})
