"""What the sender knows of one shared file's contents (web/js/file-digest.js, without the
reads): its block hashes, computed once for every receiver; the whole-file SHA-256, fed in
block order by whichever send loop reads a block first; and the block chain a resuming
receiver's claim is checked against. The shell reads the bytes and hands them in.
"""

from __future__ import annotations

import hashlib

from p2pshare.peer.wire import (
    BLOCK_SIZE,
    CHAIN_START,
    EMPTY_SHA256,
    block_count,
    block_length,
    chain_next,
)

__all__ = ["FileDigest"]


class FileDigest:
    def __init__(self, size_bytes: int) -> None:
        self.size_bytes = size_bytes
        self.block_hashes: dict[int, bytes] = {}
        self.hashed_up_to_bytes = 0  # the whole-file hash has been fed this far
        self._hasher = hashlib.sha256()
        self.sha256: str | None = EMPTY_SHA256 if size_bytes == 0 else None

    def add_block(self, index: int, data: bytes) -> bytes:
        """Block `index` was read: its SHA-256 (cached), and the whole-file hash fed if it is
        the next block in order. Raises ValueError if `data` is not that block's length (the
        file changed on disk while being sent)."""
        if len(data) != block_length(self.size_bytes, index) or index >= block_count(
            self.size_bytes
        ):
            raise ValueError(f"block {index} is {len(data)} bytes: the file changed on disk")
        block_hash = self.block_hashes.get(index)
        if block_hash is None:
            block_hash = hashlib.sha256(data).digest()
            self.block_hashes[index] = block_hash
        if self.sha256 is None and index * BLOCK_SIZE == self.hashed_up_to_bytes:
            self._hasher.update(data)
            self.hashed_up_to_bytes += len(data)
            if self.hashed_up_to_bytes == self.size_bytes:
                self.sha256 = self._hasher.hexdigest()
        return block_hash

    @property
    def next_block_to_hash(self) -> int | None:
        """The block to read next for the whole-file hash (None: it is known): what the `eof`
        waits for when no send loop has fed every block (a resume that skipped some)."""
        return None if self.sha256 is not None else self.hashed_up_to_bytes // BLOCK_SIZE

    def blocks_unhashed_before(self, count: int) -> list[int]:
        """The blocks among the first `count` whose hash is not known yet: read them, then
        `chain_at(count)`."""
        return [i for i in range(count) if i not in self.block_hashes]

    def chain_at(self, count: int) -> str:
        """The block chain after the first `count` blocks (hex; see wire.chain_next).
        Raises KeyError naming a block whose hash is not known yet."""
        chain = CHAIN_START
        for index in range(count):
            chain = chain_next(chain, self.block_hashes[index])
        return chain.hex()

    def claim_holds(self, from_block: int, chain: str | None) -> bool:
        """Whether a want's claim (`from_block` blocks held, with this chain) is the file's: the
        sender starts there if so, at 0 if not (`SendSession.started`). Needs the hashes of
        the first `from_block` blocks (`blocks_unhashed_before`)."""
        if from_block == 0:
            return True
        return (
            chain is not None
            and from_block <= block_count(self.size_bytes)
            and (self.chain_at(from_block) == chain)
        )
