#!/usr/bin/env bash
# Checks the systemd units with `systemd-analyze verify` (CI runs it when systemd-analyze exists).
# The units name /usr/bin/…; here they point at the binaries cargo built, so the check also
# covers the ExecStart lines. Any complaint about a unit fails the check.
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v systemd-analyze >/dev/null 2>&1; then
  echo "systemd-analyze not found: unit check skipped"
  exit 0
fi
bin="${CARGO_TARGET_DIR:-$PWD/target}/debug"
for b in netcoordinator netminer; do
  [ -x "$bin/$b" ] || cargo build -q -p "$b"
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for u in config/systemd/*.service; do
  sed "s|/usr/bin/|$bin/|g" "$u" > "$tmp/$(basename "$u")"
done
# A template is verified through an instance of it.
cp "$tmp/netminer@.service" "$tmp/netminer@gpu0.service"
out=$(cd "$tmp" && systemd-analyze verify ./netcoordinator.service ./netminer.service \
  ./netminer@gpu0.service 2>&1 || true)
# Only complaints about our units count (the host's own units may warn about themselves).
bad=$(printf '%s\n' "$out" | grep -E "(^|$tmp/)(netcoordinator|netminer)" || true)
if [ -n "$bad" ]; then
  printf '%s\n' "$bad"
  echo "systemd units: FAILED"
  exit 1
fi
echo "systemd units: ok (netcoordinator.service, netminer.service, netminer@.service)"
