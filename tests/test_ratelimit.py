"""Token buckets and the keys per-source limits count by."""

from __future__ import annotations

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
