"""This host's addresses, to print the URLs people can open.

Linux is read directly (ioctl for IPv4, /proc for IPv6) so that it works with no
DNS and no network at all; elsewhere the host name is resolved.
"""

from __future__ import annotations

import ipaddress
import socket
import struct
import sys
from pathlib import Path

__all__ = ["interface_addresses", "url_host", "urls_for"]

_SIOCGIFADDR = 0x8915


def _linux_ipv4() -> list[str]:
    import fcntl  # POSIX only

    found: list[str] = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for _, name in socket.if_nameindex():
            request = struct.pack("256s", name.encode()[:15])
            try:
                reply = fcntl.ioctl(sock.fileno(), _SIOCGIFADDR, request)
            except OSError:
                continue  # interface without an IPv4 address
            found.append(socket.inet_ntoa(reply[20:24]))
    return found


def _linux_ipv6() -> list[str]:
    found: list[str] = []
    try:
        lines = Path("/proc/net/if_inet6").read_text().splitlines()
    except OSError:
        return found
    for line in lines:
        hex_address = line.split()[0]
        found.append(str(ipaddress.IPv6Address(bytes.fromhex(hex_address))))
    return found


def interface_addresses() -> list[str]:
    """Usable addresses of this host: LAN first, loopback last, link-local IPv6 left out
    (browsers cannot open URLs with zone ids)."""
    if sys.platform.startswith("linux"):
        raw = _linux_ipv4() + _linux_ipv6()
    else:
        try:
            infos = socket.getaddrinfo(socket.gethostname(), None)
        except OSError:
            infos = []
        raw = [str(info[4][0]) for info in infos] + ["127.0.0.1"]
    addresses: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = []
    for text in raw:
        address = ipaddress.ip_address(text.split("%")[0])
        if address.is_link_local or address.is_unspecified or address in addresses:
            continue
        addresses.append(address)
    addresses.sort(key=lambda a: (a.is_loopback, a.version, not a.is_private))
    return [str(a) for a in addresses]


def url_host(address: str) -> str:
    return f"[{address}]" if ":" in address else address


def urls_for(bound_hosts: list[str], port: int, *, tls: bool) -> list[str]:
    """The URLs that reach a server bound to `bound_hosts` (wildcards expanded)."""
    scheme = "https" if tls else "http"
    default_port = 443 if tls else 80
    suffix = "" if port == default_port else f":{port}"
    candidates: list[str] = []
    wants_v4 = any(h in ("0.0.0.0", "") for h in bound_hosts)
    wants_v6 = "::" in bound_hosts
    if wants_v4 or wants_v6:
        for address in interface_addresses():
            is_v6 = ":" in address
            if (is_v6 and wants_v6) or (not is_v6 and wants_v4):
                candidates.append(address)
    candidates += [h for h in bound_hosts if h not in ("0.0.0.0", "::", "")]
    seen: list[str] = []
    for address in candidates:
        if address not in seen:
            seen.append(address)
    return [f"{scheme}://{url_host(a)}{suffix}/" for a in seen]
