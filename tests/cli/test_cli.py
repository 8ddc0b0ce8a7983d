"""The installed `groupctl`: help, connection settings, errors, and a key it never shows."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.sim.state import Account, WorldState
from reconciler.titan.retries import DEFAULT_RETRIES, RetryPolicy
from tests.support.processes import run_groupctl, sim_serve

KEY = "cli-secret-key-0c9a8b"


def test_help_names_the_commands_and_the_connection_variables(groupctl: str) -> None:
    done = run_groupctl(groupctl, "--help")
    assert done.returncode == 0
    for text in ("status", "sim", "TITAN_API_URL", "TITAN_API_KEY", "TITAN_SESSION", "sim:"):
        assert text in done.stdout


def test_sim_serve_help_explains_every_option(groupctl: str) -> None:
    done = run_groupctl(groupctl, "sim", "serve", "--help")
    assert done.returncode == 0
    for option in (
        "--host",
        "--port",
        "--state",
        "--api-key",
        "--read-only-key",
        "--latency-ms",
        "--fault-rate",
        "--seed",
        "--rate-limit",
        "--webhook-url",
        "--webhook-secret",
        "TITAN_API_KEY",
        "Example",
    ):
        assert option in done.stdout, option


def test_version(groupctl: str) -> None:
    assert run_groupctl(groupctl, "--version").stdout.startswith("groupctl, version ")


def test_missing_api_address_is_one_sentence_that_mentions_the_simulator(groupctl: str) -> None:
    done = run_groupctl(groupctl, "status")
    assert done.returncode == 1
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: no Titan API address: set TITAN_API_URL (or --api)")
    assert "sim:" in lines[0]


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--api", "https://titan.example"], {}, "error: no API key: set TITAN_API_KEY"),
        (["--api", "titan.example"], {}, "is not an API address"),
        (["--api", "sim:"], {}, "sim: needs a world file path"),
        (["--api", "sim:w.json", "--session", "../x"], {}, "not a valid session name"),
        (["--api", "sim:w.json", "--write-rate", "fast"], {}, "is not a rate"),
        ([], {"TITAN_API_URL": "ftp://x"}, "is not an API address"),
        (
            ["--api", "https://api.titan.example/api"],
            {"TITAN_API_KEY": "k" * 10},
            "ends in /api: give the address without it, e.g. https://api.titan.example",
        ),
        (["--api", "sim:/nonexistent/dir/world.json"], {}, "cannot use its directory"),
        (["--api", "https://titan.example:abc"], {}, "is not an API address"),
        (["--api", "https://titan.example:99999"], {}, "is not an API address"),
        (["--api", "https://[::1"], {}, "is not an API address"),
    ],
)
def test_bad_connection_settings_are_one_clear_error(
    groupctl: str, tmp_path: Path, args: list[str], env: dict[str, str], message: str
) -> None:
    done = run_groupctl(groupctl, "status", *args, env=env, cwd=tmp_path)
    assert done.returncode == 1
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_status_against_the_in_process_simulator(groupctl: str, tmp_path: Path) -> None:
    done = run_groupctl(groupctl, "status", "--api", f"sim:{tmp_path / 'world.json'}")
    assert done.returncode == 0, done.stderr
    assert "Session:  default: CONNECTED, as +1 415-555-0100" in done.stdout
    for scope in ("sessions:read", "groups:read", "groups:manage", "messages:write"):
        assert f"Scope:    {scope:<15} ok" in done.stdout
    assert "Groups:   0" in done.stdout
    assert (tmp_path / "world.json").exists()


def test_status_names_the_scopes_a_read_only_key_lacks(groupctl: str, tmp_path: Path) -> None:
    with sim_serve(groupctl, tmp_path / "world.json", "--read-only-key", "RO-KEY-123456") as sim:
        done = run_groupctl(
            groupctl, "status", "--api", sim.url, env={"TITAN_API_KEY": "RO-KEY-123456"}
        )
    assert done.returncode == 1
    assert f"Scope:    {'groups:read':<15} ok" in done.stdout
    assert f"Scope:    {'groups:manage':<15} MISSING" in done.stdout
    # messages:write is only needed for invite_by_message: shown, but not an error.
    assert f"Scope:    {'messages:write':<15} MISSING" in done.stdout
    assert "error: the API key lacks groups:manage:" in done.stderr
    assert "RO-KEY-123456" not in done.stdout + done.stderr


@pytest.mark.parametrize(
    ("status", "reason", "advice"),
    [
        ("CONNECTING", "SCAN_QR", "pair the phone"),
        ("DISCONNECTED", "LOGGED_OUT", "pair the phone"),
        ("DISCONNECTED", "MANUAL_STOP", "stopped on purpose"),
        ("DISCONNECTED", "TEMPORARY_BAN", "temporarily banned"),
    ],
)
def test_a_session_that_is_not_connected_is_shown_and_fails(
    groupctl: str, tmp_path: Path, status: str, reason: str, advice: str
) -> None:
    world = tmp_path / "world.json"
    account = Account.model_validate(
        {"session": "default", "phone": "+14155550100", "status": status, "status_reason": reason}
    )
    world.write_text(WorldState(accounts=[account]).model_dump_json())
    done = run_groupctl(groupctl, "status", "--api", f"sim:{world}")
    assert done.returncode == 1
    assert f"Session:  default: {status}, {reason}" in done.stdout
    assert f"error: session 'default' is not connected ({status}, {reason}): " in done.stderr
    assert advice in done.stderr


def test_connection_settings_come_from_the_environment(groupctl: str, tmp_path: Path) -> None:
    world = tmp_path / "world.json"
    done = run_groupctl(
        groupctl, "status", env={"TITAN_API_URL": f"sim:{world}", "TITAN_SESSION": "nobody"}
    )
    assert done.returncode == 1
    assert "session 'nobody' not found" in done.stderr
    notice, error = done.stderr.splitlines()  # the world did not exist: it was made, and said
    assert notice.startswith(f"note: {world} does not exist: a new simulated world is made")
    assert error.startswith("error: GET /api/sessions/nobody: HTTP 404")


def test_verbose_logs_each_call_and_never_the_key(groupctl: str, tmp_path: Path) -> None:
    state = tmp_path / "w.json"
    with sim_serve(groupctl, state, key=KEY) as served:
        for flag in ("-v", "--debug"):
            done = run_groupctl(
                groupctl, "status", flag, env={"TITAN_API_URL": served.url, "TITAN_API_KEY": KEY}
            )
            assert done.returncode == 0, done.stderr
            assert "GET /api/sessions/default -> 200" in done.stderr
            assert "GET /api/sessions/default/groups -> 200" in done.stderr
            assert KEY not in done.stdout + done.stderr


def test_a_wrong_key_is_reported_with_the_call_and_without_the_key(
    groupctl: str, tmp_path: Path
) -> None:
    with sim_serve(groupctl, tmp_path / "w.json", key=KEY) as served:
        wrong = "wrong-key-" + KEY[::-1]
        done = run_groupctl(groupctl, "status", "--debug", "--api", served.url, "--api-key", wrong)
    assert done.returncode == 1
    assert "error: GET /api/sessions/default: HTTP 401: missing or invalid API key" in done.stderr
    assert wrong not in done.stdout + done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("retries", "how"),
    [(0, ("--retries", "0")), (2, ("--retries", "2")), (1, ("env", "TITAN_RETRIES=1"))],
)
def test_an_api_error_500_is_an_error_line_not_a_traceback_after_the_retries_asked(
    groupctl: str, tmp_path: Path, retries: int, how: tuple[str, str]
) -> None:
    flags, env = (how, {}) if how[0] != "env" else ((), dict([how[1].split("=")]))
    with sim_serve(groupctl, tmp_path / "w.json", "--fault-rate", "500=1", "-v", key=KEY) as served:
        done = run_groupctl(
            groupctl, "status", "--api", served.url, "--api-key", KEY, *flags, env=env
        )
        _, sim_log = served.stop()
    assert done.returncode == 1
    *waits, last = done.stderr.splitlines()
    assert last.startswith("error: GET /api/sessions/default: HTTP 500: injected fault")
    assert last.endswith(f"(after {retries + 1} attempts)" if retries else "internal error")
    # Each wait is announced, so a run that is slow says why without -v.
    assert len(waits) == retries
    assert all(line.startswith("warning: GET /api/sessions/default: HTTP 500") for line in waits)
    assert "Traceback" not in done.stderr
    assert sim_log.count("GET /api/sessions/default ") == retries + 1  # what the API saw


def test_six_attempts_are_the_default() -> None:
    assert RetryPolicy().attempts == 1 + DEFAULT_RETRIES == 6


def test_plan_waits_for_a_reconnecting_session_only_as_long_as_reconnect_wait(
    groupctl: str, tmp_path: Path
) -> None:
    world = tmp_path / "world.json"
    account = Account.model_validate(
        {
            "session": "default",
            "phone": "+14155550100",
            "status": "CONNECTING",
            "status_reason": "AUTO_RECONNECT",
        }
    )
    world.write_text(WorldState(accounts=[account]).model_dump_json())
    (tmp_path / "groups.yaml").write_text("version: 1\ngroups: {}\n")
    done = run_groupctl(
        groupctl, "plan", "--api", f"sim:{world}", "--reconnect-wait", "0", cwd=tmp_path
    )
    assert done.returncode == 1
    assert "(CONNECTING, AUTO_RECONNECT): Titan is reconnecting it by itself" in done.stderr
    assert "Traceback" not in done.stderr


def test_status_checks_the_session_the_config_names(groupctl: str, tmp_path: Path) -> None:
    world = tmp_path / "world.json"
    accounts = [
        Account(session="default", phone="+14155550100"),
        Account.model_validate(
            {"session": "sales", "phone": "+14155550199", "status": "DISCONNECTED",
             "status_reason": "LOGGED_OUT"}
        ),
    ]  # fmt: skip
    world.write_text(WorldState(accounts=accounts).model_dump_json())
    (tmp_path / "groups.yaml").write_text("version: 1\nsession: sales\ngroups: {}\n")
    done = run_groupctl(groupctl, "status", "--api", f"sim:{world}", cwd=tmp_path)
    assert done.returncode == 1
    assert "Session:  sales: DISCONNECTED, LOGGED_OUT" in done.stdout
    again = run_groupctl(
        groupctl, "status", "--api", f"sim:{world}", "--session", "default", cwd=tmp_path
    )
    assert again.returncode == 0, again.stderr
