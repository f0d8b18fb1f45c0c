"""Build p2pshare as one executable file (a shiv zipapp).

    python scripts/build_zipapp.py                  # -> dist/p2pshare
    ./dist/p2pshare serve                           # anywhere with Python 3.11+

The file holds the package, the web client and every dependency, and runs
with only the standard library of the interpreter that runs it: copied alone to
a machine with no network, `./p2pshare serve` works. On first start shiv
unpacks it once to ~/.shiv (or $SHIV_ROOT) and later starts reuse that.

The dependencies are the lock's (`requirements/runtime.txt`: exact versions,
each wheel checked against its hash). Some have compiled parts built per Python
version (msgspec, cffi). So that one file runs on every supported Python, the
same releases' wheels for each --python-version are installed side by side:
extension modules are named by version (`_core.cpython-312-x86_64-linux-gnu.so`),
so they coexist and each interpreter imports its own. The platform is the build
machine's unless --platform is given (e.g. manylinux2014_aarch64 for a
Raspberry Pi 4).

Needs pip, shiv and hatchling (`bash scripts/install.sh --dev` installs them
from the lock); pip downloads the wheels from the index (or give it
--pip-arg=--find-links=DIR --pip-arg=--no-index to build offline from a
wheelhouse).
"""

from __future__ import annotations

import argparse
import filecmp
import importlib.util
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_PYTHON_VERSIONS = ("3.11", "3.12", "3.13", "3.14")
RUNTIME_LOCK = REPO / "requirements" / "runtime.txt"
METADATA_NAMES = frozenset({"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"})


def _run(command: list[str], *, quiet: bool) -> None:
    print("+", " ".join(command), file=sys.stderr, flush=True)
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL if quiet else None)


def _pip(*args: str) -> list[str]:
    return [sys.executable, "-m", "pip", "--disable-pip-version-check", *args]


def build_wheel(out_dir: Path, *, quiet: bool, pip_args: list[str]) -> Path:
    """The p2pshare wheel (with the web client force-included) built from this checkout."""
    # --no-build-isolation: the locked hatchling of this environment, not a fresh download
    command = _pip("wheel", "--no-deps", "--no-build-isolation", "--wheel-dir", str(out_dir))
    _run([*command, *pip_args, str(REPO)], quiet=quiet)
    wheels = sorted(out_dir.glob("p2pshare-*.whl"))
    if len(wheels) != 1:
        raise SystemExit(f"expected one p2pshare wheel in {out_dir}, found {wheels}")
    return wheels[0]


def install_for(
    wheel: Path,
    target: Path,
    python_version: str,
    *,
    platforms: list[str],
    pip_args: list[str],
    quiet: bool,
) -> None:
    """Install `wheel` and the locked dependencies, as binary wheels for one Python version."""
    command = _pip(
        "install",
        "--target",
        str(target),
        "--no-compile",
        "--no-deps",
        "--only-binary=:all:",
        "--implementation",
        "cp",
        "--python-version",
        python_version,
    )
    for platform in platforms:
        command += ["--platform", platform]
    _run([*command, "--require-hashes", "-r", str(RUNTIME_LOCK), *pip_args], quiet=quiet)
    _run([*command, *pip_args, str(wheel)], quiet=quiet)


def merge_site(base: Path, extra: Path) -> list[str]:
    """Copy the files of `extra` that `base` lacks (other versions' extension modules).

    The same releases are installed in both, so any other file must be identical;
    raises SystemExit otherwise. Returns the relative paths added.
    """
    added: list[str] = []
    for path in sorted(extra.rglob("*")):
        if path.is_dir():
            continue
        relative = path.relative_to(extra)
        if relative.parts[0].endswith(".dist-info") and (
            path.name in METADATA_NAMES or (base / relative).exists()
        ):
            continue  # the wheel tags and records differ by version; the base's are kept
        destination = base / relative
        if destination.exists():
            if not filecmp.cmp(path, destination, shallow=False):
                raise SystemExit(f"{relative} differs between Python versions: not mergeable")
            continue
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, destination)
        added.append(relative.as_posix())
    return added


def build(
    output: Path,
    *,
    python_versions: list[str],
    platforms: list[str],
    pip_args: list[str],
    shebang: str,
    quiet: bool,
) -> Path:
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="p2pshare-zipapp-") as tmp:
        work = Path(tmp)
        wheel = build_wheel(work / "wheels", quiet=quiet, pip_args=pip_args)
        base = work / "site-packages"
        install_for(
            wheel, base, python_versions[0], platforms=platforms, pip_args=pip_args, quiet=quiet
        )
        for version in python_versions[1:]:
            extra = work / f"site-{version}"
            install_for(wheel, extra, version, platforms=platforms, pip_args=pip_args, quiet=quiet)
            added = merge_site(base, extra)
            print(f"Python {version}: added {len(added)} files {added}", file=sys.stderr)
        if not (base / "p2pshare" / "web" / "index.html").is_file():
            raise SystemExit("the wheel has no p2pshare/web/index.html: check force-include")
        shutil.rmtree(base / "bin", ignore_errors=True)  # console scripts of the build machine
        _run(
            [
                sys.executable,
                "-m",
                "shiv",
                "--site-packages",
                str(base),
                "--entry-point",
                "p2pshare.cli:main",
                "--output-file",
                str(output),
                "--python",
                shebang,
                "--reproducible",
                "--compressed",
            ],
            quiet=quiet,
        )
    output.chmod(0o755)
    return output


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        default=REPO / "dist" / "p2pshare",
        help="the file to write (default: dist/p2pshare)",
    )
    parser.add_argument(
        "--python-version",
        action="append",
        help="a Python version (X.Y) the file must run on, repeatable; the first one resolves "
        f"the dependencies (default: {', '.join(DEFAULT_PYTHON_VERSIONS)})",
    )
    parser.add_argument(
        "--platform",
        action="append",
        default=[],
        help="a wheel platform tag to build for, repeatable (default: this machine's)",
    )
    parser.add_argument(
        "--pip-arg", action="append", default=[], help="an extra argument for pip, repeatable"
    )
    parser.add_argument(
        "--shebang", default="/usr/bin/env python3", help="the interpreter line of the file"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="hide pip's and shiv's output")
    args = parser.parse_args(argv)
    if importlib.util.find_spec("shiv") is None:
        print("shiv is missing: bash scripts/install.sh --dev", file=sys.stderr)
        return 2
    versions = args.python_version or list(DEFAULT_PYTHON_VERSIONS)
    output = build(
        args.output.resolve(),
        python_versions=versions,
        platforms=args.platform,
        pip_args=args.pip_arg,
        shebang=args.shebang,
        quiet=args.quiet,
    )
    size_mib = output.stat().st_size / 2**20
    print(f"built {output} ({size_mib:.1f} MiB) for Python {', '.join(versions)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
