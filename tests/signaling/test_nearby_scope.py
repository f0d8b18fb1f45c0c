"""Which nearby group an address belongs to, under each --nearby-scope (no I/O)."""

from __future__ import annotations

import base64
import hashlib

import pytest

from p2pshare.signaling.nearby_messages import is_valid_nearby_group_id
from p2pshare.signaling.nearby_scope import (
    NearbyScope,
    nearby_group_for,
    nearby_group_id,
    nearby_key,
)

A, S, AUTO, OFF = NearbyScope.ADDRESS, NearbyScope.SUBNET, NearbyScope.AUTO, NearbyScope.OFF


@pytest.mark.parametrize(
    ("scope", "address", "key"),
    [
        # address: the address itself, normalised
        (A, "203.0.113.7", "a:203.0.113.7"),
        (A, "192.168.1.20", "a:192.168.1.20"),
        (A, "2001:DB8:0:0:1::7", "a:2001:db8::1:0:0:7"),
        (A, "::ffff:198.51.100.9", "a:198.51.100.9"),  # IPv4-mapped IPv6 is IPv4
        (A, "fe80::1%eth0", "a:fe80::1"),  # a zone id is not part of the address
        # subnet: IPv4 /24, IPv6 /64
        (S, "203.0.113.7", "s:203.0.113.0/24"),
        (S, "192.168.1.20", "s:192.168.1.0/24"),
        (S, "::ffff:192.168.1.20", "s:192.168.1.0/24"),
        (S, "2001:db8:1:2:aaaa:bbbb:cccc:dddd", "s:2001:db8:1:2::/64"),
        # auto: a public IPv4 address is one home (NAT); everything else by subnet
        (AUTO, "203.0.113.7", "a:203.0.113.7"),
        (AUTO, "8.8.8.8", "a:8.8.8.8"),
        (AUTO, "100.64.3.4", "a:100.64.3.4"),  # CGNAT: one address per subscriber
        (AUTO, "::ffff:203.0.113.7", "a:203.0.113.7"),
        (AUTO, "10.1.2.3", "s:10.1.2.0/24"),
        (AUTO, "172.16.5.6", "s:172.16.5.0/24"),
        (AUTO, "172.31.255.1", "s:172.31.255.0/24"),
        (AUTO, "172.32.0.1", "a:172.32.0.1"),  # outside 172.16/12: public
        (AUTO, "192.168.1.20", "s:192.168.1.0/24"),
        (AUTO, "::ffff:192.168.1.20", "s:192.168.1.0/24"),
        (AUTO, "127.0.0.1", "s:127.0.0.0/24"),
        (AUTO, "169.254.7.8", "s:169.254.7.0/24"),
        (AUTO, "2001:db8:1:2::99", "s:2001:db8:1:2::/64"),  # any IPv6: its /64
        (AUTO, "::1", "s:::/64"),
        (AUTO, "fe80::1234%wlan0", "s:fe80::/64"),
    ],
)
def test_the_key_of_an_address(scope: NearbyScope, address: str, key: str) -> None:
    assert nearby_key(scope, address) == key


@pytest.mark.parametrize("scope", list(NearbyScope))
@pytest.mark.parametrize("address", ["unknown", "", "not an address", "0.0.0.0", "::", "1.2.3"])
def test_no_group_without_a_usable_address(scope: NearbyScope, address: str) -> None:
    assert nearby_key(scope, address) is None
    assert nearby_group_for(scope, address) is None


@pytest.mark.parametrize("address", ["203.0.113.7", "192.168.1.20", "2001:db8::1"])
def test_off_gives_no_group(address: str) -> None:
    assert nearby_key(OFF, address) is None and nearby_group_for(OFF, address) is None


def test_no_group_for_a_proxy_address() -> None:
    """None is what the HTTP layer passes when the address is a proxy's (app.nearby_address)."""
    assert nearby_group_for(AUTO, None) is None


def test_the_group_id_is_the_documented_hash() -> None:
    key = "a:203.0.113.7"
    digest = hashlib.sha256(b"p2pshare-nearby\x00" + key.encode()).digest()[:16]
    expected = base64.urlsafe_b64encode(digest).decode().rstrip("=")
    assert nearby_group_id(key) == expected and len(expected) == 22
    assert nearby_group_for(AUTO, "203.0.113.7") == expected
    assert is_valid_nearby_group_id(expected)


def test_same_network_same_group_and_neighbours_apart() -> None:
    same = {nearby_group_for(AUTO, f"192.168.1.{n}") for n in (1, 20, 254)}
    assert len(same) == 1
    assert nearby_group_for(AUTO, "192.168.2.1") not in same
    # A public address: each is its own home.
    assert nearby_group_for(AUTO, "203.0.113.7") != nearby_group_for(AUTO, "203.0.113.8")
    # One /64 is one network, whatever the interface ids (privacy addresses rotate).
    v6 = {nearby_group_for(AUTO, f"2001:db8:1:2::{n:x}") for n in (1, 0xBEEF)}
    assert len(v6) == 1
    # address and subnet keys never collide.
    assert nearby_group_for(A, "192.168.1.0") != nearby_group_for(S, "192.168.1.7")
