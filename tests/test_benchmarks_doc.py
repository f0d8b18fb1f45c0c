"""docs/benchmarks.md stays true: every commit it names exists, every results heading names
one, and no hot path has changed since the commit its figures were measured on (the rule in
DEVELOPERS.md: a change to a hot path re-runs its benchmark and replaces the figures)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOC = (REPO / "docs" / "benchmarks.md").read_text()
COMMIT = re.compile(r"\b[0-9a-f]{7,40}\b")
HOT_PATHS = {
    "STUN": ["p2pshare/stun", "p2pshare/ratelimit.py", "requirements/runtime.txt"],
    "Signaling": [
        "p2pshare/signaling",
        "p2pshare/http",
        "p2pshare/server.py",
        "p2pshare/ratelimit.py",
        "requirements/runtime.txt",
    ],
    "Transfer": ["web/js", "web/index.html"],
    "WAN (emulated links)": ["web/js", "web/index.html"],
}
"""What each section's figures depend on (its benchmark script aside)."""


def git(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=False)


needs_git = pytest.mark.skipif(
    shutil.which("git") is None or git("rev-parse", "HEAD").returncode != 0,
    reason="not a git checkout",
)


def sections() -> dict[str, str]:
    """`## Title` -> its text."""
    parts = re.split(r"^## (.+)$", DOC, flags=re.MULTILINE)
    return {title.strip(): body for title, body in zip(parts[1::2], parts[2::2], strict=True)}


def results_commit(title: str) -> str:
    """The commit in the section's `### Results: commit X` heading."""
    match = re.search(r"^### Results: commit ([0-9a-f]{7,40})\b", sections()[title], re.MULTILINE)
    assert match, f"section {title!r} has no '### Results: commit <hash>' heading"
    return match.group(1)


def current_commit() -> str:
    (title,) = [t for t in sections() if t.startswith("Current figures")]
    match = COMMIT.search(title)
    assert match, "the 'Current figures' heading names no commit"
    return match.group(0)


@needs_git
def test_every_commit_the_doc_names_exists() -> None:
    for commit in sorted(set(COMMIT.findall(DOC))):
        assert git("cat-file", "-e", f"{commit}^{{commit}}").returncode == 0, commit


@needs_git
@pytest.mark.parametrize("title", sorted(HOT_PATHS))
def test_no_hot_path_changed_since_its_figures_were_measured(title: str) -> None:
    for commit in (results_commit(title), current_commit()):
        assert git("merge-base", "--is-ancestor", commit, "HEAD").returncode == 0, commit
        changed = git("diff", "--name-only", commit, "HEAD", "--", *HOT_PATHS[title]).stdout
        assert not changed.strip(), (
            f"docs/benchmarks.md's {title} figures come from {commit}, but since then "
            f"{changed.split()} changed: re-run scripts/bench/all.py and replace them"
        )
