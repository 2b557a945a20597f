#!/usr/bin/env bash
# Checks the import rules of docs/architecture.md with grep: no stage imports
# a later stage, the embedded server imports only `protocol` and `staging`,
# the stages import no command-layer module, and cli, commands, run and action
# form no cycle (cli, run and action import none of the others; nothing but
# main.rs imports commands). Comment lines are ignored (doc links are not
# dependencies). Prints every import edge between modules, then the
# violations; exits 1 if there are any. Run by .ci/run and by a unit test.
set -euo pipefail
cd "$(dirname "$0")/.."

# The stages in import order: each may import only those before it.
stages=(staging time protocol matrix results load analysis cloudwatch report github)
# The command layer: may import any stage.
commands=(cli commands run action expand)

files_of() {
  if [[ -d "src/$1" ]]; then
    find "src/$1" -name '*.rs' ! -name 'tests.rs' ! -name '*_tests.rs'
  else
    echo "src/$1.rs"
  fi
}

# The crate modules that files of module $1 import (code lines only).
imports_of() {
  # shellcheck disable=SC2046
  grep -hv '^\s*//' $(files_of "$1") |
    grep -o 'crate::[a-z_]*' | sed 's/crate:://' | sort -u | grep -vx "$1" || true
}

index_of() {
  local i
  for i in "${!stages[@]}"; do
    [[ "${stages[$i]}" == "$1" ]] && { echo "$i"; return; }
  done
  echo -1
}

violations=0
fail() { echo "VIOLATION: $*"; violations=$((violations + 1)); }

for m in "${stages[@]}" server "${commands[@]}"; do
  deps=$(imports_of "$m" | tr '\n' ' ')
  echo "$m -> ${deps:-(nothing)}"
  for d in $deps; do
    case "$m" in
      server)
        [[ "$d" == protocol || "$d" == staging ]] || fail "server imports $d (only protocol and staging)"
        ;;
      cli)
        case "$d" in commands | run | action) fail "cli imports $d (clap types only)" ;; esac
        ;;
      run | action | expand)
        case "$d" in cli | commands | run | action)
          [[ "$d" == "$m" ]] || fail "$m imports $d (a cycle through the command layer)" ;;
        esac
        ;;
      commands) ;;
      *)
        mi=$(index_of "$m")
        di=$(index_of "$d")
        if [[ "$di" -lt 0 ]]; then
          fail "stage $m imports $d (not a stage: server or the command layer)"
        elif [[ "$di" -gt "$mi" ]]; then
          fail "stage $m imports the later stage $d"
        fi
        ;;
    esac
  done
done

main=$(grep -v '^\s*//' src/main.rs | grep -o 'msgperf::[a-z_]*' | sed 's/msgperf:://' | sort -u | tr '\n' ' ')
echo "main.rs -> $main"
for d in $main; do
  [[ "$d" == cli || "$d" == commands ]] || fail "main.rs uses msgperf::$d (only cli and commands)"
done

if [[ "$violations" -gt 0 ]]; then
  echo "$violations violation(s) of docs/architecture.md"
  exit 1
fi
echo "architecture: ok"
