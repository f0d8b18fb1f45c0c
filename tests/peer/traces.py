"""The state-machine traces of tests/vectors/traces.json: scripts of calls on the sender's
SendSession, the receiver's ReceiveFile and either side's RepairPolicy, recorded on the
Python engines (p2pshare/peer) and replayed by web/test/vectors.test.mjs on the browser's
(web/js/transfer). Made by
`python -m tests.peer.vectors` with the other vectors.

Why this module is over 300 lines: one driver per engine (every call it can replay) and the
scripts themselves; apart, neither half says what a trace is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from p2pshare.peer import wire
from p2pshare.peer.errors import IllegalTransition, SenderViolation
from p2pshare.peer.receive_file import ReceiveFile
from p2pshare.peer.repair import RepairPolicy, RepairRole
from p2pshare.peer.send_session import BlockStep, EofStep, SendSession, StartStep
from p2pshare.peer.send_state import SendReason, SendState

MIB = wire.BLOCK_SIZE
H = "ab" * 32  # a block hash or a chain claim, as the traces need one

# --- state-machine traces -----------------------------------------------------------------
# A trace is {name, sizesBytes, steps: [{call, args, out, after}]}: `call` is the JS method's
# name (its Python twin is the snake_case one), `out` what it returned (or {"error": class,
# "message"}), `after` the engine's observable state.


def _send_snapshot(s: SendSession) -> dict[str, Any]:
    return {
        "state": str(s.state),
        "reason": str(s.reason),
        "detail": s.detail,
        "generation": s.generation,
        "queued": len(s.queue),
        "inflightBlocks": s.inflight_blocks,
        "wantedBytes": s.wanted_bytes,
        "doneBytes": s.done_bytes,
        "sentBytes": s.sent_bytes,
        "resumedBytes": s.resumed_bytes,
        "failures": len(s.failures),
    }


def _step_json(step: object) -> Any:
    if isinstance(step, StartStep):
        return {"op": "start", "f": step.f, "fromBlock": step.from_block, "chain": step.chain}
    if isinstance(step, BlockStep):
        return {"op": "block", "f": step.f, "index": step.index}
    if isinstance(step, EofStep):
        return {"op": "eof", "f": step.f}
    return None


def _wants(entries: list[dict[str, Any]]) -> list[wire.WantEntry]:
    return [wire.WantEntry(e["f"], e["from"], e["chain"]) for e in entries]


def send_call(s: SendSession, sizes: list[int], call: str, args: dict[str, Any]) -> Any:
    """One call of a send trace on the Python engine; returns its `out`."""
    now = args.get("nowMs", 0)
    match call:
        case "channelOpened":
            return s.channel_opened()
        case "channelClosed":
            return s.channel_closed()
        case "left":
            return s.left(args["channelOpen"])
        case "rejoined":
            return s.rejoined(args["channelOpen"])
        case "want" | "due":
            r = s.want(_wants(args["files"]), sizes, now) if call == "want" else s.due(sizes, now)
            return {"plan": r.plan, "retryInMs": r.retry_in_ms}
        case "next":
            return _step_json(s.next(sizes))
        case "started":
            return s.started(args["chainMatched"], sizes)
        case "blockSent":
            return s.block_sent(args["lengthBytes"])
        case "eofSent":
            return s.eof_sent()
        case "ack":
            return s.ack(args["f"], args["i"], sizes, now)
        case "windowOpen":
            return s.window_open(args["bufferedAmountBytes"])
        case "receiverFailed":
            return s.receiver_failed(args["f"], args["reason"], args["path"])
        case "receiverDone":
            return s.receiver_done()
        case "checkVanished":
            return s.check_vanished(now)
        case "admitSealed":
            return s.admit_sealed(args["helloFromNewPage"])
        case "wrongKey":
            return s.wrong_key()
        case "waitForFiles":
            return s.wait_for_files()
        case "sendFailed":
            return s.send_failed(args["message"])
        case "lostWhileAway":
            return s.lost_while_away()
        case "unverified":
            return s.unverified()
        case "end":
            return s.end(SendState(args["state"]), SendReason(args["reason"]))
        case "cancelledByReceiver":  # the shell sets the flag on the receiver's cancel or bye
            s.cancelled_by_receiver = True
            return None
    raise ValueError(f"unknown send call {call}")


def _repair_snapshot(p: RepairPolicy) -> dict[str, Any]:
    return {"restarts": p.restarts}


def repair_call(p: RepairPolicy, call: str, args: dict[str, Any]) -> Any:
    """One call of a repair trace; `out` is the JS engine's return value, in its shape."""
    now = args.get("nowMs", 0)
    match call:
        case "opened":
            return p.opened()
        case "negotiated":
            return p.negotiated(now)
        case "failed":
            return {"repair": p.failed(dead=args["dead"], present=args["present"], now_ms=now)}
        case "channelLost":
            return {"checkAfterMs": p.channel_lost()}
        case "stillLost":
            repair = p.still_lost(
                channel_open=args["channelOpen"], present=args["present"], now_ms=now
            )
            return {"repair": repair}
        case "asked":
            return {"repair": p.asked(fresh=args["fresh"], dead=args["dead"], now_ms=now)}
        case "hello":
            return {"repair": p.hello(live=args["live"], reloaded=args["reloaded"], now_ms=now)}
    raise ValueError(f"unknown repair call {call}")


