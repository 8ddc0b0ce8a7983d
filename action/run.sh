#!/usr/bin/env bash
# The action's second step: run one groupctl command, show and keep what it printed, and
# report its exit code (as the step's own, and as an output for later steps).
#   GROUPCTL_COMMAND     validate, check, diff, plan, apply, show or import
#   GROUPCTL_ARGS        more flags, split on white space (never run through a shell)
#   GROUPCTL_PLAN_FILE   plan: also save the sealed plan there; apply: apply that saved plan,
#                        and if it is refused as out of date (exit 4), plan again for the
#                        comment instead, and fail
#   GROUPCTL_CONFIG, TITAN_API_URL, TITAN_API_KEY, TITAN_SESSION: read by groupctl itself
#   RUNNER_TEMP, GITHUB_OUTPUT: set by GitHub
set -uo pipefail

case "${GROUPCTL_COMMAND:-}" in
  validate|check|diff|plan|apply|show|import) ;;
  *)
    echo "::error::groupctl action: command must be validate, check, diff, plan, apply, show or import, not '${GROUPCTL_COMMAND:-}'"
    exit 1
    ;;
esac
# Empty settings would override groupctl's own defaults with nothing.
for name in GROUPCTL_CONFIG TITAN_API_URL TITAN_API_KEY TITAN_SESSION; do
  if [ -z "${!name:-}" ]; then unset "$name"; fi
done

read -r -a extra <<< "${GROUPCTL_ARGS:-}"
output="$(mktemp "${RUNNER_TEMP:-/tmp}/groupctl-output.XXXXXX")"
plan_file="${GROUPCTL_PLAN_FILE:-}"
case "$GROUPCTL_COMMAND:${plan_file:+saved}" in
  plan:saved) mkdir -p "$(dirname -- "$plan_file")" && extra+=(--out "$plan_file") ;;
  apply:saved) extra+=("$plan_file") ;;
esac
groupctl "$GROUPCTL_COMMAND" "${extra[@]}" > "$output"
code=$?
stale=false
if [ "$GROUPCTL_COMMAND" = apply ] && [ -n "$plan_file" ] && [ "$code" = 4 ]; then
  # The reviewed plan is out of date (its reasons are in the log above): nothing was
  # applied. What would be done now goes to the pull request instead, for people to review:
  # the plan of the same account and shard when the plan was one shard's (a sharded apply's
  # job), checked to be a session name and K/N before they become flags.
  stale=true
  same=()
  read -r session shard < <(python3 -c 'import json, sys
found = json.load(open(sys.argv[1]))
print(found.get("session", "-") if "groups" in found else "-", found.get("shard") or "-")' "$plan_file" 2> /dev/null) || true
  if [[ "${shard:-}" =~ ^[0-9]{1,4}/[0-9]{1,4}$ ]] && [[ "${session:-}" =~ ^[a-zA-Z0-9][a-zA-Z0-9._-]{0,63}$ ]]; then
    same=(--session "$session" --shard "$shard")
  fi
  {
    echo "### groupctl: the reviewed plan was not applied"
    echo
    echo "The live groups or the config changed since the plan was reviewed, so nothing was"
    echo "applied (the job's log says what changed). This is the plan now: once reviewed, run"
    echo "the apply workflow by hand to apply the config as it is."
    echo
    groupctl plan --format markdown "${same[@]}"
  } > "$output"
  echo "::error::groupctl: the reviewed plan is out of date and was not applied; the plan now is on the pull request"
  code=1
fi
# apply's report is for the job's log (it may hold invite links): only a plan goes to the
# pull request, and for apply only the plan that replaces an out-of-date reviewed one.
commentable=true
if [ "$GROUPCTL_COMMAND" = apply ] && [ "$stale" != true ]; then commentable=false; fi
checksum=""
if [ -n "$plan_file" ] && [ -f "$plan_file" ]; then
  checksum="$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["checksum"])' "$plan_file" 2> /dev/null)"
  # Into GITHUB_OUTPUT only as a seal looks: a file's text could add outputs of its own.
  [[ "$checksum" =~ ^(hmac-)?sha256:[0-9a-f]{64}$ ]] || checksum=""
fi
# An invite link lets anyone who holds it join its group, and job logs of public repositories
# are public: each link is masked before the output that holds it is shown.
grep -oE 'https://chat\.whatsapp\.com/[A-Za-z0-9]+' "$output" | sort -u | while read -r link; do
  echo "::add-mask::$link"
done
cat "$output"
{
  echo "exit-code=$code"
  echo "output-file=$output"
  echo "plan-checksum=$checksum"
  echo "stale=$stale"
  echo "commentable=$commentable"
} >> "${GITHUB_OUTPUT:?}"
exit "$code"
