"""GitHub integration: the workflows and the action are valid, and the action's steps, run
here as GitHub would run them, plan against the simulator and keep one comment updated."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.processes import ServedSim, sim_serve
from tests.support.thorough import LONG

ROOT = Path(__file__).parent.parent.parent
WORKFLOWS = sorted((ROOT / "examples" / "workflows").glob("*.yml")) + sorted(
    (ROOT / ".github" / "workflows").glob("*.yml")
)
KEY = "action-key-31c4e9"


def check_jsonschema(schema: str, *files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, *map(str, files)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_workflows_are_valid_github_actions_workflows() -> None:
    assert len(WORKFLOWS) >= 4
    done = check_jsonschema("vendor.github-workflows", *WORKFLOWS)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_action_is_a_valid_github_action() -> None:
    done = check_jsonschema("vendor.github-actions", ROOT / "action.yml")
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_pre_commit_hook_manifest_is_valid() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pre_commit", "validate-manifest", ".pre-commit-hooks.yaml"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_example_workflows_use_the_action_as_it_is() -> None:
    inputs = yaml.safe_load((ROOT / "action.yml").read_text())["inputs"]
    uses = 0
    for workflow in (w for w in WORKFLOWS if w.parent.parent.name == "examples"):
        for job in yaml.safe_load(workflow.read_text())["jobs"].values():
            for step in job["steps"]:
                # A release tag: the action installs that release, not its own files.
                if re.fullmatch(r"your-org/groupctl@v\d+\.\d+\.\d+", step.get("uses", "")):
                    uses += 1
                    assert set(step["with"]) <= set(inputs), workflow.name
                    commands = ("validate", "check", "diff", "plan", "apply", "show")
                    assert step["with"]["command"] in commands
    assert uses == 10
    apply = yaml.safe_load((ROOT / "examples/workflows/groupctl-apply.yml").read_text())
    assert apply["concurrency"] == {"group": "groupctl-apply", "cancel-in-progress": False}


# -- the action, run here ---------------------------------------------------------------------


# Who each token is, as GitHub answers: GITHUB_TOKEN is an app's installation token, whose
# identity is the github-actions[bot] account; a personal access token is a person's.
GITHUB_ACTIONS_BOT = {"login": "github-actions[bot]", "id": 41898282, "type": "Bot"}
ACCOUNTS = {
    "gh-token": GITHUB_ACTIONS_BOT,
    "pat-token": {"login": "groups-admin", "id": 5001, "type": "User"},
    "mallory-token": {"login": "mallory", "id": 666, "type": "User"},
}
INSTALLATION_TOKENS = {"gh-token"}


class FakeGitHub:
    """Just enough of GitHub's REST API for pull request comments, and of its GraphQL API for
    `viewer`, on 127.0.0.1. Each comment has the author whose token wrote it; as on GitHub, a
    token that may write comments may also edit and delete other people's."""

    def __init__(self) -> None:
        self.comments: dict[int, str] = {}
        self.authors: dict[int, dict[str, object]] = {}
        self.calls: list[str] = []
        self.next_id = 1
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _reply(self, status: int, data: Any = None) -> None:
                body = json.dumps(data).encode() if data is not None else b""
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _body(self) -> dict[str, Any]:
                length = int(self.headers.get("Content-Length", 0))
                return json.loads(self.rfile.read(length)) if length else {}

            def _account(self) -> dict[str, object] | None:
                token = self.headers.get("Authorization", "").removeprefix("Bearer ")
                return ACCOUNTS.get(token)

            def _installation(self) -> bool:
                token = self.headers.get("Authorization", "").removeprefix("Bearer ")
                return token in INSTALLATION_TOKENS

            def do_GET(self) -> None:
                outer.calls.append(f"GET {self.path}")
                if self.path == "/user":  # refused to app tokens, as GitHub does
                    if self._installation():
                        self._reply(403, {"message": "Resource not accessible by integration"})
                    else:
                        self._reply(200, self._account())
                    return
                listed = [
                    {"id": i, "body": b, "user": outer.authors[i]}
                    for i, b in sorted(outer.comments.items())
                ]
                self._reply(200, listed)

            def do_POST(self) -> None:
                outer.calls.append(f"POST {self.path}")
                account = self._account()
                if self.path == "/graphql":
                    viewer = account and {"login": account["login"], "databaseId": account["id"]}
                    if viewer:
                        self._reply(200, {"data": {"viewer": viewer}})
                    else:
                        self._reply(200, {"errors": [{"message": "Bad credentials"}]})
                    return
                assert account is not None
                outer.add(self._body()["body"], account)
                self._reply(201, {})

            def do_PATCH(self) -> None:
                outer.calls.append(f"PATCH {self.path}")
                outer.comments[int(self.path.rsplit("/", 1)[1])] = self._body()["body"]
                self._reply(200, {})

            def do_DELETE(self) -> None:
                outer.calls.append(f"DELETE {self.path}")
                del outer.comments[int(self.path.rsplit("/", 1)[1])]
                self._reply(204)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def add(self, body: str, author: dict[str, object]) -> int:
        """A comment written by `author`; its id."""
        ident, self.next_id = self.next_id, self.next_id + 1
        self.comments[ident] = body
        self.authors[ident] = author
        return ident

    def environment(self) -> dict[str, str]:
        """Where the action finds this GitHub: both addresses, as the runner sets them (so that
        a test run inside GitHub Actions never reaches the real one)."""
        return {"GITHUB_API_URL": self.url, "GITHUB_GRAPHQL_URL": f"{self.url}/graphql"}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


