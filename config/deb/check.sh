#!/usr/bin/env bash
# Builds the netcoordinator and netminer Debian packages and checks them (CI runs it, see .ci/run):
#
# 1. their contents with `dpkg-deb`: every file where it belongs, with its mode; the conffiles;
# 2. their units with `systemd-analyze verify` (as packaged, pointed at the packaged binaries);
# 3. as root (config/deb/install-check.sh): installs both into a scratch root (`dpkg --root DIR --force-script-chrootless`, so
#    the maintainer scripts run against DIR, see config/deb/scripts/postinst), then checks the
#    `netmine` user, the directories' owners and modes, that a reinstall keeps an edited conffile,
#    and that purging removes what the packages made but never the data dir.
#
# The packages are built from binaries cargo already built (default: target/debug, which the
# test run leaves behind; NETMINE_DEB_PROFILE=release for the real thing, after `cargo build
# --release -p netcoordinator -p netminer`), so the check costs seconds, not a build.
set -euo pipefail
cd "$(dirname "$0")/../.."
profile="${NETMINE_DEB_PROFILE:-debug}"
target="${CARGO_TARGET_DIR:-$PWD/target}"

if ! cargo deb --version >/dev/null 2>&1; then
  echo "installing cargo-deb"
  cargo install cargo-deb --locked
fi
for b in netcoordinator netminer; do
  if [ ! -x "$target/$profile/$b" ]; then
    if [ "$profile" = release ]; then cargo build -q --release -p "$b"; else cargo build -q -p "$b"; fi
  fi
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() {
  echo "deb check FAILED: $*"
  exit 1
}

# cargo-deb takes the binaries from target/release: point that at the chosen profile's binaries
# for the build (a scratch target dir holding links, so target/release is never touched).
mkdir -p "$tmp/target/release"
for b in netcoordinator netminer; do ln -s "$target/$profile/$b" "$tmp/target/release/$b"; done
for p in netcoordinator netminer; do
  CARGO_TARGET_DIR="$tmp/target" cargo deb -q -p "$p" --no-build --fast -o "$tmp/" >/dev/null
done
coord=$(ls "$tmp"/netcoordinator_*.deb)
miner=$(ls "$tmp"/netminer_*.deb)

# 1. Contents and modes: `mode owner path` lines, checked exactly for what we ship.
contents() { dpkg-deb --contents "$1" | awk '{ sub(/^\./, "", $6); print $1, $2, $6 }'; }
expect() { # deb, "mode owner path"...
  local deb=$1 listing
  shift
  listing=$(contents "$deb")
  for want in "$@"; do
    grep -qxF -- "$want" <<<"$listing" || {
      printf '%s\n' "$listing"
      fail "$(basename "$deb") lacks '$want'"
    }
  done
}
expect "$coord" \
  "-rwxr-xr-x 0/0 /usr/bin/netcoordinator" \
  "-rw-r--r-- 0/0 /lib/systemd/system/netcoordinator.service" \
  "-rw-r--r-- 0/0 /etc/netmine/netcoordinator.toml" \
  "-rw------- 0/0 /etc/netmine/netcoordinator.env" \
  "-rw-r--r-- 0/0 /usr/share/doc/netcoordinator/prometheus/netmine-rules.yml" \
  "-rw-r--r-- 0/0 /usr/share/doc/netcoordinator/grafana/netmine-farm.json"
expect "$miner" \
  "-rwxr-xr-x 0/0 /usr/bin/netminer" \
  "-rw-r--r-- 0/0 /lib/systemd/system/netminer.service" \
  "-rw-r--r-- 0/0 /lib/systemd/system/netminer@.service" \
  "-rw-r--r-- 0/0 /etc/netmine/netminer.toml" \
  "-rw------- 0/0 /etc/netmine/netminer.env"
# The packaged configs are the documented examples, byte for byte.
dpkg-deb -x "$coord" "$tmp/x"
dpkg-deb -x "$miner" "$tmp/x"
cmp -s "$tmp/x/etc/netmine/netcoordinator.toml" config/netcoordinator.toml || fail "netcoordinator.toml differs"
cmp -s "$tmp/x/etc/netmine/netminer.toml" config/netminer.toml || fail "netminer.toml differs"
# Conffiles: exactly the files under /etc (an upgrade keeps the admin's edits of each).
for pair in "$coord:netcoordinator" "$miner:netminer"; do
  deb=${pair%%:*} p=${pair#*:}
  got=$(dpkg-deb -I "$deb" conffiles | sort)
  want=$(printf '/etc/netmine/%s.env\n/etc/netmine/%s.toml\n' "$p" "$p")
  [ "$got" = "$want" ] || fail "$p conffiles: got '$got', want '$want'"
  for s in postinst prerm postrm; do
    dpkg-deb -I "$deb" "$s" >/dev/null || fail "$p has no $s"
  done
done
echo "deb contents: ok ($(basename "$coord"), $(basename "$miner"): files, modes, conffiles, scripts)"

# 2. The units as packaged, against the packaged binaries (the same check as the source units').
bash config/systemd/verify.sh "$tmp/x/lib/systemd/system" "$tmp/x/usr/bin" || fail "systemd-analyze verify"

# 3. Install, reinstall and purge in a scratch root: root only (dpkg and the scripts set owners).
if [ "$(id -u)" -eq 0 ]; then
  bash config/deb/install-check.sh "$coord" "$miner"
elif sudo -n true 2>/dev/null; then
  sudo bash config/deb/install-check.sh "$coord" "$miner"
else
  echo "deb install: skipped (needs root or password-less sudo)"
fi
