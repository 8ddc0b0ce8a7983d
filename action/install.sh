#!/usr/bin/env bash
# The action's first step: install groupctl into a virtual environment of its own and put it
# on the PATH of the job's later steps. What it installs, first that applies:
#   GROUPCTL_INSTALL     anything pip installs (a path, a requirement, a wheel's URL)
#   GROUPCTL_VERSION     that release of groupctl from PyPI
#   the action's tag     uses: your-org/groupctl@v1.2.0 installs groupctl==1.2.0 from PyPI
#   the action's files   for any other ref (a branch, a commit, a moving tag like v1, ./)
#   GROUPCTL_ACTION_REF  the action's ref (github.action_ref; empty in some runners, then
#                        the last folder of GITHUB_ACTION_PATH, where the runner keeps it)
#   GROUPCTL_PYTHON      the Python to use (default: python3)
#   GITHUB_ACTION_PATH, RUNNER_TEMP, GITHUB_PATH: set by GitHub
set -euo pipefail

release='^v?([0-9]+\.[0-9]+\.[0-9]+([.+-]?[A-Za-z0-9.]+)?)$'
ref="${GROUPCTL_ACTION_REF:-$(basename "${GITHUB_ACTION_PATH:?}")}"
if [ -n "${GROUPCTL_INSTALL:-}" ]; then
  what="$GROUPCTL_INSTALL"
elif [ -n "${GROUPCTL_VERSION:-}" ]; then
  if ! [[ "$GROUPCTL_VERSION" =~ $release ]]; then
    echo "::error::groupctl action: version must be a release such as 1.2.0, not '$GROUPCTL_VERSION'"
    exit 1
  fi
  what="groupctl==${BASH_REMATCH[1]}"
elif [[ "$ref" =~ $release ]]; then
  what="groupctl==${BASH_REMATCH[1]}"
else
  what="$GITHUB_ACTION_PATH"
  echo "::notice::groupctl action at '$ref', not a release tag: installing the action's own files. Pin a release (uses: ...@v1.2.0) or set version: to install that release."
fi
venv="${RUNNER_TEMP:-/tmp}/groupctl-venv"
installed="$venv/.groupctl-installed"
# A job that uses the action more than once (validate, then plan) installs it once.
if [ -f "$installed" ] && [ "$(cat "$installed")" = "$what" ]; then
  echo "groupctl already installed in this job: $what"
else
  echo "installing $what"
  rm -rf "$venv"
  "${GROUPCTL_PYTHON:-python3}" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$what"
  printf '%s' "$what" > "$installed"
fi
"$venv/bin/groupctl" --version
echo "$venv/bin" >> "${GITHUB_PATH:?}"
