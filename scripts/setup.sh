#!/usr/bin/env bash
# Sets up a machine for developing and testing berth: a fresh Debian 12, as root.
#
#   bash scripts/setup.sh
#
# Installs the Debian packages berth's build, tests and benchmarks use, the npm dev
# dependencies (which builds native/ and the TypeScript), then runs a busybox container with
# bin/berth-runtime as a smoke test. Safe to run again: it only installs what is missing.
#
# Environment:
#   BERTH_SETUP_SKIP_DEMO=1   do not run the demo container at the end
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO="$(pwd)"

say() { printf '\n==> %s\n' "$*"; }
info() { printf '    %s\n' "$*"; }
warn() { printf 'setup.sh: warning: %s\n' "$*" >&2; }
die() {
  printf '\nsetup.sh: ERROR: %s\n' "$*" >&2
  exit 1
}

# Debian packages: compiler for native/, static busybox for test rootfses, the peer runtimes
# the tests and benchmarks compare against, and the tools the tests and benchmarks call.
# qemu-system-x86 and xz-utils: the pure cgroup v2 guest the v2 tests run in (../shared/tools/run-in-cg2vm.sh).
# docker-registry and apache2-utils (htpasswd): the real registry the image tests pull from, on 127.0.0.1.
# skopeo: the peer the image archive tests check interoperability with.
# zsh (about 5 MB): the CLI tests run `berth completion zsh` in a real zsh. python3: its pty
# module puts bin/berth on a real terminal in the CLI tests (test/cli/helpers.ts, PtySession).
PACKAGES=(build-essential busybox-static runc crun hyperfine jq iproute2 util-linux procps psmisc qemu-system-x86 xz-utils docker-registry apache2-utils skopeo zstd umoci curl zsh python3)
MIN_NODE_MAJOR=20

# ---------------------------------------------------------------------------------------------
say "berth setup in $REPO"

[ "$(id -u)" -eq 0 ] || die "must run as root (berth creates namespaces, mounts and cgroups): sudo bash scripts/setup.sh"
[ "$(uname -s)" = Linux ] || die "berth runs on Linux only"
command -v apt-get >/dev/null 2>&1 || die "apt-get not found: this script is for Debian 12"
if [ -r /etc/os-release ]; then
  # shellcheck disable=SC1091
  . /etc/os-release
  if [ "${ID:-}" != debian ] || [ "${VERSION_ID:-}" != 12 ]; then
    warn "this script targets Debian 12; found ${PRETTY_NAME:-unknown}. Carrying on."
  fi
fi

node_major() {
  node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0
}

check_node() {
  local major
  major="$(node_major)"
  if [ "$major" -lt "$MIN_NODE_MAJOR" ]; then
    die "berth needs Node.js >= $MIN_NODE_MAJOR, but $(command -v node) is $(node --version 2>/dev/null || echo '?').
  Debian 12's own nodejs package is Node 18, which is too old. Install Node.js $MIN_NODE_MAJOR+
  as a Debian package (e.g. a nodejs .deb of version $MIN_NODE_MAJOR or later) and run this script again."
  fi
  command -v npm >/dev/null 2>&1 || die "node $(node --version) is installed but npm is not: install npm (apt-get install npm) and run again"
}

NEED_NODE_FROM_APT=0
if command -v node >/dev/null 2>&1; then
  say "Node.js: $(node --version) at $(command -v node)"
  check_node
else
  info "Node.js not found: will try Debian's nodejs package"
  NEED_NODE_FROM_APT=1
fi

# ---------------------------------------------------------------------------------------------
# apt: wait for any other apt/dpkg run (e.g. unattended-upgrades at boot) instead of failing.
wait_for_apt() {
  local waited=0 busy comm f
  while :; do
    busy=""
    for f in /proc/[0-9]*/comm; do
      comm="$(cat "$f" 2>/dev/null || true)"
      case "$comm" in
        apt | apt-get | aptitude | dpkg | unattended-upgr) busy="$comm" && break ;;
      esac
    done
    [ -z "$busy" ] && return 0
    if [ "$waited" -eq 0 ]; then info "waiting for another package manager ($busy) to finish..."; fi
    if [ "$waited" -ge 900 ]; then die "gave up waiting 15 min for $busy to finish"; fi
    sleep 3
    waited=$((waited + 3))
  done
}

