#!/usr/bin/env bash
# Install what the report tests (tests/test_reports*.py) need from Debian:
#   * chromium  - headless browser that opens the HTML report, dumps its DOM and screenshots it;
#   * graphviz  - the `dot` binary behind `seldon-doctor graph -o svg`.
# Idempotent: skips what is already on PATH. Needs root (CI runs as root); without root or apt
# it says so and exits 0, and the tests that need the tools skip.
set -euo pipefail

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v dot >/dev/null 2>&1 || missing+=(graphviz)

if [ "${#missing[@]}" -eq 0 ]; then
    echo "setup-report-tools: chromium and graphviz already installed"
    exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "setup-report-tools: cannot install ${missing[*]} (need root and apt-get); those tests will skip" >&2
    exit 0
fi
echo "setup-report-tools: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends "${missing[@]}" fonts-dejavu-core >/dev/null; }; then
    echo "setup-report-tools: apt-get could not install ${missing[*]}; those tests will skip" >&2
fi
exit 0
