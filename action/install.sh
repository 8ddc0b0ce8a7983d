#!/usr/bin/env bash
# The action's first step: install groupctl into a virtual environment of its own and put it
# on the PATH of the job's later steps.
#   GROUPCTL_INSTALL     what pip installs (default: the action's own checkout)
#   GROUPCTL_PYTHON      the Python to use (default: python3)
#   GITHUB_ACTION_PATH, RUNNER_TEMP, GITHUB_PATH: set by GitHub
set -euo pipefail

venv="${RUNNER_TEMP:-/tmp}/groupctl-venv"
"${GROUPCTL_PYTHON:-python3}" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
  "${GROUPCTL_INSTALL:-${GITHUB_ACTION_PATH:?}}"
"$venv/bin/groupctl" --version
echo "$venv/bin" >> "${GITHUB_PATH:?}"
