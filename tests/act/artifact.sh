#!/usr/bin/env bash
# The artifact stand-ins' work (see README.md): `upload` stores the files of
# $PATHS under $NAME in $MSGPERF_ACT_ARTIFACTS, refusing a name that exists as
# GitHub does; `download` copies artifact $NAME, or every artifact matching
# $PATTERN, into $DEST (all into one directory with MERGE=true).
set -euo pipefail
store="${MSGPERF_ACT_ARTIFACTS:?the act test sets MSGPERF_ACT_ARTIFACTS to its artifact directory}"
mkdir -p "$store"
# The stand-ins' inputs, from their action.yml.
NAME="${NAME:-}"
PATHS="${PATHS:-}"
DEST="${DEST:-.}"

upload() {
  local -a paths=()
  local line
  while IFS= read -r line; do
    line="${line#"${line%%[![:space:]]*}"}"
    line="${line%"${line##*[![:space:]]}"}"
    if [[ -n "$line" && -e "$line" ]]; then
      paths+=("$line")
    fi
  done <<<"$PATHS"
  if [[ ${#paths[@]} -eq 0 ]]; then
    case "${IF_NO_FILES:-warn}" in
      error) echo "::error::No files were found with the provided path: $PATHS. No artifacts will be uploaded."; exit 1 ;;
      ignore) exit 0 ;;
      *) echo "::warning::No files were found with the provided path: $PATHS. No artifacts will be uploaded."; exit 0 ;;
    esac
  fi
  # mkdir is atomic: of two jobs uploading one name, exactly one wins.
  if ! mkdir "$store/$NAME" 2>/dev/null; then
    echo "::error::Failed to CreateArtifact: an artifact with this name already exists on the workflow run: $NAME"
    exit 1
  fi
  local dest="$store/$NAME" p
  if [[ ${#paths[@]} -eq 1 ]]; then
    if [[ -d "${paths[0]}" ]]; then
      cp -R "${paths[0]}/." "$dest/"
    else
      cp "${paths[0]}" "$dest/"
    fi
  else
    for p in "${paths[@]}"; do
      mkdir -p "$dest/$(dirname "$p")"
      cp -R "$p" "$dest/$(dirname "$p")/"
    done
  fi
  echo "uploaded artifact $NAME ($(find "$dest" -type f | wc -l) files)"
}

download() {
  mkdir -p "$DEST"
  if [[ -n "${NAME:-}" ]]; then
    if [[ ! -d "$store/$NAME" ]]; then
      echo "::error::Unable to download artifact(s): Artifact not found for name: $NAME"
      exit 1
    fi
    cp -R "$store/$NAME/." "$DEST/"
    echo "downloaded artifact $NAME into $DEST"
    return
  fi
  local found=0 dir name
  for dir in "$store"/*/; do
    [[ -d "$dir" ]] || continue
    name="$(basename "$dir")"
    # shellcheck disable=SC2053 # PATTERN is a glob, matched as one
    if [[ -z "${PATTERN:-}" || "$name" == $PATTERN ]]; then
      found=$((found + 1))
      if [[ "${MERGE:-false}" == "true" ]]; then
        cp -R "$dir." "$DEST/"
      else
        mkdir -p "$DEST/$name"
        cp -R "$dir." "$DEST/$name/"
      fi
    fi
  done
  echo "downloaded $found artifact(s) matching '${PATTERN:-*}' into $DEST"
}

case "${1:-}" in
  upload) upload ;;
  download) download ;;
  *) echo "usage: artifact.sh upload|download" >&2; exit 2 ;;
esac