def _repair_trace(role: RepairRole, script: Callable[[_Recorder], None]) -> dict[str, Any]:
    p = RepairPolicy(role)
    rec = _Recorder(lambda call, args: repair_call(p, call, args), lambda: _repair_snapshot(p))
    script(rec)
    return {"name": f"the {role}'s repairs", "role": role, "steps": rec.steps}


def _offerer_repairs(rec: _Recorder) -> None:
    rec("negotiated", nowMs=0)
    rec("hello", live=False, reloaded=False, nowMs=1000)  # a negotiation is under way
    for n in range(4):
        rec("failed", dead=False, present=True, nowMs=20_000 + n)  # ice, ice, fresh, ice
    rec("failed", dead=False, present=False, nowMs=21_000)
    rec("opened")
    rec("asked", fresh=False, dead=False, nowMs=22_000)
    rec("asked", fresh=True, dead=False, nowMs=22_001)
    rec("channelLost")
    rec("hello", live=True, reloaded=False, nowMs=23_000)
    rec("hello", live=True, reloaded=True, nowMs=23_001)
    rec("hello", live=False, reloaded=False, nowMs=50_000)


def _answerer_repairs(rec: _Recorder) -> None:
    rec("failed", dead=False, present=True, nowMs=0)
    rec("failed", dead=False, present=True, nowMs=2999)  # within the interval
    rec("failed", dead=True, present=True, nowMs=3000)
    rec("channelLost")
    rec("stillLost", channelOpen=True, present=True, nowMs=5000)
    rec("stillLost", channelOpen=False, present=False, nowMs=6500)
    rec("stillLost", channelOpen=False, present=True, nowMs=7000)
    rec("failed", dead=False, present=True, nowMs=10_000)
    rec("opened")
    rec("failed", dead=False, present=True, nowMs=13_000)


def _receive_snapshot(r: ReceiveFile) -> dict[str, Any]:
    return {
        "state": str(r.state),
        "verifiedBytes": r.verified_bytes,
        "nextBlock": r.next_block,
        "wantFromBlock": r.want_from_block,
        "expectedSha256": r.expected_sha256,
        "isOpen": r.is_open,
        "failure": r.failure,
    }


