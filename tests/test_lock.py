"""The lock (requirements/, written by scripts/lock.py): it satisfies pyproject.toml's ranges,
its subsets pin what the whole pins, every pin carries hashes, every install path uses it,
and the environment running these tests is the lock (or the lock test.sh --latest made)."""

from __future__ import annotations

import importlib.metadata
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]
LOCK_DIR = REPO / "requirements"
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())


@dataclass(frozen=True)
class Pin:
    version: str
    marker: str | None
    hashes: frozenset[str]


def read_lock(path: Path) -> dict[str, Pin]:
    """name -> Pin, from a `uv pip compile --generate-hashes` file."""
    pins: dict[str, Pin] = {}
    logical: list[str] = []
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        logical.append(line.removesuffix("\\").strip())
        if line.endswith("\\"):
            continue
        head, *options = " ".join(logical).split(" --hash=")
        logical = []
        requirement = Requirement(head)
        (specifier,) = requirement.specifier
        assert specifier.operator == "==", f"{path.name}: {head} is not an exact pin"
        name = canonicalize_name(requirement.name)
        assert name not in pins, f"{path.name}: {name} pinned twice"
        marker = str(requirement.marker) if requirement.marker else None
        pins[name] = Pin(specifier.version, marker, frozenset(h.strip() for h in options))
    return pins


LOCKS = {name: read_lock(LOCK_DIR / f"{name}.txt") for name in ("all", "runtime", "build", "peer")}


def declared(group: str) -> list[Requirement]:
    if group == "runtime":
        return [Requirement(r) for r in PYPROJECT["project"]["dependencies"]]
    if group == "build":
        return [Requirement(r) for r in PYPROJECT["build-system"]["requires"]]
    if group == "peer":
        return declared("runtime") + [
            Requirement(r) for r in PYPROJECT["project"]["optional-dependencies"]["peer"]
        ]
    extras = PYPROJECT["project"]["optional-dependencies"]
    return [Requirement(r) for values in extras.values() for r in values]


@pytest.mark.parametrize("group", ["runtime", "build", "extras"])
def test_the_whole_lock_satisfies_every_declared_range(group: str) -> None:
    for requirement in declared(group):
        pin = LOCKS["all"].get(canonicalize_name(requirement.name))
        assert pin is not None, (
            f"{requirement} is not in requirements/all.txt: python scripts/lock.py"
        )
        assert requirement.specifier.contains(pin.version, prereleases=True), (
            f"{requirement} but the lock pins {pin.version}: python scripts/lock.py"
        )


@pytest.mark.parametrize("subset", ["runtime", "build", "peer"])
def test_subsets_hold_what_they_serve_and_pin_it_as_the_whole_does(subset: str) -> None:
    pins = LOCKS[subset]
    for requirement in declared(subset):
        assert canonicalize_name(requirement.name) in pins, f"{requirement} missing in {subset}.txt"
    for name, pin in pins.items():
        whole = LOCKS["all"].get(name)
        # The same version and files; the environment marker may differ (a subset can need a
        # package on fewer platforms than the whole: cffi, for cryptography, only off PyPy).
        assert whole is not None and (whole.version, whole.hashes) == (pin.version, pin.hashes), (
            f"{subset}.txt and all.txt differ on {name}"
        )


def test_the_runtime_lock_holds_no_test_or_build_tools() -> None:
    tools = {"pytest", "playwright", "mypy", "ruff", "hypothesis", "shiv", "hatchling", "uv"}
    assert not tools & LOCKS["runtime"].keys()


@pytest.mark.parametrize("lock", sorted(LOCKS))
def test_every_pin_carries_sha256_hashes(lock: str) -> None:
    for name, pin in LOCKS[lock].items():
        assert pin.hashes, f"{lock}.txt: {name} has no hash"
        assert all(h.startswith("sha256:") and len(h) == 7 + 64 for h in pin.hashes), name


@pytest.mark.parametrize(
    ("path", "needle"),
    [
        ("scripts/install.sh", '--require-hashes -r "$lock/all.txt"'),
        ("scripts/install.sh", '--require-hashes -r "$lock/runtime.txt" -r "$lock/build.txt"'),
        ("scripts/install.sh", '--require-hashes -r "$lock/peer.txt" -r "$lock/build.txt"'),
        ("scripts/test.sh", "bash scripts/install.sh --dev"),
        ("scripts/build_zipapp.py", '"--require-hashes", "-r", str(RUNTIME_LOCK)'),
        ("deploy/Dockerfile", "--require-hashes -r requirements/build.txt"),
        ("deploy/Dockerfile", "--require-hashes -r /tmp/runtime.txt"),
        ("README.md", "bash scripts/install.sh && p2pshare serve"),
    ],
)
def test_every_install_path_goes_through_the_lock(path: str, needle: str) -> None:
    assert needle in (REPO / path).read_text()


def test_this_environment_is_the_lock() -> None:
    """CI runs on what the lock says, not on what a machine happened to have."""
    lock_dir = Path(os.environ.get("P2PSHARE_LOCK_DIR", LOCK_DIR))
    wrong = []
    for name, pin in read_lock(lock_dir / "all.txt").items():
        if pin.marker is not None and not Marker(pin.marker).evaluate():
            continue
        try:
            installed = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            installed = "missing"
        if installed != pin.version:
            wrong.append(f"{name} {installed} (lock: {pin.version})")
    assert not wrong, f"not the lock in {lock_dir}: {wrong}; bash scripts/install.sh --dev"