class ActionRun:
    """Runs the composite action's steps as the GitHub runner does: each `run` in bash, its
    `env` evaluated from the inputs, GITHUB_OUTPUT and GITHUB_PATH honoured."""

    def __init__(self, workdir: Path, temp: Path, github: dict[str, Any]) -> None:
        self.action = yaml.safe_load((ROOT / "action.yml").read_text())
        self.workdir, self.temp, self.github = workdir, temp, github
        self.path: list[str] = []

    def __call__(self, **given: str) -> tuple[dict[str, dict[str, dict[str, str]]], list[str]]:
        # A default may be an expression (github-token: ${{ github.token }}).
        inputs = {
            name: given.get(
                name.replace("-", "_"),
                self._eval(str(spec.get("default", "")), {"github": self.github}),
            )
            for name, spec in self.action["inputs"].items()
        }
        steps: dict[str, dict[str, dict[str, str]]] = {}
        logs: list[str] = []
        failed = False
        for step in self.action["runs"]["steps"]:
            context = {"inputs": inputs, "steps": steps, "github": self.github}
            condition = step.get("if")
            if condition and not self._true(condition, context, failed):
                continue
            env = {k: self._eval(str(v), context) for k, v in step.get("env", {}).items()}
            outputs = self.temp / "github-output"
            outputs.write_text("")
            (self.temp / "github-path").touch()
            done = subprocess.run(
                ["bash", "-c", step["run"]],
                cwd=self.workdir,
                capture_output=True,
                text=True,
                timeout=300,
                env={
                    **{k: v for k, v in os.environ.items() if not k.startswith("TITAN_")},
                    "PATH": os.pathsep.join([*self.path, os.environ["PATH"]]),
                    "GITHUB_ACTION_PATH": str(ROOT),
                    "RUNNER_TEMP": str(self.temp),
                    "GITHUB_OUTPUT": str(outputs),
                    "GITHUB_PATH": str(self.temp / "github-path"),
                    "NO_COLOR": "1",
                    **env,
                },
            )
            logs.append(done.stdout + done.stderr)
            self.path = (self.temp / "github-path").read_text().split()[::-1]
            if "id" in step:
                steps[step["id"]] = {
                    "outputs": dict(
                        line.split("=", 1) for line in outputs.read_text().splitlines() if line
                    )
                }
            failed = failed or done.returncode != 0
        return steps, logs

    def _eval(self, text: str, context: dict[str, Any]) -> str:
        return EXPRESSION.sub(lambda m: str(self._value(m.group(1), context)), text)

    def _value(self, expression: str, context: dict[str, Any]) -> Any:
        for choice in expression.split("||"):
            value: Any = context
            for part in choice.strip().split("."):
                value = value.get(part, "") if isinstance(value, dict) else ""
            if value:
                return value
        return ""

    def _true(self, condition: str, context: dict[str, Any], failed: bool) -> bool:
        inner = EXPRESSION.sub(lambda m: m.group(1), condition)
        terms = [term.strip() for term in inner.split("&&")]
        results = []
        for term in terms:
            if term == "always()":
                results.append(True)
            elif term.startswith("(") and term.endswith(")"):  # (a || b): either is set
                results.append(any(self._value(c, context) for c in term[1:-1].split("||")))
            elif "==" in term:
                left, right = (side.strip() for side in term.split("=="))
                results.append(str(self._value(left, context)) == right.strip("'"))
            else:
                results.append(bool(self._value(term, context)))
        return all(results) and (not failed or "always()" in terms)