def receive_call(r: ReceiveFile, call: str, args: dict[str, Any]) -> Any:
    match call:
        case "start":
            return r.start(args["fromBlock"])
        case "opened":
            return r.opened(args["verifiedBytes"])
        case "blockHeader":
            return r.block_header(args["index"], args["lengthBytes"])
        case "bytes":
            return r.bytes_arrived(args["n"])
        case "blockVerified":
            return r.block_verified(args["verifiedBytes"])
        case "blockBad":
            return r.block_bad()
        case "eof":
            return r.eof(args["sha256"])
        case "finished":
            return r.finished(args["ok"])
        case "fail":
            return r.fail(args["reason"])
    raise ValueError(f"unknown receive call {call}")


class _Recorder:
    def __init__(self, run: Callable[[str, dict[str, Any]], Any], snap: Callable[[], Any]) -> None:
        self.run, self.snap, self.steps = run, snap, []  # type: ignore[var-annotated]

    def __call__(self, call: str, **args: Any) -> Any:
        try:
            out = self.run(call, args)
        except (SenderViolation, IllegalTransition) as error:
            out = {"error": type(error).__name__, "message": str(error)}
        self.steps.append({"call": call, "args": args, "out": out, "after": self.snap()})
        return out


def _send_trace(name: str, sizes: list[int], script: Callable[[_Recorder], None]) -> dict[str, Any]:
    s = SendSession(0)
    rec = _Recorder(lambda call, args: send_call(s, sizes, call, args), lambda: _send_snapshot(s))
    script(rec)
    return {"name": name, "sizesBytes": sizes, "steps": rec.steps}


def _drain(rec: _Recorder, sizes: list[int], now_ms: int = 0, stop_after_blocks: int = -1) -> None:
    """Run the plan as send-loop.js does, acking the oldest block whenever the window shuts."""
    in_flight: list[tuple[int, int]] = []
    sent = 0
    while (step := rec("next")) is not None:
        if step["op"] == "start":
            rec("started", chainMatched=step["chain"] != "0" * 64)
        elif step["op"] == "eof":
            rec("eofSent")
        else:
            if sent == stop_after_blocks:
                return
            while not rec("windowOpen", bufferedAmountBytes=0):
                f, i = in_flight.pop(0)
                rec("ack", f=f, i=i, nowMs=now_ms)
            rec("blockSent", lengthBytes=wire.block_length(sizes[step["f"]], step["index"]))
            in_flight.append((step["f"], step["index"]))
            sent += 1
    for f, i in in_flight:
        rec("ack", f=f, i=i, nowMs=now_ms)


