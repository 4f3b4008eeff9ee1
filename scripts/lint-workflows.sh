#!/usr/bin/env bash
# Lints the GitHub Actions workflows with actionlint, built from source by
# `go install` at a pinned version (the Go module proxy is all it needs).
# actionlint also runs shellcheck on every `run:` script when shellcheck is
# on PATH, as it is on GitHub's runners; .ci/run installs it here.
set -euo pipefail
cd "$(dirname "$0")/.."

version=v1.7.12
gobin="$(go env GOBIN)"
gobin="${gobin:-$(go env GOPATH)/bin}"
actionlint="$gobin/actionlint"

if [ ! -x "$actionlint" ] || [ "$("$actionlint" -version | head -n 1)" != "$version" ]; then
  go install "github.com/rhysd/actionlint/cmd/actionlint@$version"
fi
if ! command -v shellcheck >/dev/null; then
  echo "lint-workflows: shellcheck not found; run: scripts are not checked" >&2
fi

"$actionlint" -no-color .github/workflows/*.yml
echo "actionlint $version: .github/workflows clean"
