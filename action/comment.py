"""The groupctl action's last step, on pull requests: post what groupctl printed as comments
that later runs update instead of adding more.

Markdown longer than one comment comes split by `<!-- groupctl: next comment -->`; each part
becomes comment number N of this key, found again by a hidden first line
`<!-- groupctl:KEY:N -->`. Parts that a shorter output no longer needs are deleted.

Environment: GROUPCTL_OUTPUT (the file run.sh wrote), GROUPCTL_COMMENT_KEY (plan, diff...),
GROUPCTL_PR and GROUPCTL_REPO (the pull request), GH_TOKEN, GITHUB_API_URL (set by GitHub).
Runs with the Python of the venv install.sh made, which has groupctl (and httpx).
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import httpx

from reconciler.render.markdown import SEPARATOR


def main() -> int:
    output = Path(os.environ["GROUPCTL_OUTPUT"]).read_text(encoding="utf-8").rstrip("\n")
    key = os.environ["GROUPCTL_COMMENT_KEY"]
    repo, number = os.environ["GROUPCTL_REPO"], os.environ["GROUPCTL_PR"]
    parts = [part for part in output.split(SEPARATOR) if part.strip()] or [
        "(groupctl printed nothing)"
    ]
    marker = re.compile(rf"^<!-- groupctl:{re.escape(key)}:(\d+) -->")
    with httpx.Client(
        base_url=os.environ.get("GITHUB_API_URL", "https://api.github.com"),
        headers={
            "Authorization": f"Bearer {os.environ['GH_TOKEN']}",
            "Accept": "application/vnd.github+json",
        },
        timeout=30,
    ) as github:
        existing: dict[int, int] = {}  # part number -> comment id
        url: str | None = f"/repos/{repo}/issues/{number}/comments?per_page=100"
        while url:
            page = github.get(url)
            page.raise_for_status()
            for comment in page.json():
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
    print(f"groupctl: {len(parts)} comment(s) for {key!r} on pull request #{number}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (httpx.HTTPError, OSError, KeyError) as exc:
        print(f"::error::groupctl action: cannot comment on the pull request: {exc}")
        sys.exit(1)
