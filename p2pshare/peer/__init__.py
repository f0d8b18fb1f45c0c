"""The client side of p2pshare's protocol, sans-IO: what a command-line peer needs to speak to
browsers exactly as web/js does (docs/protocol.md, sections 2 and 3).

No sockets, no aiortc, no awaits: events in, answers and steps out, like
p2pshare/signaling/room.py and web/js/transfer/. Modules:

- link: share links; keys: HKDF derivations, access key and join proof (admission.py's);
- seal, signing, sealed_bodies, sealed_channel: the sealed, signed signaling payloads;
- wire, paths, file_digest: the data-channel frames, blocks and their chain, the offered
  paths; the sender's block hashes, whole-file SHA-256 and the chain a claim is checked on;
- guards, send_state, send_session: the sender's side, per receiver;
- receive_file, receive_phase: the receiver's side;
- repair: when and how to repair a peer connection, one policy for both roles;
- nearby: pairing two nearby devices with no link (keys agreed through the server, a code).

Shared conformance vectors (tests/vectors/) are checked by tests/peer and web/test alike.
"""
