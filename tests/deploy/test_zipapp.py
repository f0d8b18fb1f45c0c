"""The one-file build (scripts/build_zipapp.py): copied alone to an empty folder, run by
a bare interpreter with no site-packages and, where possible, no network at all,
`./p2pshare serve` serves the web client, its config and STUN."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.deploy.cluster import free_port

REPO = Path(__file__).resolve().parents[2]
CHECKER = Path(__file__).with_name("zipapp_check.py")
BUILD_TIMEOUT_S = 600
RUN_TIMEOUT_S = 120
SUPPORTED = ("3.11", "3.12", "3.13", "3.14")

pytestmark = pytest.mark.multiprocess


def _version_of(python: str) -> str | None:
    try:
        done = subprocess.run(
            [python, "-I", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def find_interpreter(version: str) -> str | None:
    """A working interpreter of `version` (X.Y) on this machine: this one, on PATH, or pyenv's."""
    candidates = [sys.executable] if sys.version.startswith(version + ".") else []
    found = shutil.which(f"python{version}")
    if found:
        candidates.append(found)
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidates += [str(p) for p in sorted(pyenv.glob(f"{version}.*/bin/python{version}"))]
    return next((c for c in candidates if _version_of(c) == version), None)


@pytest.fixture(scope="session")
def zipapp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the file once per session, from this checkout."""
    out = tmp_path_factory.mktemp("zipapp") / "p2pshare"
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "build_zipapp.py"), "-q", "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr[-6000:]
    return out


def _netns_prefix() -> list[str]:
    """Run in a new network namespace with only loopback up, if this machine allows it."""
    unshare, ip = shutil.which("unshare"), shutil.which("ip")
    if unshare is None or ip is None:
        return []
    probe = subprocess.run(
        [unshare, "--net", "--", ip, "link", "set", "lo", "up"],
        capture_output=True,
        timeout=30,
        check=False,
    )
    if probe.returncode != 0:
        return []
    return [unshare, "--net", "--", "sh", "-c", f'{ip} link set lo up && exec "$@"', "sh"]


@pytest.fixture
def bare_python(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[Path, str]]:
    """(bin dir, X.Y) of a fresh venv without pip: a standard library and nothing else."""
    version: str = request.param
    python = find_interpreter(version)
    if python is None:
        pytest.skip(f"no Python {version} on this machine")
    venv = tmp_path / "venv"
    subprocess.run(
        [python, "-m", "venv", "--without-pip", str(venv)],
        check=True,
        timeout=120,
    )
    yield venv / "bin", version


def test_the_file_holds_the_package_the_web_client_and_no_tests(zipapp: Path) -> None:
    with zipfile.ZipFile(zipapp) as archive:
        names = set(archive.namelist())
    assert zipapp.read_bytes().startswith(b"#!/usr/bin/env python3\n")
    assert os.access(zipapp, os.X_OK)
    packaged = {n.removeprefix("site-packages/p2pshare/web/") for n in names if "/web/" in n}
    shipped = {
        p.relative_to(REPO / "web").as_posix()
        for p in (REPO / "web").rglob("*")
        if p.is_file() and not p.relative_to(REPO / "web").parts[0].startswith(".")
    }
    assert shipped <= packaged, shipped - packaged
    assert "site-packages/p2pshare/tls.py" in names
    for module in ("trio/", "hypercorn/", "msgspec/", "cryptography/", "qrcode/", "aioice/"):
        assert any(n.startswith(f"site-packages/{module}") for n in names), module
    # Compiled parts for every supported Python, so one file runs on each.
    for version in SUPPORTED:
        tag = "cpython-" + version.replace(".", "")
        assert any(re.match(rf"site-packages/msgspec/_core\.{tag}-", n) for n in names), tag


@pytest.mark.parametrize("bare_python", SUPPORTED, indirect=True)
def test_copied_alone_it_serves_offline(
    zipapp: Path, bare_python: tuple[Path, str], tmp_path: Path
) -> None:
    bin_dir, version = bare_python
    folder = tmp_path / "empty"
    folder.mkdir()
    exe = folder / "p2pshare"
    shutil.copy2(zipapp, exe)
    with zipfile.ZipFile(exe) as archive:
        assets = sorted(
            n
            for n in archive.namelist()
            if n.startswith("site-packages/p2pshare/web/")
            and not n.endswith(("/", "index.html"))
            and "/web/test/" not in n
        )
        asset_name = assets[0] if assets else "site-packages/p2pshare/web/index.html"
        asset_bytes = archive.read(asset_name)
        index_bytes = archive.read("site-packages/p2pshare/web/index.html")
        worker_source = archive.read("site-packages/p2pshare/web/sw.js")
        web_files = {n.removeprefix("site-packages/p2pshare/web") for n in archive.namelist()}
    asset_path = asset_name.removeprefix("site-packages/p2pshare/web")
    http_port, stun_port = free_port(), free_port()
    home = tmp_path / "home"
    home.mkdir()
    # Only the bare interpreter is on PATH for the file's `#!/usr/bin/env python3`.
    env = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "HOME": str(home),
        "SHIV_ROOT": str(tmp_path / "shiv"),
        "LANG": "C.UTF-8",
    }
    netns = _netns_prefix()
    command = [
        *netns,
        str(bin_dir / "python3"),
        "-I",
        str(CHECKER),
        str(http_port),
        str(stun_port),
        asset_path,
        "--",
        "./p2pshare",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(http_port),
        "--stun-port",
        str(stun_port),
    ]
    done = subprocess.run(
        command,
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    output = report["output"]
    assert "early_exit" not in report and "error" not in report, output
    if netns:
        assert report["interfaces"] == ["lo"], report["interfaces"]  # no network at all
    assert report["python"].rsplit(".", 1)[0] == version

    index, asset, config = report["index"], report["asset"], report["config"]
    assert index["status"] == 200 and base64.b64decode(index["body_b64"]) == index_bytes
    assert asset["status"] == 200 and base64.b64decode(asset["body_b64"]) == asset_bytes
    assert config["status"] == 200
    # The service worker, with the shell list the server wrote from the packaged web files.
    worker = report["worker"]
    worker_body = base64.b64decode(worker["body_b64"])
    assert worker["status"] == 200 and worker["content_type"].startswith("text/javascript")
    assert worker_body.endswith(worker_source)
    shell_line = worker_body.decode().splitlines()[2].removeprefix("const SHELL = ")
    shell = [path for path, _ in json.loads(shell_line.removesuffix(";"))]
    assert "/js/main.js" in shell and all(p == "/" or p in web_files for p in shell)
    ice = json.loads(base64.b64decode(config["body_b64"]))["iceServers"]
    assert ice == [{"urls": [f"stun:127.0.0.1:{stun_port}"]}]  # the built-in STUN, nothing else

    stun = report["stun"]
    assert stun["type"] == 0x0101, stun
    assert stun["cookie_ok"] and stun["transaction_ok"] and stun["length_ok"], stun
    assert stun["mapped"] == stun["own"], stun

    assert report["exit_code"] == 0, output
    assert f"http://127.0.0.1:{http_port}/" in output
    # It ran from the unpacked archive, under the interpreter of this venv.
    tag = "cpython-" + version.replace(".", "")
    unpacked = list((tmp_path / "shiv").glob("p2pshare_*/site-packages/p2pshare/__pycache__"))
    assert unpacked and any(tag in p.name for p in unpacked[0].iterdir()), unpacked
