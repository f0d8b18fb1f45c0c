"""`p2pshare send` and `p2pshare receive`: their flags, and running them.

The peer's packages (aiortc, websockets) are the `peer` extra: the server does not need them,
and av alone (aiortc's media library, which a file transfer never uses) is a 36 MB wheel. So
they are imported only here, when one of these commands runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
from pathlib import Path
from typing import Any

__all__ = ["add_commands", "run"]

PEER_EXTRA_HINT = "bash scripts/install.sh --peer, or pip install 'p2pshare[peer]'"


def add_commands(commands: Any) -> None:
    send = commands.add_parser(
        "send",
        help="share files and folders from this terminal",
        description="Share files and folders: prints a link (and a QR code) to open in a "
        "browser or give to `p2pshare receive`, and serves every receiver until all are done "
        "or Ctrl+C. Files go straight to the receivers; the server only relays signaling.",
    )
    send.add_argument("paths", nargs="*", metavar="PATH", type=Path, help="a file or folder")
    send.add_argument(
        "--text",
        action="append",
        default=[],
        metavar="TEXT",
        help="also share this text (shown in the browser, up to 1 MiB; repeatable)",
    )
    send.add_argument(
        "--server",
        default="http://127.0.0.1:8080",
        metavar="URL",
        help="the p2pshare server to use (default: %(default)s)",
    )
    send.add_argument("--no-qr", action="store_true", help="do not print the QR code")
    send.add_argument(
        "--exit-when-done",
        action="store_true",
        help="stop once every receiver so far has everything (default: keep sharing)",
    )
    _common(send)

    receive = commands.add_parser(
        "receive",
        help="receive a share into a folder",
        description="Join a share by its link, show its files, and (after you confirm, or "
        "with --yes) write them into the folder, each block and each file verified with "
        "SHA-256. Run the same command again to resume an interrupted transfer.",
    )
    receive.add_argument("link", help="the share link: http(s)://host/r/<room>#<key>")
    receive.add_argument(
        "--output", "-o", default=Path("."), type=Path, metavar="DIR", help="where files go"
    )
    receive.add_argument("--yes", "-y", action="store_true", help="do not ask before receiving")
    _common(receive)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--json", action="store_true", help="progress as JSON lines on stdout, for scripts"
    )
    parser.add_argument(
        "--insecure",
        action="store_true",
        help="accept the server's certificate unchecked (a --self-signed server)",
    )
    parser.add_argument("--verbose", "-v", action="store_true", help="log what happens")


def run(args: argparse.Namespace) -> int:
    """Run `send` or `receive`; returns the exit status (p2pshare/client/exits.py)."""
    try:
        import aiortc  # noqa: F401
        import websockets  # noqa: F401
    except ImportError:
        print(
            f"p2pshare: `{args.command}` needs the peer packages: {PEER_EXTRA_HINT}",
            file=sys.stderr,
        )
        return 2
    from p2pshare.client.exits import Exit, Outcome

    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not args.verbose:
        logging.getLogger("aioice").setLevel(logging.ERROR)
    try:
        outcome = asyncio.run(_main(args))
    except KeyboardInterrupt:
        outcome = Outcome(Exit.INTERRUPTED, _interrupted(args))
    except Outcome as early:
        outcome = early
    if args.json:
        print(json.dumps({"event": "end", "code": int(outcome.code), "message": outcome.message}))
    else:
        print(outcome.message, file=sys.stderr if outcome.code else sys.stdout)
    return int(outcome.code)


def _interrupted(args: argparse.Namespace) -> str:
    if args.command == "receive":
        return "interrupted: run the same command again to resume"
    return "interrupted: sharing stopped"


async def _main(args: argparse.Namespace) -> Any:
    from p2pshare.client.exits import Exit, Outcome

    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, task.cancel)  # SIGTERM ends it like Ctrl+C
    try:
        if args.command == "receive":
            from p2pshare.client.receive import ReceiveOptions, receive

            return await receive(
                ReceiveOptions(
                    link=args.link,
                    output=args.output,
                    yes=args.yes,
                    json_lines=args.json,
                    insecure=args.insecure,
                )
            )
        from p2pshare.client.send import SendOptions, send

        if not args.paths and not args.text:
            return Outcome(Exit.USAGE, "nothing to share: give a file, a folder or --text")
        return await send(
            SendOptions(
                paths=tuple(args.paths),
                texts=tuple(args.text),
                server=args.server,
                json_lines=args.json,
                insecure=args.insecure,
                qr=not args.no_qr,
                exit_when_done=args.exit_when_done,
            )
        )
    except asyncio.CancelledError:
        return Outcome(Exit.INTERRUPTED, _interrupted(args))
    finally:
        loop.remove_signal_handler(signal.SIGTERM)
