"""The groupctl action's last step, on pull requests: post what groupctl printed as comments
that later runs update instead of adding more.

Markdown longer than one comment comes split by `<!-- groupctl: next comment -->`; each part
becomes comment number N of this key, found again by a hidden first line
`<!-- groupctl:KEY:N -->`. Parts that a shorter output no longer needs are deleted.

Only comments written by the token's own identity are the action's: anyone can write a comment
that starts with the marker, and the action must neither put a plan into a comment its author
can edit afterwards nor delete other people's comments. The identity is GraphQL's `viewer`,
which names both kinds of token: a person's (a personal access token) and an app's bot
(`github-actions[bot]` for GITHUB_TOKEN), where REST's `GET /user` refuses app tokens.

Environment: GROUPCTL_OUTPUT (the file run.sh wrote), GROUPCTL_COMMENT_KEY (plan, diff...),
GROUPCTL_PR and GROUPCTL_REPO (the pull request), GH_TOKEN, GITHUB_API_URL and
GITHUB_GRAPHQL_URL (set by GitHub). Runs with the Python of the venv install.sh made, which has
groupctl (and httpx).
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import httpx

from reconciler.render.markdown import SEPARATOR

VIEWER = "query { viewer { login databaseId } }"


class UnknownIdentityError(Exception):
    """GitHub did not say who the token is: no comment can be told to be the action's own."""


def own_account(github: httpx.Client, graphql_url: str) -> tuple[int, str]:
    """The id and login of the account the token acts as."""
    answer = github.post(graphql_url, json={"query": VIEWER})
    answer.raise_for_status()
    reply = answer.json()
    reply = reply if isinstance(reply, dict) else {}
    viewer = (reply.get("data") or {}).get("viewer") or {}
    account, login = viewer.get("databaseId"), viewer.get("login")
    if not isinstance(account, int) or not isinstance(login, str):
        errors = "; ".join(str(e.get("message")) for e in reply.get("errors") or [])
        raise UnknownIdentityError(
            "GitHub did not say which account the token is"
            + (f" ({errors})" if errors else "")
            + ", so the action cannot tell its own comments from others' and changes none"
        )
    return account, login


def main() -> int:
    output = Path(os.environ["GROUPCTL_OUTPUT"]).read_text(encoding="utf-8").rstrip("\n")
    key = os.environ["GROUPCTL_COMMENT_KEY"]
    repo, number = os.environ["GROUPCTL_REPO"], os.environ["GROUPCTL_PR"]
    parts = [part for part in output.split(SEPARATOR) if part.strip()] or [
        "(groupctl printed nothing)"
    ]
    marker = re.compile(rf"^<!-- groupctl:{re.escape(key)}:([0-9]+) -->")
    api_url = os.environ.get("GITHUB_API_URL", "https://api.github.com")
    with httpx.Client(
        base_url=api_url,
        headers={
            "Authorization": f"Bearer {os.environ['GH_TOKEN']}",
            "Accept": "application/vnd.github+json",
        },
        timeout=30,
    ) as github:
        graphql_url = os.environ.get("GITHUB_GRAPHQL_URL", f"{api_url}/graphql")
        account, login = own_account(github, graphql_url)
        existing: dict[int, int] = {}  # part number -> comment id
        url: str | None = f"/repos/{repo}/issues/{number}/comments?per_page=100"
        while url:
            page = github.get(url)
            page.raise_for_status()
            for comment in page.json():
                if (comment.get("user") or {}).get("id") != account:
                    continue  # someone else's, whatever its first line says
                found = marker.match(comment.get("body") or "")
                if found:
                    existing.setdefault(int(found.group(1)), comment["id"])
            url = page.links.get("next", {}).get("url")
        for index, part in enumerate(parts, 1):
            body = {"body": f"<!-- groupctl:{key}:{index} -->\n{part}"}
            if index in existing:
                answer = github.patch(f"/repos/{repo}/issues/comments/{existing[index]}", json=body)
            else:
                answer = github.post(f"/repos/{repo}/issues/{number}/comments", json=body)
            answer.raise_for_status()
        for index, comment_id in existing.items():
            if index > len(parts):
                github.delete(f"/repos/{repo}/issues/comments/{comment_id}").raise_for_status()
    print(f"groupctl: {len(parts)} comment(s) for {key!r} on pull request #{number} as {login}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (httpx.HTTPError, OSError, KeyError, ValueError, UnknownIdentityError) as exc:
        print(f"::error::groupctl action: cannot comment on the pull request: {exc}")
        sys.exit(1)