export DEBIAN_FRONTEND=noninteractive
APT_OPTS=(-y -q -o DPkg::Lock::Timeout=900 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
if [ "$NEED_NODE_FROM_APT" -eq 1 ]; then missing+=(nodejs npm); fi

if [ "${#missing[@]}" -gt 0 ]; then
  say "Installing Debian packages: ${missing[*]}"
  wait_for_apt
  info "apt-get update"
  apt-get "${APT_OPTS[@]}" update
  wait_for_apt
  apt-get "${APT_OPTS[@]}" install --no-install-recommends "${missing[@]}"
else
  say "Debian packages: all present (${PACKAGES[*]})"
fi

if [ "$NEED_NODE_FROM_APT" -eq 1 ]; then
  command -v node >/dev/null 2>&1 || die "installing nodejs from apt did not provide a node binary"
  say "Node.js: $(node --version) at $(command -v node)"
  check_node
fi

[ -x /bin/busybox ] || die "/bin/busybox is missing although busybox-static is installed"
info "busybox: $(/bin/busybox | head -n 1)"
info "runc: $(runc --version 2>/dev/null | head -n 1 || echo 'not available')"
info "crun: $(crun --version 2>/dev/null | head -n 1 || echo 'not available')"

# ---------------------------------------------------------------------------------------------
say "Installing npm dependencies and building (native + TypeScript)"
if [ -f package-lock.json ]; then
  npm ci --no-audit --no-fund
else
  npm install --no-audit --no-fund
fi
# The package's `prepare` script builds; make sure it did (e.g. if scripts were disabled).
if [ ! -f dist/test/fixtures/busybox.js ] || [ ! -x native/build/berth-stage ]; then
  info "build output missing after install: npm run build"
  npm run build
fi
info "built: native/build/berth-stage, dist/"

# ---------------------------------------------------------------------------------------------
if [ "${BERTH_SETUP_SKIP_DEMO:-}" = 1 ]; then
  say "Skipping the demo container (BERTH_SETUP_SKIP_DEMO=1)"
elif [ ! -e bin/berth-runtime ]; then
  say "Skipping the demo container: bin/berth-runtime does not exist yet"
else
  say "Demo: running a busybox container with bin/berth-runtime"
  suffix="$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
  DEMO_ID="berth-demo-$suffix"
  DEMO_ROOT="$(mktemp -d "${TMPDIR:-/tmp}/berth-demo-root-XXXXXX")"
  DEMO_BUNDLE=""
  demo_cleanup() {
    if [ -n "$DEMO_BUNDLE" ]; then
      bin/berth-runtime --root "$DEMO_ROOT" delete --force "$DEMO_ID" >/dev/null 2>&1 || true
    fi
    # Removes both dirs, refusing (loudly) if anything is still mounted below them.
    node -e '
      const { removeTreeSafely } = require(process.argv[1]);
      for (const d of process.argv.slice(2)) if (d) removeTreeSafely(d);
    ' "$REPO/dist/test/fixtures/busybox.js" "$DEMO_BUNDLE" "$DEMO_ROOT" || warn "demo cleanup failed (see above)"
  }
  trap demo_cleanup EXIT
  DEMO_BUNDLE="$(node -e '
    const { makeBundle } = require(process.argv[1]);
    const b = makeBundle({ id: process.argv[2], args: ["sh", "-c", "echo hello from a berth container; hostname; id"] });
    process.stdout.write(b.dir);
  ' "$REPO/dist/test/fixtures/busybox.js" "$DEMO_ID")"
  info "bundle: $DEMO_BUNDLE"
  info "\$ bin/berth-runtime --root $DEMO_ROOT run --bundle $DEMO_BUNDLE $DEMO_ID"
  set +e
  timeout -k 5 120 bin/berth-runtime --root "$DEMO_ROOT" run --bundle "$DEMO_BUNDLE" "$DEMO_ID" </dev/null
  rc=$?
  set -e
  if [ "$rc" -ne 0 ]; then
    die "the demo container failed (exit $rc): bin/berth-runtime is not working on this machine yet"
  fi
  demo_cleanup
  DEMO_BUNDLE=""
  trap - EXIT
  info "demo container ran and was cleaned up"
fi

# ---------------------------------------------------------------------------------------------
# berthd, and busybox:latest made from Debian's busybox-static with berth's own import.
say "Starting berthd (scripts/berthd.sh restart; log /var/log/berthd.log)"
bash scripts/berthd.sh restart
if bin/berth image inspect busybox:latest >/dev/null 2>&1; then
  info "busybox:latest is present"
else
  BB_TAR="$(mktemp "${TMPDIR:-/tmp}/berth-busybox-XXXXXX.tar")"
  bash scripts/busybox-tarball.sh "$BB_TAR"
  bin/berth import -c 'CMD ["sh"]' -m "busybox-static from Debian" "$BB_TAR" busybox:latest
  rm -f "$BB_TAR"
  info "imported busybox:latest"
fi
say "Demo: berth run --rm busybox"
info "\$ bin/berth run --rm busybox sh -c 'echo hello from berth; hostname; id'"
timeout -k 5 120 bin/berth run --rm busybox sh -c 'echo hello from berth; hostname; id' </dev/null \
  || die "berth run failed: see /var/log/berthd.log"

say "Setup complete. Run the tests with: npm test"