def _short_send(rec: _Recorder) -> None:
    sizes = [2 * MIB + MIB // 2 + 3, 0, 5]
    rec("channelOpened")
    rec(
        "want",
        files=[
            {"f": 0, "from": 0, "chain": None},
            {"f": 1, "from": 0, "chain": None},
            {"f": 0, "from": 0, "chain": None},
            {"f": 2, "from": 0, "chain": None},
            {"f": 9, "from": 0, "chain": None},
        ],
        nowMs=10,
    )
    _drain(rec, sizes, 20)
    rec("ack", f=0, i=0, nowMs=30)  # replayed: counts for nothing
    rec("receiverDone")
    rec("want", files=[], nowMs=40)


def _resume_send(rec: _Recorder) -> None:
    sizes = [4 * MIB + 5, MIB]
    claim = "cd" * 32
    rec("channelOpened")
    rec(
        "want",
        files=[{"f": 0, "from": 1, "chain": claim}, {"f": 1, "from": 0, "chain": None}],
        nowMs=0,
    )
    _drain(rec, sizes, 5, stop_after_blocks=2)
    rec("channelClosed")
    rec("ack", f=0, i=1, nowMs=6)  # after the channel closed: ignored
    rec("channelOpened")
    rec(
        "want",
        files=[{"f": 0, "from": 3, "chain": claim}, {"f": 1, "from": 7, "chain": "0" * 64}],
        nowMs=7,
    )
    _drain(rec, sizes, 8)
    rec("receiverFailed", f=1, reason="hash-mismatch", path="b.bin")
    rec("receiverDone")
    rec("want", files=[{"f": 1, "from": 0, "chain": None}], nowMs=9)
    _drain(rec, sizes, 9)
    rec("left", channelOpen=True)
    rec("checkVanished", nowMs=9 + 3001)


def _gate_send(rec: _Recorder) -> None:
    rec("channelOpened")
    for n in range(10):
        rec("want", files=[{"f": 0, "from": n, "chain": H}], nowMs=100)
    rec("due", nowMs=300)
    rec("due", nowMs=350)
    rec("wrongKey")
    rec("want", files=[], nowMs=400)
    rec("admitSealed", helloFromNewPage=False)
    rec("channelOpened")
    rec("want", files=[], nowMs=1000)
    rec("left", channelOpen=False)
    rec("rejoined", channelOpen=False)


def _ends_send(rec: _Recorder) -> None:
    rec("channelOpened")
    rec("waitForFiles")  # the sender restarted: its files are to be added again
    rec("want", files=[{"f": 0, "from": 0, "chain": None}], nowMs=0)
    rec("next")
    rec("started", chainMatched=True)
    rec("blockSent", lengthBytes=MIB)
    rec("sendFailed", message="x.bin changed on disk while being sent")
    rec("want", files=[{"f": 0, "from": 0, "chain": None}], nowMs=1)
    rec("cancelledByReceiver")
    rec("end", state="cancelled", reason="they-cancelled")
    rec("want", files=[], nowMs=2)  # ignored: it ended
    rec("admitSealed", helloFromNewPage=True)  # it opens the link again
    rec("channelOpened")
    rec("lostWhileAway")
    rec("rejoined", channelOpen=True)
    rec("end", state="cancelled", reason="you-cancelled")
    rec("admitSealed", helloFromNewPage=True)  # the sender cancelled it: it stays
    rec("end", state="done", reason="")
    rec("unverified")
    rec("wrongKey")
    rec("rejoined", channelOpen=True)


def _acks_send(rec: _Recorder) -> None:
    sizes = [6 * MIB + 1, MIB]
    rec("channelOpened")
    rec(
        "want",
        files=[{"f": 0, "from": 0, "chain": None}, {"f": 1, "from": 0, "chain": None}],
        nowMs=0,
    )
    rec("next")
    rec("started", chainMatched=True)
    for _ in range(4):
        rec("next")
        rec("blockSent", lengthBytes=MIB)
    rec("windowOpen", bufferedAmountBytes=0)  # shut: blocks 0-3 in flight
    rec("ack", f=0, i=2, nowMs=1)  # in flight, out of order: counts
    rec("next")
    rec("blockSent", lengthBytes=MIB)  # block 4: shut again
    rec("ack", f=0, i=2, nowMs=2)  # a second ack of it: counts for nothing
    rec("ack", f=0, i=5, nowMs=3)  # not sent yet: nothing
    rec("ack", f=0, i=9, nowMs=4)  # beyond the file: nothing
    rec("ack", f=1, i=0, nowMs=5)  # a file with nothing in flight: nothing
    rec("windowOpen", bufferedAmountBytes=0)  # still shut
    for i in (0, 1, 3, 4):
        rec("ack", f=0, i=i, nowMs=6)
    _drain(rec, sizes, 7)


def _receive_trace(
    name: str, size: int, script: Callable[[_Recorder], None], verified: bool = False
) -> dict[str, Any]:
    r = ReceiveFile(size, verified=verified)
    rec = _Recorder(lambda call, args: receive_call(r, call, args), lambda: _receive_snapshot(r))
    script(rec)
    return {"name": name, "sizeBytes": size, "restoredVerified": verified, "steps": rec.steps}


def _blocks(rec: _Recorder, size: int, first: int, last: int, verify: bool = True) -> None:
    for i in range(first, last):
        length = wire.block_length(size, i)
        rec("blockHeader", index=i, lengthBytes=length)
        while length > 0:
            rec("bytes", n=min(wire.CHUNK_SIZE, length))
            length -= wire.CHUNK_SIZE
        if verify:
            rec("blockVerified", verifiedBytes=min(size, (i + 1) * MIB))


SHORT = 2 * MIB + MIB // 2 + 3


def _short_receive(rec: _Recorder) -> None:
    rec("start", fromBlock=0)
    rec("opened", verifiedBytes=0)
    _blocks(rec, SHORT, 0, 3)
    rec("eof", sha256=H)
    rec("finished", ok=True)
    rec("blockHeader", index=0, lengthBytes=MIB)  # after the end: the sender's violation


def _resume_receive(rec: _Recorder) -> None:
    size = 3 * MIB + 5
    rec("start", fromBlock=1)
    rec("opened", verifiedBytes=MIB)
    _blocks(rec, size, 1, 2)
    rec("blockHeader", index=2, lengthBytes=MIB)
    rec("bytes", n=MIB)
    rec("blockBad")
    rec("start", fromBlock=2)  # the resync after a damaged block
    rec("opened", verifiedBytes=2 * MIB)
    _blocks(rec, size, 2, 4, verify=False)
    rec("eof", sha256=H)
    rec("eof", sha256=H)
    rec("blockVerified", verifiedBytes=3 * MIB)
    rec("blockVerified", verifiedBytes=size)
    rec("finished", ok=False)


def _hostile_receive(rec: _Recorder) -> None:
    size = 2 * MIB
    rec("bytes", n=1)
    rec("start", fromBlock=3)
    rec("start", fromBlock=0)
    rec("opened", verifiedBytes=0)
    rec("bytes", n=1)
    rec("blockHeader", index=1, lengthBytes=MIB)
    rec("blockHeader", index=0, lengthBytes=MIB - 1)
    rec("blockHeader", index=0, lengthBytes=MIB)
    rec("blockHeader", index=1, lengthBytes=MIB)
    rec("bytes", n=MIB + 1)
    rec("eof", sha256=H)
    rec("fail", reason="the sender broke the protocol")
    rec("blockHeader", index=0, lengthBytes=MIB)
    del size


def traces_vectors() -> dict[str, Any]:
    return {
        "about": (
            "State-machine traces, replayed call by call by the Python engine"
            " (p2pshare/peer/send_session.py, receive_file.py) and the browser's"
            " (web/js/transfer/send-session.js, receive-file.js): what each call returns"
            " (or the error it throws) and the state after it. Clock in ms from 0."
        ),
        "send": [
            _send_trace("a short transfer", [SHORT, 0, 5], _short_send),
            _send_trace(
                "a resume: a claim held, a claim refused, a lost channel",
                [4 * MIB + 5, MIB],
                _resume_send,
            ),
            _send_trace(
                "a flood of wants, a wrong key, a receiver that leaves", [3 * MIB], _gate_send
            ),
            _send_trace("cancels, a sender restart, a send error", [2 * MIB], _ends_send),
            _send_trace(
                "acks that count: out of order, repeated, not sent, beyond the file",
                [6 * MIB + 1, MIB],
                _acks_send,
            ),
        ],
        "repair": [
            _repair_trace("offerer", _offerer_repairs),
            _repair_trace("answerer", _answerer_repairs),
        ],
        "receive": [
            _receive_trace("a short transfer", SHORT, _short_receive),
            _receive_trace(
                "a resume, a damaged block, eof before the last verification",
                3 * MIB + 5,
                _resume_receive,
            ),
            _receive_trace("a hostile sender", 2 * MIB, _hostile_receive),
            _receive_trace(
                "a file restored as verified",
                MIB,
                lambda rec: rec("start", fromBlock=0),
                verified=True,
            ),
        ],
    }
