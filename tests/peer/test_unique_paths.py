"""portable_unique_paths always ends, and what it gives, together with what was offered
before, is an offer every receiver accepts (a folder named like an offered file was once an
endless loop, in web/js/transfer/paths.js too; both now number the folder)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from p2pshare.peer.errors import PathError
from p2pshare.peer.paths import check_offer_paths, portable_unique_paths

PARTS = st.sampled_from(["a", "A", "b", "a (2)", "dir", "DIR", "x.txt", "X.TXT"])
PATHS = st.lists(PARTS, min_size=1, max_size=3).map("/".join)


@settings(max_examples=400, deadline=None)
@given(st.lists(PATHS, max_size=6), st.lists(PATHS, max_size=6))
def test_unique_paths_end_and_make_an_acceptable_offer(taken: list[str], chosen: list[str]) -> None:
    try:
        check_offer_paths(taken)
    except PathError:
        return  # only an acceptable offer can have been made before
    out = portable_unique_paths(chosen, taken)
    assert len(out) == len(chosen)
    check_offer_paths([*taken, *out])


def test_a_folder_named_like_an_offered_file_is_numbered_for_all_its_files() -> None:
    assert portable_unique_paths(["dir/x", "dir/y"], ["dir"]) == ["dir (2)/x", "dir (2)/y"]
