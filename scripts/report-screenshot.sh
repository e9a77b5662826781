#!/usr/bin/env bash
# Regenerate docs/report.png, the README's picture of the HTML report (needs chromium:
# scripts/setup-report-tools.sh installs it).
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-docs/report.png}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# Exit code 1 (the gate fails on these fixtures) is expected.
seldon-doctor scan -q \
    -f fixtures/checks/SD501/fires.yaml -f fixtures/checks/SD102/fires.yaml \
    -f fixtures/reports/annotated.yaml -o "html=$tmp/report.html" || [ $? -eq 1 ]
chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-component-update --disable-sync --no-first-run --hide-scrollbars \
    --user-data-dir="$tmp/profile" --window-size=1400,1700 \
    --screenshot="$out" "file://$tmp/report.html" 2>/dev/null
echo "wrote $out"
