#!/usr/bin/env bash
# unchanged.sh PATH -- CMD...: run CMD and fail if it changed anything under PATH (tracked or untracked).
set -euo pipefail
path=$1; shift; [ "$1" = "--" ] && shift
snap() { { git status --porcelain --untracked-files=all -- "$path"; git diff -- "$path"; git ls-files --others --exclude-standard -- "$path" | xargs -r cat; } | sha1sum; }
before=$(snap)
"$@" >/dev/null
if [ "$before" != "$(snap)" ]; then
  echo "'$*' changed files under $path: run it, review 'git diff $path' and commit the result." >&2
  git status --short -- "$path" >&2
  exit 1
fi
