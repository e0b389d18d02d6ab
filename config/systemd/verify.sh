#!/usr/bin/env bash
# Checks the systemd units with `systemd-analyze verify` (CI runs it when systemd-analyze exists).
#
#   verify.sh                   the units in config/systemd, against the binaries cargo built
#   verify.sh UNIT_DIR BIN_DIR  the units in UNIT_DIR, against the binaries in BIN_DIR (the
#                               Debian packages' check passes what a package unpacks to)
#
# The units name /usr/bin/…; here they point at BIN_DIR, so the check also covers the ExecStart
# lines. Any complaint about a unit fails the check.
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v systemd-analyze >/dev/null 2>&1; then
  echo "systemd-analyze not found: unit check skipped"
  exit 0
fi
units="${1:-config/systemd}"
bin="${2:-${CARGO_TARGET_DIR:-$PWD/target}/debug}"
if [ $# -eq 0 ]; then
  for b in netcoordinator netminer; do
    [ -x "$bin/$b" ] || cargo build -q -p "$b"
  done
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for u in "$units"/*.service; do
  sed "s|/usr/bin/|$bin/|g" "$u" > "$tmp/$(basename "$u")"
done
# A template is verified through an instance of it.
cp "$tmp/netminer@.service" "$tmp/netminer@gpu0.service"
out=$(cd "$tmp" && systemd-analyze verify ./netcoordinator.service ./netminer.service \
  ./netminer@gpu0.service 2>&1 || true)
# Only complaints about our units count (the host's own units may warn about themselves).
bad=$(printf '%s\n' "$out" | grep -E "(^|/)(netcoordinator|netminer)" || true)
if [ -n "$bad" ]; then
  printf '%s\n' "$bad"
  echo "systemd units: FAILED ($units)"
  exit 1
fi
echo "systemd units: ok ($units: netcoordinator.service, netminer.service, netminer@.service)"
