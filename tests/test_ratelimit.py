"""Token buckets and the keys per-source limits count by."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from p2pshare.ratelimit import KeyedBuckets, TokenBucket, source_key


def test_token_bucket_refills_at_its_rate_up_to_its_burst() -> None:
    bucket = TokenBucket(rate_per_s=2, burst=3, stamp_s=0)
    assert [bucket.take(0) for _ in range(4)] == [True, True, True, False]
    assert bucket.take(0.5) and not bucket.take(0.5)
    assert [bucket.take(100) for _ in range(4)] == [True, True, True, False]


def test_keyed_buckets_forget_the_least_recent_sources() -> None:
    buckets: KeyedBuckets[str] = KeyedBuckets(rate_per_s=1, burst=1, max_keys=2)
    assert buckets.take("a", 0) and not buckets.take("a", 0)
    buckets.take("b", 0)
    buckets.take("c", 0)
    assert len(buckets) == 2
    assert buckets.take("a", 0)  # evicted, so it starts full again


def test_source_keys_group_an_ipv6_slash_64() -> None:
    assert source_key("192.0.2.7") == "192.0.2.7"
    assert source_key("2001:db8:1:2:aaaa::1") == source_key("2001:db8:1:2:bbbb::9")
    assert source_key("2001:db8:1:2::1") != source_key("2001:db8:1:3::1")
    assert source_key("::ffff:192.0.2.7") == "192.0.2.7"
    assert source_key("fe80::1%eth0") == "fe80::/64"
    assert source_key("unknown") == "unknown"


def reference_key(address: str) -> str:
    """The definition, written with `ipaddress` (what `source_key` was before it got fast)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("192.0.2.7", "192.0.2.7"),
        ("127.0.0.1", "127.0.0.1"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:DB8:1:2:0:0:0:1", "2001:db8:1:2::/64"),  # any spelling, one key
        ("2001:0db8:0001:0002:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
        ("::1", "::/64"),
        ("::ffff:192.0.2.7", "192.0.2.7"),  # IPv4-mapped: the IPv4 host
        ("::ffff:c000:0207", "192.0.2.7"),
        ("::192.0.2.7", "::/64"),  # IPv4-compatible (deprecated) is plain IPv6
        ("fe80::1%eth0", "fe80::/64"),  # the scope does not split a source
        ("fe80::1%2", "fe80::/64"),
        ("192.0.2.7%eth0", "192.0.2.7"),
        ("unknown", "unknown"),
        ("", ""),
        ("01.2.3.4", "01.2.3.4"),  # not an address (leading zero): its own key
        ("1.2.3", "1.2.3"),
        ("2001:db8::1::2", "2001:db8::1::2"),
        ("/run/p2pshare.sock", "/run/p2pshare.sock"),
        ("1.2.3.4\x00", "1.2.3.4\x00"),  # inet_pton refuses NUL with ValueError, not OSError
        ("::1\x00", "::1\x00"),
        ("\udcff", "\udcff"),
        ("1.2.3.\u0664", "1.2.3.\u0664"),  # a non-ASCII digit
    ],
)
def test_source_keys(address: str, key: str) -> None:
    assert source_key(address) == key == reference_key(address)


def _spellings(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> list[str]:
    forms = [str(ip), ip.exploded]
    if isinstance(ip, ipaddress.IPv4Address):
        forms.append(f"::ffff:{ip}")
    else:
        forms += [ip.exploded.upper(), f"{ip}%eth0"]
    return forms


@given(st.ip_addresses())
def test_source_key_matches_its_definition_for_every_address(
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> None:
    for form in _spellings(ip):
        assert source_key(form) == reference_key(form), form


@given(st.ip_addresses(v=6), st.integers(0, 2**64 - 1))
def test_every_address_in_a_slash_64_counts_as_one_source(
    ip: ipaddress.IPv6Address, host_bits: int
) -> None:
    if ip.ipv4_mapped is not None:
        return
    neighbour = ipaddress.IPv6Address((int(ip) >> 64 << 64) | host_bits)
    assert source_key(str(ip)) == source_key(str(neighbour))
    other_net = ipaddress.IPv6Address(int(ip) ^ (1 << 64))
    if other_net.ipv4_mapped is None:
        assert source_key(str(other_net)) != source_key(str(ip))


@given(st.text(max_size=60) | st.from_regex(r"[0-9a-fA-F:.%\x00]{0,45}", fullmatch=True))
def test_source_key_of_any_text_matches_its_definition(text: str) -> None:
    assert source_key(text) == reference_key(text)
