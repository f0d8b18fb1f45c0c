"""The command-line peer (`p2pshare send`, `p2pshare receive`): the I/O shell around the
sans-IO protocol in p2pshare/peer, on aiortc and the `websockets` client (asyncio).

Needs the `peer` extra (`pip install 'p2pshare[peer]'`); the server never imports it.
"""
