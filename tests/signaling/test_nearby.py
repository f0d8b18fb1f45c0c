"""A nearby group's state machine, with no I/O: events in, effects out."""

from __future__ import annotations

import itertools
import re

import pytest

from p2pshare.signaling.messages import CloseCode, ErrorCode, SignalingError
from p2pshare.signaling.nearby import (
    GROUP_TRANSITIONS,
    RENAME_BURST,
    GroupState,
    NearbyGroup,
    NearbySettings,
    random_peer_id,
)
from p2pshare.signaling.nearby_messages import (
    NearJoin,
    NearLeft,
    NearName,
    NearPeer,
    NearPeerInfo,
    NearRelay,
    NearRelayed,
    NearWelcome,
)
from p2pshare.signaling.room import Close, Deliver, Effect

GROUP = "Z3JvdXAtaWQtZXhhbXBsZQ"
MAX = 32


def cid(n: int) -> str:
    return f"nearby-client-{n:04d}"


def joining(n: int, name: str | None = None) -> NearJoin:
    return NearJoin(cid=cid(n), name=name or f"Device {n}", device="Chrome on Linux")


def counter() -> object:
    numbers = itertools.count(1)
    return lambda: f"peer{next(numbers):012d}"


@pytest.fixture
def group() -> NearbyGroup:
    return NearbyGroup(GROUP, NearbySettings(max_peers=MAX), new_peer_id=counter())  # type: ignore[arg-type]


def deliveries(effects: list[Effect]) -> list[tuple[object, object]]:
    return [(e.conn, e.message) for e in effects if isinstance(e, Deliver)]


def welcome(effects: list[Effect], conn: object) -> NearWelcome:
    (message,) = [m for c, m in deliveries(effects) if c == conn and isinstance(m, NearWelcome)]
    assert isinstance(message, NearWelcome)
    return message


def test_the_second_device_sees_the_first_and_is_announced(group: NearbyGroup) -> None:
    first = group.join("c1", joining(1), 0.0)
    me = welcome(first, "c1")
    assert me.peers == () and deliveries(first) == [("c1", me)]
    second = group.join("c2", joining(2), 0.0)
    you = welcome(second, "c2")
    assert you.peers == (NearPeerInfo(id=me.you, name="Device 1", device="Chrome on Linux"),)
    assert ("c1", NearPeer(id=you.you, name="Device 2", device="Chrome on Linux")) in deliveries(
        second
    )
    assert group.peer_count == 2 and group.state is GroupState.OPEN


def test_relay_goes_to_its_target_only_with_the_servers_from(group: NearbyGroup) -> None:
    a = welcome(group.join("c1", joining(1), 0.0), "c1").you
    b = welcome(group.join("c2", joining(2), 0.0), "c2").you
    group.join("c3", joining(3), 0.0)
    assert group.relay("c1", NearRelay(to=b, data="hello")) == [
        Deliver("c2", NearRelayed(from_=a, data="hello"))
    ]


def test_relay_to_an_unknown_peer_or_to_oneself_is_refused_not_fatal(group: NearbyGroup) -> None:
    a = welcome(group.join("c1", joining(1), 0.0), "c1").you
    with pytest.raises(SignalingError) as unknown:
        group.relay("c1", NearRelay(to="nobody0000000000", data="x"))
    assert unknown.value.code is ErrorCode.UNKNOWN_PEER and not unknown.value.fatal
    with pytest.raises(SignalingError) as myself:
        group.relay("c1", NearRelay(to=a, data="x"))
    assert myself.value.code is ErrorCode.NOT_ALLOWED and not myself.value.fatal


def test_a_peer_of_another_group_is_unknown_here() -> None:
    here = NearbyGroup(GROUP, NearbySettings(max_peers=MAX))
    there = NearbyGroup("b3RoZXItZ3JvdXAtaWQtMQ", NearbySettings(max_peers=MAX))
    here.join("c1", joining(1), 0.0)
    stranger = welcome(there.join("c9", joining(9), 0.0), "c9").you
    with pytest.raises(SignalingError) as caught:
        here.relay("c1", NearRelay(to=stranger, data="x"))
    assert caught.value.code is ErrorCode.UNKNOWN_PEER


def test_requests_before_joining_are_refused(group: NearbyGroup) -> None:
    for request in (
        lambda: group.relay("cX", NearRelay(to="x", data="y")),
        lambda: group.rename("cX", NearName(name="y"), 0.0),
    ):
        with pytest.raises(SignalingError) as caught:
            request()
        assert caught.value.code is ErrorCode.JOIN_FIRST and caught.value.fatal


def test_a_second_join_on_one_connection_and_another_version(group: NearbyGroup) -> None:
    group.join("c1", joining(1), 0.0)
    with pytest.raises(SignalingError) as again:
        group.join("c1", joining(2), 0.0)
    assert again.value.code is ErrorCode.ALREADY_JOINED
    with pytest.raises(SignalingError) as version:
        group.join("c2", NearJoin(cid=cid(2), name="x", v=2), 0.0)
    assert version.value.code is ErrorCode.BAD_MESSAGE and version.value.close == 4008


def test_a_rename_is_announced_to_the_others(group: NearbyGroup) -> None:
    a = welcome(group.join("c1", joining(1), 0.0), "c1").you
    group.join("c2", joining(2), 0.0)
    effects = group.rename("c1", NearName(name="Blue Heron"), 1.0)
    assert deliveries(effects) == [
        ("c2", NearPeer(id=a, name="Blue Heron", device="Chrome on Linux"))
    ]
    assert group.rename("c1", NearName(name="Blue Heron"), 1.0) == []  # unchanged: silent
    # A newcomer sees the new name.
    (info,) = [p for p in welcome(group.join("c3", joining(3), 1.0), "c3").peers if p.id == a]
    assert info.name == "Blue Heron"


