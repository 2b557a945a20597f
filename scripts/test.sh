#!/usr/bin/env bash
# The project's test command (the README's, and what .ci/run calls): installs
# what the CloudWatch tests start — moto, the local AWS stand-in, and cbor2 for
# the CBOR proxy in tests/support — then runs every test with `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install --quiet --disable-pip-version-check 'moto[server]==5.2.5' 'cbor2==6.3.0'
command -v moto_server >/dev/null || {
  echo "moto_server is not on PATH after pip install; add pip's script directory to PATH" >&2
  exit 1
}
exec cargo test "$@"
