"""Start a p2pshare command, fetch a few things from it and ask its STUN server; print JSON.

    python zipapp_check.py HTTP_PORT STUN_PORT ASSET_PATH -- ./p2pshare serve ...

Standard library only, so it runs under the same bare interpreter as the
one-file build, and inside a network namespace with nothing but loopback
(tests/deploy/test_zipapp.py), which shows the file needs no network.
"""

from __future__ import annotations

import base64
import json
import secrets
import signal
import socket
import struct
import subprocess
import sys
import time
import urllib.error
import urllib.request

MAGIC_COOKIE = 0x2112A442
BINDING_REQUEST = 0x0001
BINDING_SUCCESS = 0x0101
XOR_MAPPED_ADDRESS = 0x0020


def get(url: str) -> tuple[int, str, bytes]:
    request = urllib.request.Request(url, headers={"Accept-Encoding": "identity"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.headers.get("content-type", ""), response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("content-type", ""), error.read()


def stun_binding(port: int) -> dict[str, object]:
    """One RFC 8489 binding request, built by hand; the XOR-MAPPED-ADDRESS of the answer."""
    transaction = secrets.token_bytes(12)
    request = struct.pack("!HHI", BINDING_REQUEST, 0, MAGIC_COOKIE) + transaction
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(1.0)
        for _ in range(5):
            sock.sendto(request, ("127.0.0.1", port))
            try:
                answer = sock.recv(2048)
                break
            except TimeoutError:
                continue
        else:
            return {"error": "no STUN answer"}
        own_port = sock.getsockname()[1]
    kind, length, cookie = struct.unpack("!HHI", answer[:8])
    result: dict[str, object] = {
        "type": kind,
        "cookie_ok": cookie == MAGIC_COOKIE,
        "transaction_ok": answer[8:20] == transaction,
        "length_ok": length == len(answer) - 20,
        "own": ["127.0.0.1", own_port],
    }
    offset = 20
    while offset + 4 <= len(answer):
        attribute, size = struct.unpack("!HH", answer[offset : offset + 4])
        value = answer[offset + 4 : offset + 4 + size]
        if attribute == XOR_MAPPED_ADDRESS and value[1] == 0x01:
            xport = struct.unpack("!H", value[2:4])[0] ^ (MAGIC_COOKIE >> 16)
            xaddress = struct.unpack("!I", value[4:8])[0] ^ MAGIC_COOKIE
            result["mapped"] = [socket.inet_ntoa(struct.pack("!I", xaddress)), xport]
        offset += 4 + size + (-size % 4)
    return result


def main() -> int:
    http_port, stun_port, asset = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    command = sys.argv[sys.argv.index("--") + 1 :]
    base = f"http://127.0.0.1:{http_port}"
    report: dict[str, object] = {"python": sys.version.split()[0]}
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60  # the first start unpacks the archive
        while True:
            if server.poll() is not None:
                report["early_exit"] = server.returncode
                break
            if time.monotonic() > deadline:
                report["error"] = "no answer on /healthz"
                break
            try:
                if get(base + "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        if "early_exit" not in report and "error" not in report:
            paths = (("index", "/"), ("asset", asset), ("config", "/config.json"))
            for name, path in (*paths, ("worker", "/sw.js")):
                status, content_type, body = get(base + path)
                report[name] = {
                    "status": status,
                    "content_type": content_type,
                    "body_b64": base64.b64encode(body).decode(),
                }
            report["stun"] = stun_binding(stun_port)
            report["interfaces"] = sorted(name for _, name in socket.if_nameindex())
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
        try:
            output, _ = server.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            output, _ = server.communicate()
        report["exit_code"] = server.returncode
        report["output"] = output.decode(errors="replace")[-4000:]
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
