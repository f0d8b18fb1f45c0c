"""Real p2pshare processes, and nginx or HAProxy in front of them, for tests.

Synchronous on purpose (subprocess + urllib), so both trio tests and plain
pytest functions (Playwright's sync API) can use it:

    with start_cluster(tmp_path, count=3, proxy="nginx") as cluster:
        cluster.url("/")            # through the proxy
        cluster.ws_url(room)        # wss://127.0.0.1:PORT/ws/<room>
        cluster.ssl_context()       # trusts the proxy's certificate (None without TLS)
        cluster.instances[0].stop() # SIGTERM; .kill() for SIGKILL

The proxies run the shipped configurations (deploy/nginx.conf, deploy/haproxy.cfg):
only addresses, ports, certificate and log paths and the per-address connection caps
(every test client is 127.0.0.1) are rewritten, so what the tests
pass with is what docs/deploy.md tells users to install. Every process is
ended when the `with` block is left, also on failure.
"""

from __future__ import annotations

import contextlib
import getpass
import grp
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from p2pshare.config import Config
from p2pshare.tls import ensure_self_signed

__all__ = [
    "LOAD_BALANCED_ARGS",
    "Cluster",
    "Instance",
    "Proxy",
    "free_port",
    "http_get",
    "require_binary",
    "start_cluster",
    "start_instance",
    "start_instances",
    "start_proxy",
]

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
START_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 10.0
# Every connection comes from the proxy's address (127.0.0.1), so the per-address
# limits must allow a whole test's worth of clients.
LOAD_BALANCED_ARGS = (
    "--trust-proxy",
    "--max-connections-per-address",
    "100000",
    "--max-rooms-per-address",
    "100000",
)


def require_binary(name: str) -> str:
    """The path of a system program; skip the test without it (fail in CI, where it must be)."""
    path = shutil.which(name) or next(
        (p for p in (f"/usr/sbin/{name}", f"/sbin/{name}") if os.access(p, os.X_OK)), None
    )
    if path is None:
        message = f"{name} is not installed (apt-get install {name})"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def free_port(kind: socket.SocketKind = socket.SOCK_STREAM) -> int:
    """A port that is free on 127.0.0.1 right now (TCP, or UDP with SOCK_DGRAM)."""
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def http_get(
    url: str, *, context: ssl.SSLContext | None = None, timeout: float = 5.0
) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) of a GET; HTTP errors are answers too, not exceptions."""
    request = urllib.request.Request(url, headers={"Accept-Encoding": "identity"})
    opener = urllib.request.build_opener(
        urllib.request.HTTPSHandler(context=context), _NoRedirect()
    )
    try:
        with opener.open(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def _log_tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _wait_until_up(
    url: str,
    process: subprocess.Popen[bytes],
    log: Path,
    *,
    context: ssl.SSLContext | None = None,
    statuses: Sequence[int] = (200,),
) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    last = "no answer"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"{process.args!r} exited with {process.returncode}:\n{_log_tail(log)}"
            )
        try:
            status, _, _ = http_get(url, context=context, timeout=1.0)
            if status in statuses:
                return
            last = f"HTTP {status}"
        except OSError as exc:
            last = repr(exc)
        time.sleep(0.05)
    raise RuntimeError(f"{url} did not come up ({last}):\n{_log_tail(log)}")


def _end(process: subprocess.Popen[bytes]) -> None:
    """Stop one process we started: SIGTERM, then SIGKILL if it lingers."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(STOP_TIMEOUT_S)


