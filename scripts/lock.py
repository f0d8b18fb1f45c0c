"""The lock: exact versions, with hashes, of everything p2pshare installs.

    python scripts/lock.py                # refresh requirements/ after editing pyproject.toml
    python scripts/lock.py --upgrade      # move every pin to the newest release
    python scripts/lock.py --latest DIR   # the newest of everything, in DIR (test.sh --latest)

One resolution (`uv pip compile --universal --generate-hashes`, Python >= 3.11, any platform)
of the runtime dependencies, every extra, the build backend and uv itself gives
`requirements/all.txt`; two subsets are resolved against it, so they pin the same versions:

- `requirements/runtime.txt`: what the server imports (the one-file build, Docker's image);
- `requirements/peer.txt`: that and the command-line peer's packages (`p2pshare send` and
  `receive`: aiortc, websockets), for `install.sh --peer`;
- `requirements/build.txt`: the build backend, to install p2pshare itself with
  `--no-build-isolation` (otherwise pip would fetch an unpinned hatchling).

Install with pip in hash-checking mode, then p2pshare with no dependencies:

    pip install --require-hashes -r requirements/runtime.txt -r requirements/build.txt
    pip install --no-deps --no-build-isolation .

`pyproject.toml` keeps compatible ranges for people who install p2pshare as a library;
tests/test_lock.py checks offline that the lock satisfies them. Needs uv (it is in the lock).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LOCK_DIR = REPO / "requirements"
PYTHON_VERSION = "3.11"  # the oldest supported (requires-python); --universal covers the rest
TOOLS = ("uv>=0.13",)  # refreshes this lock; not a dependency of the package


# hatchling asks for `editables` (get_requires_for_build_editable) for `pip install -e .`
EDITABLE_BUILD_REQUIRES = ("editables>=0.5",)


def build_requires() -> list[str]:
    """The build backend and what it asks for, also for editable installs."""
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    return [*pyproject["build-system"]["requires"], *EDITABLE_BUILD_REQUIRES]


def compile_lock(
    output: Path, inputs: list[str], *, extra_args: list[str], constraint: Path | None
) -> None:
    uv = shutil.which("uv")
    if uv is None:
        sys.exit("uv is missing: pip install --require-hashes -r requirements/all.txt")
    command = [
        uv,
        "pip",
        "compile",
        "--quiet",
        "--universal",
        "--python-version",
        PYTHON_VERSION,
        "--generate-hashes",
        "--custom-compile-command",
        "python scripts/lock.py",
        "--output-file",
        str(output),
        *inputs,
        *extra_args,
    ]
    if constraint is not None:
        command += ["--constraint", str(constraint)]
    subprocess.run(command, check=True, cwd=REPO)


def write_locks(out_dir: Path, *, extra_args: list[str]) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="p2pshare-lock-") as tmp:
        build_in = Path(tmp) / "build.in"
        build_in.write_text("\n".join(build_requires()) + "\n")
        tools_in = Path(tmp) / "tools.in"
        tools_in.write_text("\n".join(TOOLS) + "\n")
        everything = out_dir / "all.txt"
        compile_lock(
            everything,
            ["pyproject.toml", "--all-extras", str(build_in), str(tools_in)],
            extra_args=extra_args,
            constraint=None,
        )
        compile_lock(
            out_dir / "runtime.txt", ["pyproject.toml"], extra_args=[], constraint=everything
        )
        compile_lock(out_dir / "build.txt", [str(build_in)], extra_args=[], constraint=everything)
        compile_lock(
            out_dir / "peer.txt",
            ["pyproject.toml", "--extra", "peer"],
            extra_args=[],
            constraint=everything,
        )


def pins(lock: Path) -> dict[str, str]:
    """name -> version of a lock file."""
    found: dict[str, str] = {}
    for line in lock.read_text().splitlines():
        if line and not line[0].isspace() and not line.startswith("#") and "==" in line:
            name, _, rest = line.partition("==")
            found[name.strip().lower()] = rest.split(";")[0].split()[0]
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--upgrade", action="store_true", help="move every pin to the newest release"
    )
    group.add_argument(
        "--latest",
        type=Path,
        metavar="DIR",
        help="write a fresh newest-of-everything resolution to DIR and list how it differs",
    )
    args = parser.parse_args(argv)
    if args.latest is not None:
        write_locks(args.latest, extra_args=["--upgrade"])
        locked, latest = pins(LOCK_DIR / "all.txt"), pins(args.latest / "all.txt")
        names = latest.keys() | locked.keys()
        changed = sorted(name for name in names if latest.get(name) != locked.get(name))
        print(f"newest releases differ from the lock in {len(changed)} packages:")
        for name in changed:
            print(f"  {name}: {locked.get(name, '-')} -> {latest.get(name, '-')}")
        return 0
    write_locks(LOCK_DIR, extra_args=["--upgrade"] if args.upgrade else [])
    print(f"wrote {', '.join(sorted(p.name for p in LOCK_DIR.glob('*.txt')))} in {LOCK_DIR}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