def test_a_rename_flood_is_cut_to_the_rename_rate(group: NearbyGroup) -> None:
    """One rename costs a frame for every other device: a flood would fill their queues."""
    group.join("c1", joining(1), 0.0)
    for n in range(2, MAX + 1):
        group.join(f"c{n}", joining(n), 0.0)
    announced = 0
    refused = 0
    for i in range(200):
        try:
            announced += len(group.rename("c1", NearName(name=f"Name {i}"), 0.0))
        except SignalingError as error:
            assert error.code is ErrorCode.RATE_LIMITED and not error.fatal
            refused += 1
    assert announced == RENAME_BURST * (MAX - 1) and refused == 200 - RENAME_BURST
    # It refills slowly: one more after two seconds.
    assert len(group.rename("c1", NearName(name="Later"), 2.0)) == MAX - 1
    with pytest.raises(SignalingError):
        group.rename("c1", NearName(name="Too soon"), 2.1)


def test_the_same_cid_replaces_its_older_connection(group: NearbyGroup) -> None:
    old = welcome(group.join("old", joining(1), 0.0), "old").you
    group.join("other", joining(2), 0.0)
    effects = group.join("new", joining(1, "Reloaded"), 0.0)
    closes = [e for e in effects if isinstance(e, Close)]
    assert [(c.conn, c.error, c.code) for c in closes] == [
        ("old", ErrorCode.REPLACED, CloseCode.REPLACED)
    ]
    new = welcome(effects, "new")
    assert new.you != old and [p.name for p in new.peers] == ["Device 2"]
    # The others drop the old id and see the new one.
    assert deliveries(effects) == [
        ("other", NearLeft(id=old)),
        ("new", new),
        ("other", NearPeer(id=new.you, name="Reloaded", device="Chrome on Linux")),
    ]
    assert group.peer_count == 2
    # The replaced connection's own end changes nothing; relays reach the new one.
    assert group.disconnect("old", clean=False) == []
    assert group.relay("other", NearRelay(to=new.you, data="x"))[0].conn == "new"  # type: ignore[union-attr]


def test_the_33rd_device_is_refused_but_a_reload_in_a_full_group_is_not(
    group: NearbyGroup,
) -> None:
    for n in range(1, MAX + 1):
        group.join(f"c{n}", joining(n), 0.0)
    assert group.state is GroupState.FULL and group.peer_count == MAX
    with pytest.raises(SignalingError) as full:
        group.join("c33", joining(33), 0.0)
    assert full.value.code is ErrorCode.GROUP_FULL and full.value.fatal
    assert full.value.close == CloseCode.ROOM_FULL
    assert group.peer_count == MAX
    group.join("c5-again", joining(5), 0.0)  # the same cid: a replacement, not a newcomer
    assert group.state is GroupState.FULL and group.peer_count == MAX
    group.disconnect("c1", clean=True)
    assert group.state is GroupState.OPEN
    group.join("c33", joining(33), 0.0)
    assert group.state is GroupState.FULL


def test_leaving_is_announced_and_the_last_one_empties_the_group(group: NearbyGroup) -> None:
    a = welcome(group.join("c1", joining(1), 0.0), "c1").you
    group.join("c2", joining(2), 0.0)
    assert deliveries(group.disconnect("c1", clean=False)) == [("c2", NearLeft(id=a))]
    assert group.disconnect("c1", clean=False) == []  # twice: nothing
    assert group.disconnect("c2", clean=True) == []
    assert group.is_empty and group.state is GroupState.EMPTY
    with pytest.raises(SignalingError):
        group.relay("c2", NearRelay(to=a, data="x"))  # gone: not a member any more


def test_peer_ids_are_random_per_connection_and_never_the_cid() -> None:
    group = NearbyGroup(GROUP, NearbySettings(max_peers=MAX))
    ids = [welcome(group.join(f"c{n}", joining(1), 0.0), f"c{n}").you for n in range(5)]
    assert len(set(ids)) == 5 and all(re.fullmatch(r"[A-Za-z0-9_-]{16}", i) for i in ids)
    assert cid(1) not in ids
    assert len({random_peer_id() for _ in range(100)}) == 100


def test_a_peer_id_collision_is_drawn_again() -> None:
    ids = iter(["same000000000000", "same000000000000", "other00000000000"])
    group = NearbyGroup(GROUP, NearbySettings(max_peers=MAX), new_peer_id=lambda: next(ids))
    group.join("c1", joining(1), 0.0)
    assert welcome(group.join("c2", joining(2), 0.0), "c2").you == "other00000000000"


def test_the_group_moves_only_as_its_table_says() -> None:
    group = NearbyGroup(GROUP, NearbySettings(max_peers=2))
    seen = [group.state]
    group.join("c1", joining(1), 0.0)
    seen.append(group.state)
    group.join("c2", joining(2), 0.0)
    seen.append(group.state)
    group.join("c3", joining(2), 0.0)  # replacement while full
    seen.append(group.state)
    group.disconnect("c1", clean=True)
    seen.append(group.state)
    group.disconnect("c3", clean=True)
    seen.append(group.state)
    for before, after in itertools.pairwise(seen):
        assert after in GROUP_TRANSITIONS[before], (before, after)
    assert seen[-1] is GroupState.EMPTY and set(seen) == set(GroupState)
