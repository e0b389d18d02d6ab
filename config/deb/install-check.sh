#!/usr/bin/env bash
# Installs the two packages (config/deb/check.sh builds them: `install-check.sh COORD.deb
# MINER.deb`, as root) into a scratch root with `dpkg --root DIR --force-script-chrootless`, so
# their maintainer scripts run against DIR (DPKG_ROOT, see config/deb/scripts/postinst) and the
# host is never touched. Checks the `netmine` user, the directories' owners and modes, that a
# reinstall (an upgrade) keeps edited conffiles, and that purging removes what the packages made
# but never the data dir.
set -euo pipefail
coord=$1
miner=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() {
  echo "deb check FAILED: $*"
  exit 1
}

r="$tmp/root"
mkdir -p "$r/etc" "$r/var/lib/dpkg/info" "$r/var/lib/dpkg/updates" "$r/var/lib" "$r/var/cache"
touch "$r/var/lib/dpkg/status" "$r/var/lib/dpkg/available"
# A user database like a fresh box's, without a netmine user (the scripts must make it).
for f in passwd group shadow gshadow; do
  grep -v '^netmine:' "/etc/$f" >"$r/etc/$f" || true
done
chmod 0640 "$r/etc/shadow" "$r/etc/gshadow"
[ -f /etc/login.defs ] && cp /etc/login.defs "$r/etc/"
dpkgr() {
  # --force-depends: the scratch root's database lists no libc; the host's dpkg runs the scripts.
  dpkg --root="$r" --force-script-chrootless --force-depends --force-confold "$@" \
    >"$tmp/dpkg.log" 2>&1 || {
    cat "$tmp/dpkg.log"
    fail "dpkg $*"
  }
}
dpkgr -i "$coord" "$miner"
uid=$(awk -F: '$1 == "netmine" { print $3 }' "$r/etc/passwd")
gid=$(awk -F: '$1 == "netmine" { print $3 }' "$r/etc/group")
[ -n "$uid" ] && [ -n "$gid" ] || fail "no netmine user or group after install"
grep -q '^netmine:[^:]*:[0-9]*:[0-9]*:[^:]*:/var/lib/netmine:/usr/sbin/nologin$' "$r/etc/passwd" ||
  fail "netmine user: $(grep '^netmine:' "$r/etc/passwd")"
[ "$uid" -lt 1000 ] || fail "netmine is not a system user (uid $uid)"
mode() { stat -c '%a %u:%g' "$r$1"; }
check_mode() { # path, "mode uid:gid"
  local got
  got=$(mode "$1")
  [ "$got" = "$2" ] || fail "$1 is '$got', want '$2'"
}
check_mode /var/lib/netmine "750 $uid:$gid"
check_mode /var/cache/lxrhash "750 $uid:$gid"
check_mode /etc/netmine "750 0:$gid"
check_mode /etc/netmine/netcoordinator.toml "640 0:$gid"
check_mode /etc/netmine/netminer.toml "640 0:$gid"
check_mode /etc/netmine/netcoordinator.env "600 0:0"
check_mode /etc/netmine/netminer.env "600 0:0"
[ -x "$r/usr/bin/netcoordinator" ] && [ -x "$r/usr/bin/netminer" ] || fail "binaries missing"
echo "deb install: ok (netmine user uid $uid, directories and configs with their owners and modes)"

# The admin's edit survives a reinstall (an upgrade), and the user is not made twice.
echo 'identity = "rig-edited"' >>"$r/etc/netmine/netminer.toml"
echo 'NETMINE_SECRET=edited-secret-0123456789' >>"$r/etc/netmine/netminer.env"
dpkgr -i "$miner"
grep -q 'rig-edited' "$r/etc/netmine/netminer.toml" || fail "reinstall lost the edited netminer.toml"
grep -q 'edited-secret' "$r/etc/netmine/netminer.env" || fail "reinstall lost the edited env file"
check_mode /etc/netmine/netminer.env "600 0:0"
[ "$(grep -c '^netmine:' "$r/etc/passwd")" = 1 ] || fail "netmine user made twice"
echo "deb reinstall: ok (edited conffiles kept, one netmine user)"

# Purge: the data dir (store, box key) stays; the shared table cache goes with the last package.
echo data >"$r/var/lib/netmine/box.key"
echo table >"$r/var/cache/lxrhash/lxrhash-30.bin"
dpkgr --purge netminer
[ -f "$r/etc/netmine/netminer.toml" ] && fail "purge left netminer.toml"
[ -f "$r/var/cache/lxrhash/lxrhash-30.bin" ] || fail "purging netminer removed the cache netcoordinator uses"
dpkgr --purge netcoordinator
[ -e "$r/usr/bin/netcoordinator" ] && fail "purge left the binary"
[ -e "$r/etc/netmine" ] && fail "purge left /etc/netmine: $(ls -A "$r/etc/netmine")"
[ -e "$r/var/cache/lxrhash" ] && fail "purge left the table cache"
[ -f "$r/var/lib/netmine/box.key" ] || fail "purge removed the data dir"
echo "deb purge: ok (configs, units, binaries and table cache gone; /var/lib/netmine kept)"