@dataclass
class Instance:
    """One `p2pshare serve` process on 127.0.0.1."""

    name: str
    http_port: int
    stun_port: int
    process: subprocess.Popen[bytes]
    log: Path
    tls: bool = False

    def url(self, path: str = "/") -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self.http_port}{path}"

    def get(self, path: str) -> tuple[int, dict[str, str], bytes]:
        context = ssl._create_unverified_context() if self.tls else None
        return http_get(self.url(path), context=context)

    def metric(self, name: str) -> float:
        """The value of an unlabelled metric in this instance's /metrics."""
        status, _, body = self.get("/metrics")
        if status != 200:
            raise RuntimeError(f"{self.name}: /metrics answered {status}")
        match = re.search(rf"^{re.escape(name)} (\S+)$", body.decode(), re.MULTILINE)
        if match is None:
            raise KeyError(name)
        return float(match.group(1))

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self, sig: int = signal.SIGTERM, *, wait: bool = True) -> int | None:
        """Send `sig`; with `wait`, return the exit code once it has exited."""
        if self.running:
            self.process.send_signal(sig)
        if not wait:
            return None
        try:
            return self.process.wait(STOP_TIMEOUT_S + 5)
        except subprocess.TimeoutExpired as exc:
            self.process.kill()
            self.process.wait()
            raise RuntimeError(
                f"{self.name} did not stop on {sig}:\n{_log_tail(self.log)}"
            ) from exc

    def kill(self) -> None:
        self.stop(signal.SIGKILL)