def runner(tmp_path: Path, groupctl: str) -> Path:
    """The runner's temporary directory. Unless LONG, the job has installed groupctl already
    (install.sh's choice for a branch: the action's own files), as a second use of the action
    in a job finds it: this groupctl. What install.sh chooses is tests/test_release.py's; the
    install itself (a new venv, pip install of the action's files: 25 s) runs under the long
    profile (weekly)."""
    temp = tmp_path / "runner"
    temp.mkdir()
    if not LONG:
        venv = temp / "groupctl-venv"
        (venv / "bin").mkdir(parents=True)
        (venv / "bin" / "groupctl").symlink_to(groupctl)
        (venv / "bin" / "python").write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
        (venv / "bin" / "python").chmod(0o755)
        (venv / ".groupctl-installed").write_text(str(ROOT))
    return temp


@pytest.fixture
def served(groupctl: str, example: Path) -> Iterator[ServedSim]:
    with sim_serve(groupctl, example / "world.json", key=KEY) as running:
        yield running


@pytest.mark.slow
def test_the_action_plans_against_the_simulator_and_keeps_one_comment_updated(
    groupctl: str,
    example: Path,
    served: ServedSim,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    github = FakeGitHub()
    runner(tmp_path, groupctl)
    context = {
        "repository": "acme/groups",
        "token": "gh-token",
        "event": {"pull_request": {"number": 7}},
    }
    run = ActionRun(example, tmp_path / "runner", context)
    for name, value in github.environment().items():  # as GitHub sets them for every step
        monkeypatch.setenv(name, value)
    try:
        steps, logs = run(
            command="plan",
            args="--format markdown",
            api_url=served.url,
            api_key=KEY,
            comment="true",
        )
        assert steps["run"]["outputs"]["exit-code"] == "0", logs
        installed = "installing " if LONG else "groupctl already installed in this job: "
        assert installed in logs[0], logs[0]
        printed = Path(steps["run"]["outputs"]["output-file"]).read_text()
        assert printed.startswith("### groupctl plan for <code>default</code>")
        assert list(github.comments.values()) == [f"<!-- groupctl:plan:1 -->\n{printed.rstrip()}"]
        assert all(KEY not in log for log in logs)
        # The next push: the same comment is updated, not a second one added.
        run(
            command="plan",
            args="--format markdown",
            api_url=served.url,
            api_key=KEY,
            comment="true",
        )
        assert len(github.comments) == 1
        assert github.calls.count("POST /repos/acme/groups/issues/7/comments") == 1
        assert any(
            call.startswith("PATCH /repos/acme/groups/issues/comments/") for call in github.calls
        )
        # The diff needs no API key, and comments under its own key.
        subprocess.run(["git", "init", "-q"], cwd=example, check=True)
        subprocess.run(["git", "add", "."], cwd=example, check=True)
        subprocess.run(
            ["git", "-c", "user.email=t@e", "-c", "user.name=t", "commit", "-qm", "base"],
            cwd=example,
            check=True,
        )
        config = example / "groups.yaml"
        config.write_text(
            config.read_text().replace("members: [team:sales]", "members: [team:sales, lucas]")
        )
        steps, logs = run(command="diff", args="--base HEAD --format markdown", comment="true")
        assert steps["run"]["outputs"]["exit-code"] == "0", logs
        assert len(github.comments) == 2
        assert "+ member       lucas" in github.comments[max(github.comments)]
        # A plan that the brakes stop fails the step, and still comments why.
        steps, logs = run(
            command="plan",
            args="--format markdown --max-removals 1",
            api_url=served.url,
            api_key=KEY,
            comment="true",
        )
        assert steps["run"]["outputs"]["exit-code"] == "1"
        assert "Stopped by the safety brakes" in github.comments[1]
    finally:
        github.close()


SEPARATOR = "\n\n<!-- groupctl: next comment -->\n\n"


def comment(
    github: FakeGitHub, tmp_path: Path, parts: list[str], *, token: str = "gh-token"
) -> subprocess.CompletedProcess[str]:
    """The action's comment step, run as GitHub runs it, for an output of `parts`."""
    output = tmp_path / "out.md"
    output.write_text(SEPARATOR.join(parts) + "\n")
    return subprocess.run(
        [sys.executable, str(ROOT / "action" / "comment.py")],
        env={
            **os.environ,
            **github.environment(),
            "GH_TOKEN": token,
            "GROUPCTL_OUTPUT": str(output),
            "GROUPCTL_COMMENT_KEY": "plan",
            "GROUPCTL_PR": "7",
            "GROUPCTL_REPO": "acme/groups",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_long_plan_becomes_several_comments_and_a_shorter_one_deletes_the_rest(
    tmp_path: Path,
) -> None:
    github = FakeGitHub()
    for parts in (["one", "two", "three"], ["uno"]):
        done = comment(github, tmp_path, parts)
        assert done.returncode == 0, done.stdout + done.stderr
        bodies = [github.comments[i] for i in sorted(github.comments)]
        assert bodies == [f"<!-- groupctl:plan:{n} -->\n{p}" for n, p in enumerate(parts, 1)]
    github.close()


@pytest.mark.parametrize("token", ["gh-token", "pat-token"], ids=["GITHUB_TOKEN", "PAT"])
def test_the_action_edits_and_deletes_only_comments_its_own_token_wrote(
    tmp_path: Path, token: str
) -> None:
    github = FakeGitHub()
    mallory = ACCOUNTS["mallory-token"]
    # Written first, so they come first in the list: markers anyone can type.
    forged = {
        github.add("<!-- groupctl:plan:1 -->\nNo changes. (mallory edits this later)", mallory),
        github.add("<!-- groupctl:plan:2 -->\nmallory's second", mallory),
        github.add("<!-- groupctl:plan:3 -->\nmallory's third", mallory),
    }
    before = {ident: github.comments[ident] for ident in forged}
    ours = [github.add(f"<!-- groupctl:plan:{n} -->\nold {n}", ACCOUNTS[token]) for n in (1, 2)]
    try:
        done = comment(github, tmp_path, ["the plan"], token=token)
    finally:
        github.close()
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"as {ACCOUNTS[token]['login']}" in done.stdout
    assert {ident: github.comments.get(ident) for ident in forged} == before
    assert github.comments[ours[0]] == "<!-- groupctl:plan:1 -->\nthe plan"
    assert ours[1] not in github.comments  # its own second part, no longer needed
    assert not any(call.startswith("POST /repos") for call in github.calls)


def test_the_action_changes_no_comment_when_github_does_not_say_who_the_token_is(
    tmp_path: Path,
) -> None:
    github = FakeGitHub()
    github.add("<!-- groupctl:plan:1 -->\nold", GITHUB_ACTIONS_BOT)
    try:
        done = comment(github, tmp_path, ["the plan"], token="unknown-token")
    finally:
        github.close()
    assert done.returncode == 1
    assert done.stdout.startswith("::error::groupctl action: cannot comment on the pull request:")
    assert "did not say which account the token is (Bad credentials)" in done.stdout
    assert "Traceback" not in done.stderr
    assert [call.split()[0] for call in github.calls] == ["POST"]  # the question, nothing more


def test_an_unknown_command_is_refused_by_the_action(tmp_path: Path) -> None:
    outputs = tmp_path / "out"
    outputs.touch()
    done = subprocess.run(
        ["bash", str(ROOT / "action" / "run.sh")],
        env={**os.environ, "GROUPCTL_COMMAND": "rm", "GITHUB_OUTPUT": str(outputs)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    commands = "validate, check, diff, plan, apply, show or import"
    assert f"command must be {commands}, not 'rm'" in done.stdout


def test_the_action_masks_every_invite_link_before_the_log_shows_it(
    groupctl: str, example: Path, tmp_path: Path
) -> None:
    outputs = tmp_path / "out"
    outputs.touch()
    done = subprocess.run(
        ["bash", str(ROOT / "action" / "run.sh")],
        cwd=example,
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("TITAN_")},
            "PATH": os.pathsep.join([str(Path(groupctl).parent), os.environ["PATH"]]),
            "GROUPCTL_COMMAND": "apply",
            "GROUPCTL_ARGS": "--auto-approve",
            "TITAN_API_URL": "sim:world.json",
            "GITHUB_OUTPUT": str(outputs),
            "RUNNER_TEMP": str(tmp_path),
            "NO_COLOR": "1",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    links = set(re.findall(r"https://chat\.whatsapp\.com/[A-Za-z0-9]+", done.stdout))
    assert links  # the example has someone who needs an invite
    for link in links:
        mask = done.stdout.index(f"::add-mask::{link}\n")
        first_shown = min(
            i
            for i in (m.start() for m in re.finditer(re.escape(link), done.stdout))
            if done.stdout[max(0, i - 12) : i] != "::add-mask::"
        )
        assert mask < first_shown
