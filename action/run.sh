#!/usr/bin/env bash
# The action's second step: run one groupctl command, show and keep what it printed, and
# report its exit code (as the step's own, and as an output for later steps).
#   GROUPCTL_COMMAND     validate, diff, plan, apply or import
#   GROUPCTL_ARGS        more flags, split on white space (never run through a shell)
#   GROUPCTL_CONFIG, TITAN_API_URL, TITAN_API_KEY, TITAN_SESSION: read by groupctl itself
#   RUNNER_TEMP, GITHUB_OUTPUT: set by GitHub
set -uo pipefail

case "${GROUPCTL_COMMAND:-}" in
  validate|diff|plan|apply|import) ;;
  *)
    echo "::error::groupctl action: command must be validate, diff, plan, apply or import, not '${GROUPCTL_COMMAND:-}'"
    exit 1
    ;;
esac
# Empty settings would override groupctl's own defaults with nothing.
for name in GROUPCTL_CONFIG TITAN_API_URL TITAN_API_KEY TITAN_SESSION; do
  if [ -z "${!name:-}" ]; then unset "$name"; fi
done

read -r -a extra <<< "${GROUPCTL_ARGS:-}"
output="$(mktemp "${RUNNER_TEMP:-/tmp}/groupctl-output.XXXXXX")"
groupctl "$GROUPCTL_COMMAND" "${extra[@]}" > "$output"
code=$?
# An invite link lets anyone who holds it join its group, and job logs of public repositories
# are public: each link is masked before the output that holds it is shown.
grep -oE 'https://chat\.whatsapp\.com/[A-Za-z0-9]+' "$output" | sort -u | while read -r link; do
  echo "::add-mask::$link"
done
cat "$output"
{
  echo "exit-code=$code"
  echo "output-file=$output"
} >> "${GITHUB_OUTPUT:?}"
exit "$code"