def start_instance(
    workdir: Path,
    name: str,
    *,
    args: Sequence[str] = (),
    command: Sequence[str] | None = None,
    env: dict[str, str] | None = None,
    tls: bool = False,
    ready_statuses: Sequence[int] = (200,),
) -> Instance:
    """Start `p2pshare serve` (or `command ... serve`) on free loopback ports; wait for /healthz.

    The caller must stop it (`Instance.stop`), or use `start_instances()`, which does.
    """
    http_port = free_port()
    stun_port = free_port(socket.SOCK_DGRAM)
    log = workdir / f"{name}.log"
    argv = [
        *(command or [sys.executable, "-m", "p2pshare"]),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(http_port),
        "--stun-port",
        str(stun_port),
        *args,
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(
            argv,
            cwd=workdir,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        )
    instance = Instance(name, http_port, stun_port, process, log, tls)
    try:
        context = ssl._create_unverified_context() if tls else None
        _wait_until_up(
            instance.url("/healthz"), process, log, context=context, statuses=ready_statuses
        )
    except BaseException:
        _end(process)
        raise
    return instance


@contextlib.contextmanager
def start_instances(
    workdir: Path, count: int, *, args: Sequence[str] = ()
) -> Iterator[list[Instance]]:
    """`count` instances (started one after another), all ended on exit."""
    started: list[Instance] = []
    try:
        for i in range(count):
            started.append(start_instance(workdir, f"p2pshare-{i + 1}", args=args))
        yield started
    finally:
        for instance in started:
            _end(instance.process)


# --- the proxies ---------------------------------------------------------------


def _rewrite_servers(config: str, pattern: str, instances: Sequence[Instance]) -> str:
    """Replace each run of upstream server lines (matched by `pattern`) with one line per
    instance, keeping the first line's parameters (`max_fails=...`, `check`, `track ...`)."""
    line = re.compile(pattern, re.MULTILINE)

    def replace_run(run: re.Match[str]) -> str:
        first = line.match(run.group(0))
        assert first is not None
        return "".join(_server_line(first, i, m) + "\n" for i, m in enumerate(instances, 1))

    rewritten, count = re.subn(rf"(?:{pattern}\n)+", replace_run, config, flags=re.MULTILINE)
    if count == 0:
        raise RuntimeError(f"no server lines matching {pattern!r} in the shipped config")
    return rewritten


def _server_line(first: re.Match[str], i: int, instance: Instance) -> str:
    name = first.groupdict().get("name")
    params = first.group("params")
    if name:  # haproxy: `server NAME ADDRESS ... track BACKEND/NAME`
        params = params.replace(f"/{name}", f"/p{i}")
    head = f"server p{i} " if name else "server "
    return f"{first.group('indent')}{head}127.0.0.1:{instance.http_port}{params}"


def _self_signed_pair(workdir: Path) -> tuple[Path, Path]:
    return ensure_self_signed(Config(state_dir=workdir / "proxy-tls"))


@dataclass
class Proxy:
    kind: str
    process: subprocess.Popen[bytes]
    port: int
    plain_port: int
    cafile: Path | None
    log: Path
    config: Path


def _worker_user_line() -> str:
    """nginx's `user` directive: this user (only honoured, and needed, when run as root)."""
    user = getpass.getuser()
    group = grp.getgrgid(os.getgid()).gr_name
    return f"user {user} {group};"


def render_nginx(
    workdir: Path, instances: Sequence[Instance], port: int, plain_port: int, tls: bool
) -> Path:
    """The shipped deploy/nginx.conf, pointed at `instances`, inside a self-contained main
    config (own prefix, logs, pid and temp paths) under `workdir`. Returns the main config."""
    site = (DEPLOY / "nginx.conf").read_text()
    site = _rewrite_servers(
        site, r"^(?P<indent>[ \t]+)server 127\.0\.0\.1:\d+(?P<params>[^;\n]*;)$", instances
    )
    site = re.sub(r"^\s*listen \[::\]:\d+[^;]*;\n", "", site, flags=re.MULTILINE)
    site = re.sub(r"listen 80;", f"listen 127.0.0.1:{plain_port};", site)  # the redirect
    # Every test client comes from 127.0.0.1: the per-address cap must fit a whole test.
    site = re.sub(r"(limit_conn p2pshare_per_address) \d+;", r"\1 60000;", site)
    if tls:
        cert, key = _self_signed_pair(workdir)
        site = re.sub(r"listen 443 ssl;", f"listen 127.0.0.1:{port} ssl;", site)
        site = re.sub(r"ssl_certificate \S+;", f"ssl_certificate {cert};", site)
        site = re.sub(r"ssl_certificate_key \S+;", f"ssl_certificate_key {key};", site)
    else:
        site = re.sub(r"listen 443 ssl;", f"listen 127.0.0.1:{port};", site)
        site = re.sub(r"^\s*ssl_\S+ [^;]*;\n", "", site, flags=re.MULTILINE)
    prefix = workdir / "nginx"
    site = re.sub(r"access_log \S+ p2pshare;", f"access_log {prefix}/access.log p2pshare;", site)
    for sub in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (prefix / "temp" / sub).mkdir(parents=True, exist_ok=True)
    (prefix / "p2pshare.conf").write_text(site)
    main = prefix / "nginx.conf"
    main.write_text(
        f"""{_worker_user_line()}
worker_processes 1;
worker_rlimit_nofile 16384;
error_log {prefix}/error.log notice;
events {{ worker_connections 8192; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/temp/client_body;
    proxy_temp_path {prefix}/temp/proxy;
    fastcgi_temp_path {prefix}/temp/fastcgi;
    uwsgi_temp_path {prefix}/temp/uwsgi;
    scgi_temp_path {prefix}/temp/scgi;
    include {prefix}/p2pshare.conf;
}}
"""
    )
    return main


def render_haproxy(
    workdir: Path, instances: Sequence[Instance], port: int, plain_port: int, tls: bool
) -> Path:
    """The shipped deploy/haproxy.cfg, pointed at `instances` and loopback ports."""
    config = (DEPLOY / "haproxy.cfg").read_text()
    config = _rewrite_servers(
        config,
        r"^(?P<indent>[ \t]+)server (?P<name>\w+) 127\.0\.0\.1:\d+(?P<params>[^\n]*)$",
        instances,
    )
    # System-wide settings of a packaged install that a test run cannot use.
    config = re.sub(r"^\s*(chroot|user|group|stats socket|daemon)\b.*\n", "", config, flags=re.M)
    config = re.sub(r"^(\s*log) /dev/log\b.*$", r"\1 stderr format raw local0", config, flags=re.M)
    config = re.sub(r"^(\s*maxconn) \d+", r"\1 4000", config, flags=re.M)  # fits ulimit -n
    config = re.sub(r"bind :80\b", f"bind 127.0.0.1:{plain_port}", config)
    # Every test client comes from 127.0.0.1: the per-address cap must fit a whole test.
    config = re.sub(r"sc0_conn_cur gt \d+", "sc0_conn_cur gt 100000", config)
    if tls:
        cert, key = _self_signed_pair(workdir)
        bundle = workdir / "haproxy-cert.pem"
        bundle.write_bytes(cert.read_bytes() + key.read_bytes())
        config = re.sub(r"bind :443 ssl crt \S+", f"bind 127.0.0.1:{port} ssl crt {bundle}", config)
    else:
        config = re.sub(r"bind :443 ssl crt \S+[^\n]*", f"bind 127.0.0.1:{port}", config)
    path = workdir / "haproxy.cfg"
    path.write_text(config)
    return path


@dataclass
class Cluster:
    instances: list[Instance]
    proxy: Proxy | None
    workdir: Path

    @property
    def tls(self) -> bool:
        return self.proxy is not None and self.proxy.cafile is not None

    def url(self, path: str = "/") -> str:
        """A URL through the proxy (or the first instance without one)."""
        if self.proxy is None:
            return self.instances[0].url(path)
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self.proxy.port}{path}"

    def ws_url(self, room: str) -> str:
        return self.url(f"/ws/{room}").replace("http", "ws", 1)

    def ssl_context(self) -> ssl.SSLContext | None:
        """A client context that trusts the proxy's self-signed certificate."""
        if not self.tls:
            return None
        assert self.proxy is not None and self.proxy.cafile is not None
        return ssl.create_default_context(cafile=str(self.proxy.cafile))

    def get(self, path: str) -> tuple[int, dict[str, str], bytes]:
        return http_get(self.url(path), context=self.ssl_context())

    def room_counts(self) -> dict[str, float]:
        """Live rooms per running instance, from each one's /metrics."""
        return {i.name: i.metric("p2pshare_rooms") for i in self.instances if i.running}


