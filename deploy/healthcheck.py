"""Container health check: exit 0 if this host's p2pshare answers 200 on /healthz.

Tries plain HTTP, then HTTPS (with --self-signed or --certfile) without checking
the certificate: it only asks the local process whether it takes new rooms
(503 while draining).
"""

import os
import ssl
import sys
import urllib.request

PORT = os.environ.get("P2PSHARE_PORT", "8080")


def healthy(scheme: str) -> bool:
    context = ssl._create_unverified_context()
    try:
        with urllib.request.urlopen(
            f"{scheme}://127.0.0.1:{PORT}/healthz", timeout=2, context=context
        ) as response:
            return bool(response.status == 200)
    except Exception:
        return False


sys.exit(0 if healthy("http") or healthy("https") else 1)
