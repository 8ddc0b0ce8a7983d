#!/usr/bin/env bash
# The action's first step: install groupctl into a virtual environment of its own and put it
# on the PATH of the job's later steps. What it installs, first that applies:
#   GROUPCTL_INSTALL     anything pip installs (a path, a requirement, a wheel's URL)
#   GROUPCTL_VERSION     that release of groupctl from PyPI
#   the action's tag     uses: your-org/groupctl@v1.2.0 installs groupctl==1.2.0 from PyPI
#   the action's files   for any other ref (a branch, a commit, a moving tag like v1, ./)
#   GROUPCTL_ACTION_REF  the action's ref (github.action_ref), when it is not run from the
#                        runner's _actions/OWNER/REPO/REF folder (whose REF is used first)
#   GROUPCTL_PYTHON      the Python to use (default: python3)
#   GITHUB_ACTION_PATH, RUNNER_TEMP, GITHUB_PATH: set by GitHub
set -euo pipefail

release='^v?([0-9]+\.[0-9]+\.[0-9]+((a|b|rc)[0-9]+)?)$'
# The runner keeps a used action in _actions/OWNER/REPO/REF: that folder names this action's
# own ref, where github.action_ref, in an action used by another composite action, names the
# outer one's.
case "${GITHUB_ACTION_PATH:?}" in
  */_actions/*) ref="$(basename "$GITHUB_ACTION_PATH")" ;;
  *) ref="${GROUPCTL_ACTION_REF:-}" ;;
esac
if [ -n "${GROUPCTL_INSTALL:-}" ]; then
  what="$GROUPCTL_INSTALL"
elif [ -n "${GROUPCTL_VERSION:-}" ]; then
  if ! [[ "$GROUPCTL_VERSION" =~ $release ]]; then
    # Not echoed: a value with a line break could start a workflow command of its own.
    echo "::error::groupctl action: version must be a release such as 1.2.0 or 1.3.0rc1"
    exit 1
  fi
  what="groupctl==${BASH_REMATCH[1]}"
elif [[ "$ref" =~ $release ]]; then
  what="groupctl==${BASH_REMATCH[1]}"
else
  what="$GITHUB_ACTION_PATH"
  echo "::notice::groupctl action not at a release tag: installing the action's own files. Pin a release (uses: ...@v1.2.0) or set version: to install that release."
fi
venv="${RUNNER_TEMP:-/tmp}/groupctl-venv"
installed="$venv/.groupctl-installed"
# A job that uses the action more than once (validate, then plan) installs it once.
if [ -f "$installed" ] && [ "$(cat "$installed")" = "$what" ]; then
  printf 'groupctl already installed in this job: %q\n' "$what"
else
  printf 'installing %q\n' "$what"
  rm -rf "$venv"
  "${GROUPCTL_PYTHON:-python3}" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$what"
  printf '%s' "$what" > "$installed"
fi
"$venv/bin/groupctl" --version
echo "$venv/bin" >> "${GITHUB_PATH:?}"