def start_proxy(
    workdir: Path, kind: str, members: Sequence[Instance], *, tls: bool = True
) -> Proxy:
    """Start nginx or HAProxy with the shipped configuration in front of `members`."""
    port, plain_port = free_port(), free_port()
    log = workdir / f"{kind}.log"
    if kind == "nginx":
        binary = require_binary("nginx")
        config = render_nginx(workdir, members, port, plain_port, tls)
        prefix = config.parent
        test = [binary, "-t", "-p", str(prefix), "-c", str(config)]
        argv = [
            binary,
            "-p",
            str(prefix),
            "-c",
            str(config),
            "-g",
            f"daemon off; pid {prefix}/nginx.pid;",
        ]
    elif kind == "haproxy":
        binary = require_binary("haproxy")
        config = render_haproxy(workdir, members, port, plain_port, tls)
        test = [binary, "-c", "-f", str(config)]
        argv = [binary, "-db", "-f", str(config)]
    else:
        raise ValueError(kind)
    checked = subprocess.run(test, capture_output=True, text=True, check=False)
    if checked.returncode != 0:
        raise RuntimeError(f"{kind} rejects the config:\n{checked.stdout}{checked.stderr}")
    with log.open("wb") as out:
        process = subprocess.Popen(
            argv, cwd=workdir, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    cafile = workdir / "proxy-tls" / "self-signed-cert.pem" if tls else None
    proxy = Proxy(kind, process, port, plain_port, cafile, log, config)
    context = ssl.create_default_context(cafile=str(cafile)) if cafile else None
    scheme = "https" if tls else "http"
    try:
        _wait_until_up(f"{scheme}://127.0.0.1:{port}/healthz", process, log, context=context)
    except BaseException:
        _end(process)
        raise
    return proxy


@contextlib.contextmanager
def start_cluster(
    workdir: Path,
    *,
    count: int = 3,
    proxy: str | None = "nginx",
    tls: bool = True,
    args: Sequence[str] = LOAD_BALANCED_ARGS,
) -> Iterator[Cluster]:
    """`count` p2pshare processes with `proxy` ("nginx", "haproxy" or None) in front.

    The proxy terminates TLS with a self-signed certificate for 127.0.0.1 and
    localhost unless `tls=False` (http://127.0.0.1 is a secure context too).
    Everything is stopped on exit.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    started: list[Instance] = []
    front: Proxy | None = None
    try:
        for i in range(count):
            started.append(start_instance(workdir, f"p2pshare-{i + 1}", args=args))
        if proxy is not None:
            front = start_proxy(workdir, proxy, started, tls=tls)
        yield Cluster(started, front, workdir)
    finally:
        if front is not None:
            _end(front.process)
        for instance in started:
            _end(instance.process)
