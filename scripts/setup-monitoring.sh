#!/usr/bin/env bash
# Install what the monitoring tests (tests/test_monitoring.py: alert rules, their promtool unit
# tests, the dashboard's queries; the serve tests: a real Pushgateway) need from Debian:
#   * prometheus              - Prometheus 2.42 and `promtool` (check rules, test rules);
#   * prometheus-pushgateway  - the Pushgateway that `scan --push-gateway` pushes to.
# Idempotent: skips what is already on PATH. Needs root (CI runs as root); without root or apt
# it says so and exits 0, and the tests that need the tools skip.
set -euo pipefail

missing=()
command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)
command -v prometheus-pushgateway >/dev/null 2>&1 || missing+=(prometheus-pushgateway)

if [ "${#missing[@]}" -eq 0 ]; then
    echo "setup-monitoring: prometheus (promtool) and prometheus-pushgateway already installed"
    exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "setup-monitoring: cannot install ${missing[*]} (need root and apt-get); those tests will skip" >&2
    exit 0
fi
echo "setup-monitoring: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# policy-rc.d 101: install the binaries without starting the packages' services (a CI
# container has no init, and the tests start their own processes).
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy" && created_policy=1
fi
if ! { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null; }; then
    echo "setup-monitoring: apt-get could not install ${missing[*]}; those tests will skip" >&2
fi
if [ "$created_policy" -eq 1 ]; then rm -f "$policy"; fi
exit 0
