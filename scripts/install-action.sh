#!/usr/bin/env bash
# Installs the msgperf binary for action.yml. For `uses: OWNER/REPO@TAG` it
# downloads the release asset for this runner's OS and architecture and checks
# it against its published SHA-256; anything else (`uses: ./`, a branch or a
# commit, a platform without an asset, a failed download or checksum) builds
# the binary from the action's own source with `cargo install --locked`.
# A binary already in $RUNNER_TEMP/msgperf/bin (a scaled-out workflow's jobs
# download the one its expand job built) is used as it is, and so is the one
# MSGPERF_BINARY names (a self-hosted runner's own build; the act tests').
set -euo pipefail

action_path="${MSGPERF_ACTION_PATH:?set by action.yml}"
ref="${MSGPERF_ACTION_REF:-}"
repo="${MSGPERF_ACTION_REPOSITORY:-}"
server="${GITHUB_SERVER_URL:-https://github.com}"
root="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/msgperf"
mkdir -p "$root/bin"

if [[ -n "${MSGPERF_BINARY:-}" ]]; then
  if [[ ! -f "$MSGPERF_BINARY" ]]; then
    echo "::error title=msgperf install::MSGPERF_BINARY=$MSGPERF_BINARY is not a file; unset it to download or build msgperf"
    exit 1
  fi
  cp "$MSGPERF_BINARY" "$root/bin/msgperf"
fi

if [[ -f "$root/bin/msgperf" ]]; then
  # Artifacts do not keep the executable bit.
  chmod +x "$root/bin/msgperf"
  if version="$("$root/bin/msgperf" --version 2>/dev/null)"; then
    echo "using the binary already in $root/bin ($version)"
    echo "$root/bin" >>"${GITHUB_PATH:-/dev/null}"
    exit 0
  fi
fi

case "${RUNNER_OS:-$(uname -s)}/${RUNNER_ARCH:-$(uname -m)}" in
  Linux/X64 | Linux/x86_64) triple=x86_64-unknown-linux-gnu ;;
  Linux/ARM64 | Linux/aarch64) triple=aarch64-unknown-linux-gnu ;;
  macOS/ARM64 | Darwin/arm64) triple=aarch64-apple-darwin ;;
  macOS/X64 | Darwin/x86_64) triple=x86_64-apple-darwin ;;
  *) triple="" ;;
esac

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d' ' -f1
  else
    shasum -a 256 "$1" | cut -d' ' -f1
  fi
}

from_release() {
  if [[ -z "$triple" || -z "$repo" || -z "$ref" ]]; then
    return 1
  fi
  local asset="msgperf-${triple}.tar.gz"
  local url="$server/$repo/releases/download/$ref/$asset"
  local tmp
  tmp="$(mktemp -d)"
  echo "downloading $url"
  curl -fsSL --retry 3 -o "$tmp/$asset" "$url" || return 1
  curl -fsSL --retry 3 -o "$tmp/$asset.sha256" "$url.sha256" || return 1
  local expected actual
  expected="$(cut -d' ' -f1 <"$tmp/$asset.sha256")"
  actual="$(sha256_of "$tmp/$asset")"
  if [[ "$expected" != "$actual" ]]; then
    echo "::warning title=msgperf install::SHA-256 of $asset is $actual, the release says $expected; building from source instead"
    return 1
  fi
  tar -xzf "$tmp/$asset" -C "$root/bin" msgperf
  chmod +x "$root/bin/msgperf"
}

if from_release; then
  echo "installed the release binary for $triple ($ref)"
else
  echo "no verified release binary for ${triple:-this platform} at ${ref:-this ref}: building with cargo"
  cargo install --locked --path "$action_path" --root "$root"
fi
echo "$root/bin" >>"${GITHUB_PATH:-/dev/null}"
"$root/bin/msgperf" --version
