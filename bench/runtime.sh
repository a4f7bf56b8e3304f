#!/usr/bin/env bash
# Start-up latency of berth-runtime beside crun and runc, on one busybox bundle running
# /bin/true (no terminal). Prints the median and p90 (ms) of:
#   run                        `<rt> run --bundle B <id>`
#   create+start+wait+delete   `create`, `start`, wait for `state` = stopped, `delete`
# and of `node -e 0`, the floor under any Node.js CLI such as berth-runtime.
#
#   bash bench/runtime.sh            (as root; N=20 per figure)
#   BENCH_N=50 bash bench/runtime.sh
#   BENCH_RUNTIMES="berth-runtime runc" bash bench/runtime.sh
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO="$(pwd)"
N="${BENCH_N:-20}"
WANTED="${BENCH_RUNTIMES:-berth-runtime crun runc}"

die() {
  printf 'bench/runtime.sh: %s\n' "$*" >&2
  exit 1
}

[ "$(id -u)" -eq 0 ] || die "must run as root (containers need namespaces, mounts and cgroups)"
[[ "$N" =~ ^[1-9][0-9]*$ ]] || die "BENCH_N must be a positive integer, got '$N'"

if [ ! -f dist/test/fixtures/busybox.js ]; then
  echo "building (dist/ is missing): npm run build" >&2
  npm run build >&2
fi

# Which runtimes to measure; skip (saying so) those that are not installed.
RUNTIME_ARGS=()
declare -A BIN_OF=()
for name in $WANTED; do
  case "$name" in
    berth-runtime) bin="$REPO/bin/berth-runtime" ;;
    *) bin="$(command -v "$name" || true)" ;;
  esac
  if [ -n "$bin" ] && [ -x "$bin" ]; then
    RUNTIME_ARGS+=("$name=$bin")
    BIN_OF[$name]="$bin"
  elif [ "$name" = berth-runtime ]; then
    echo "skipping berth-runtime: $bin does not exist (or is not executable) yet" >&2
  else
    echo "skipping $name: not installed (apt-get install $name)" >&2
  fi
done
[ "${#RUNTIME_ARGS[@]}" -gt 0 ] || die "no runtime to measure"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/berth-bench-XXXXXX")"
BUNDLE=""

cleanup() {
  local name root d
  # Delete leftover containers (one directory per container in each runtime's root).
  for name in "${!BIN_OF[@]}"; do
    root="$WORK/root-$name"
    [ -d "$root" ] || continue
    for d in "$root"/*/; do
      [ -d "$d" ] || continue
      "${BIN_OF[$name]}" --root "$root" delete --force "$(basename "$d")" </dev/null >/dev/null 2>&1 || true
    done
  done
  # Remove the bundle and the work dir, refusing if anything is still mounted below them.
  node -e '
    const { removeTreeSafely } = require(process.argv[1]);
    let ok = true;
    for (const d of process.argv.slice(2)) {
      if (!d) continue;
      try { removeTreeSafely(d); } catch (e) { ok = false; console.error("bench/runtime.sh: " + e.message); }
    }
    process.exit(ok ? 0 : 1);
  ' "$REPO/dist/test/fixtures/busybox.js" "$BUNDLE" "$WORK" || true
}
BENCH_PID=""
stop_bench() {
  if [ -n "$BENCH_PID" ]; then kill -TERM "$BENCH_PID" 2>/dev/null || true; wait "$BENCH_PID" 2>/dev/null || true; fi
}
trap cleanup EXIT
trap 'stop_bench; exit 130' INT
trap 'stop_bench; exit 143' TERM

BENCH_ID="berth-bench-$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')"
# ociVersion 1.0.2: Debian 12's crun (1.8.1) rejects newer versions; nothing here needs them.
BUNDLE="$(node -e '
  const { makeBundle } = require(process.argv[1]);
  const b = makeBundle({ id: process.argv[2], args: ["/bin/true"], modify: (s) => { s.ociVersion = "1.0.2"; } });
  process.stdout.write(b.dir);
' "$REPO/dist/test/fixtures/busybox.js" "$BENCH_ID")"

echo "berth runtime benchmark: N=$N per figure, bundle $BUNDLE (busybox /bin/true, no terminal)"
echo "kernel $(uname -r), $(nproc) CPUs, node $(node --version)"
for arg in "${RUNTIME_ARGS[@]}"; do
  name="${arg%%=*}"
  bin="${arg#*=}"
  case "$name" in
    berth-runtime) ver="$(cd "$REPO" && git describe --always --dirty 2>/dev/null || echo unknown)" ;;
    *) ver="$("$bin" --version 2>/dev/null | head -n 1 || echo unknown)" ;;
  esac
  echo "  $name: $bin ($ver)"
done

# In the background + wait, so a TERM/INT to this script stops the measuring too.
node bench/runtime-bench.js --bundle "$BUNDLE" --work "$WORK" --n "$N" "${RUNTIME_ARGS[@]}" </dev/null &
BENCH_PID=$!
wait "$BENCH_PID"
