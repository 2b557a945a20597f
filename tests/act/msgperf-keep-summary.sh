#!/usr/bin/env bash
# The act tests' msgperf: runs the binary the test built ($MSGPERF_REAL) and,
# because act empties $GITHUB_STEP_SUMMARY before the next step, keeps a copy
# of the step summary in $MSGPERF_ACT_KEEP for the test to read.
set -uo pipefail
"${MSGPERF_REAL:?the act test sets MSGPERF_REAL to the msgperf binary}" "$@"
code=$?
if [[ -n "${MSGPERF_ACT_KEEP:-}" && -s "${GITHUB_STEP_SUMMARY:-}" ]]; then
  mkdir -p "$MSGPERF_ACT_KEEP"
  cp "$GITHUB_STEP_SUMMARY" "$MSGPERF_ACT_KEEP/summary-${GITHUB_JOB:-job}-$$.md"
fi
exit "$code"
