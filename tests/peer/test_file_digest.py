"""p2pshare.peer.file_digest: the sender's block hashes, whole-file SHA-256 and chain, against
the shared block vectors (tests/vectors/blocks.json), fed the way send loops feed it."""

from __future__ import annotations

import json

import pytest

from p2pshare.peer.file_digest import FileDigest
from p2pshare.peer.wire import BLOCK_SIZE
from tests.peer.vectors import VECTORS, seeded_bytes

FILES = json.loads((VECTORS / "blocks.json").read_text())["files"]


@pytest.mark.parametrize("case", FILES, ids=[f["seed"] for f in FILES])
def test_a_resume_hashes_what_it_skipped_and_gets_the_vectors(case: dict[str, object]) -> None:
    size = int(str(case["size"]))
    data = seeded_bytes(str(case["seed"]), size)
    block = lambda i: data[i * BLOCK_SIZE : (i + 1) * BLOCK_SIZE]  # noqa: E731
    digest = FileDigest(size)
    count = len(case["blockHashes"])  # type: ignore[arg-type]
    # A receiver resuming at the last block: only that one is sent, out of order.
    if count:
        digest.add_block(count - 1, block(count - 1))
    for index in digest.blocks_unhashed_before(count):
        digest.add_block(index, block(index))
    assert [digest.block_hashes[i].hex() for i in range(count)] == case["blockHashes"]
    assert [digest.chain_at(k) for k in range(count + 1)] == case["chains"]
    while (index := digest.next_block_to_hash) is not None:
        digest.add_block(index, block(index))
    assert digest.sha256 == case["sha256"]
    assert digest.claim_holds(count, str(case["chains"][-1]))  # type: ignore[index]
    assert digest.claim_holds(0, None)
    assert not digest.claim_holds(count, "00" * 32) or count == 0


def test_a_block_of_the_wrong_length_means_the_file_changed() -> None:
    with pytest.raises(ValueError, match="changed"):
        FileDigest(BLOCK_SIZE + 1).add_block(1, b"xx")
