"""p2pshare: browser-to-browser file sharing with built-in signaling and STUN.

One process serves the web client over HTTP, relays signaling for rooms over
WebSocket, and answers STUN binding requests on UDP. File bytes never reach it.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
