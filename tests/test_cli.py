"""The command line: flags, their P2PSHARE_* environment twins, and refusals of bad values."""

from __future__ import annotations

import subprocess
import sys

import pytest

from p2pshare.cli import build_parser, config_from_args, main
from p2pshare.config import Config, Limits
from p2pshare.errors import ConfigError
from p2pshare.signaling.nearby_scope import NearbyScope


def config_for(argv: list[str]) -> Config:
    from p2pshare.cli import _explicit_flags

    args = build_parser().parse_args(["serve", *argv])
    return config_from_args(args, _explicit_flags(argv))


def test_defaults() -> None:
    config = config_for([])
    assert config.hosts == ("0.0.0.0", "::")
    assert (config.http_port, config.stun_port) == (8080, 3478)
    assert config.ice_servers == () and config.turn_secret is None
    assert config.limits == Limits()


def test_environment_sets_options_and_flags_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("P2PSHARE_PORT", "9000")
    monkeypatch.setenv("P2PSHARE_HOST", "127.0.0.1, ::1")
    monkeypatch.setenv("P2PSHARE_ICE_SERVER", "stun:a.lan:3478,turn:b.lan:3478")
    monkeypatch.setenv("P2PSHARE_TRUST_PROXY", "yes")
    monkeypatch.setenv("P2PSHARE_MAX_RECEIVERS", "9")
    config = config_for([])
    assert config.http_port == 9000 and config.hosts == ("127.0.0.1", "::1")
    assert config.ice_servers == ("stun:a.lan:3478", "turn:b.lan:3478")
    assert config.trust_proxy and config.limits.max_receivers_per_room == 9
    flagged = config_for(["--port", "9001", "--max-receivers=5", "--host", "::"])
    assert flagged.http_port == 9001 and flagged.limits.max_receivers_per_room == 5
    assert flagged.hosts == ("::",)


@pytest.mark.parametrize(
    ("argv", "env"),
    [
        (["--port", "70000"], {}),
        (["--stun-port", "-1"], {}),
        (["--ice-server", "http://not-ice"], {}),
        (["--certfile", "/tmp/only-a-cert.pem"], {}),
        (["--heartbeat-interval", "nan"], {}),
        (["--message-rate", "0"], {}),
        (["--heartbeat-interval", "20", "--heartbeat-timeout", "10"], {}),
        ([], {"P2PSHARE_PORT": "eighty"}),
        ([], {"P2PSHARE_TRUST_PROXY": "perhaps"}),
        (["--nearby-scope", "everyone"], {}),
        ([], {"P2PSHARE_NEARBY_SCOPE": "lan"}),
    ],
)
def test_bad_values_are_one_line_errors(
    argv: list[str],
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    try:
        code = main(["serve", *argv])
    except SystemExit as exit_:  # argparse's own refusals (not a number)
        code = int(exit_.code or 0)
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(("p2pshare: ", "usage:")) and "Traceback" not in err


def test_nearby_scope_flag_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert config_for([]).nearby_scope is NearbyScope.AUTO
    assert config_for(["--nearby-scope", "subnet"]).nearby_scope is NearbyScope.SUBNET
    monkeypatch.setenv("P2PSHARE_NEARBY_SCOPE", "Off")
    assert config_for([]).nearby_scope is NearbyScope.OFF
    assert config_for(["--nearby-scope=address"]).nearby_scope is NearbyScope.ADDRESS
    assert config_for(["--max-nearby-peers", "8"]).limits.max_nearby_peers == 8
    with pytest.raises(ConfigError, match="nearby_scope"):
        Config(nearby_scope="auto")  # type: ignore[arg-type]


def test_abbreviated_flags_are_refused() -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve", "--max-rec", "4"])


def test_help_names_every_environment_variable() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "p2pshare", "serve", "--help"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0
    for name in [
        "P2PSHARE_HOST",
        "P2PSHARE_PORT",
        "P2PSHARE_STUN_PORT",
        "P2PSHARE_ICE_SERVER",
        "P2PSHARE_TURN_SECRET",
        "P2PSHARE_CERTFILE",
        "P2PSHARE_KEYFILE",
        "P2PSHARE_SELF_SIGNED",
        "P2PSHARE_MAX_FRAME_BYTES",
        "P2PSHARE_MESSAGE_RATE",
        "P2PSHARE_MAX_RECEIVERS",
        "P2PSHARE_MAX_CONNECTIONS_PER_ADDRESS",
        "P2PSHARE_MAX_ROOMS_PER_ADDRESS",
        "P2PSHARE_JOIN_TIMEOUT",
        "P2PSHARE_NEARBY_SCOPE",
        "P2PSHARE_MAX_NEARBY_PEERS",
    ]:
        assert name in result.stdout, name


def test_config_errors_name_the_option() -> None:
    with pytest.raises(ConfigError, match="stun_port"):
        Config(stun_port=99999)
