"""Which nearby group a client address belongs to (`--nearby-scope`), sans-IO.

A nearby group is "the devices on one network": the group key is the client's address
(`address`), or its IPv4 /24 or IPv6 /64 (`subnet`); `auto` takes the address of a public
IPv4 client (behind NAT, one public address is one home) and the subnet of everything else (a
private, loopback or link-local IPv4 network; any IPv6: a /64 is one network). The group id
is 128 bits of a hash of the key text (`a:203.0.113.7`, `s:192.168.1.0/24`), so one group
gets one id on every instance, which the load balancer hashes like a room id.

The id is no secret: trying every IPv4 address (2^32 hashes) reverses it. It only names
the group in the WebSocket path, and the instance that serves the path recomputes it from
the connecting client's address (docs/protocol.md, "Nearby").
"""

from __future__ import annotations

import base64
import enum
import hashlib
import ipaddress
from typing import Final

__all__ = [
    "LAN_IPV4_NETWORKS",
    "NearbyScope",
    "nearby_group_for",
    "nearby_group_id",
    "nearby_key",
]

NEARBY_ID_DOMAIN: Final = b"p2pshare-nearby\x00"
SUBNET_PREFIX_V4: Final = 24
SUBNET_PREFIX_V6: Final = 64
# What `auto` groups by subnet among IPv4 addresses; every other IPv4 address (public ones,
# and also CGNAT's 100.64/10, where each address is one subscriber) is its own group.
LAN_IPV4_NETWORKS: Final = tuple(
    ipaddress.IPv4Network(net)
    for net in (
        "10.0.0.0/8",  # RFC 1918
        "172.16.0.0/12",  # RFC 1918
        "192.168.0.0/16",  # RFC 1918
        "127.0.0.0/8",  # loopback (RFC 1122)
        "169.254.0.0/16",  # link-local (RFC 3927)
    )
)


class NearbyScope(enum.StrEnum):
    OFF = "off"  # no nearby groups: /config.json says null, /ws/nearby.* is refused
    AUTO = "auto"  # `address` for a public IPv4 address, `subnet` for everything else
    ADDRESS = "address"  # one group per client address
    SUBNET = "subnet"  # one group per IPv4 /24 or IPv6 /64


def _parse(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        parsed = ipaddress.ip_address(address.strip().split("%", 1)[0])  # (a zone id: dropped)
    except ValueError:
        return None  # "unknown" (no peer address), or a forwarded value that is no address
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        return parsed.ipv4_mapped
    return parsed


def nearby_key(scope: NearbyScope, address: str) -> str | None:
    """The group key text of `address` under `scope`, or None: no group (off, no address)."""
    if scope is NearbyScope.OFF:
        return None
    parsed = _parse(address)
    if parsed is None or parsed.is_unspecified:
        return None
    by_subnet = scope is NearbyScope.SUBNET or (
        scope is NearbyScope.AUTO
        and (
            isinstance(parsed, ipaddress.IPv6Address)
            or any(parsed in net for net in LAN_IPV4_NETWORKS)
        )
    )
    if not by_subnet:
        return f"a:{parsed}"
    prefix = SUBNET_PREFIX_V4 if isinstance(parsed, ipaddress.IPv4Address) else SUBNET_PREFIX_V6
    network = ipaddress.ip_network(f"{parsed}/{prefix}", strict=False)
    return f"s:{network}"


def nearby_group_id(key: str) -> str:
    """base64url (no padding) of SHA-256("p2pshare-nearby\\0" + key)[:16]: 22 characters."""
    digest = hashlib.sha256(NEARBY_ID_DOMAIN + key.encode()).digest()
    return base64.urlsafe_b64encode(digest[:16]).decode().rstrip("=")


def nearby_group_for(scope: NearbyScope, address: str | None) -> str | None:
    """The group id of a client at `address` (None: the address is not the client's own,
    e.g. a proxy's), or None when it gets no group."""
    if address is None:
        return None
    key = nearby_key(scope, address)
    return None if key is None else nearby_group_id(key)
