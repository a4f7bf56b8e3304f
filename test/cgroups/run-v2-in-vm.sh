#!/bin/bash
# Runs berth's cgroup v2 tests in a throwaway pure-cgroup-v2 QEMU guest
# (../shared/tools/run-in-cg2vm.sh: Debian's 6.1 kernel, cgroup_no_v1=all, every
# controller enabled at the root, host /usr and /etc read-only, this checkout
# read-only with a discarded writable layer).
#
#   test/cgroups/run-v2-in-vm.sh [extra node --test flags, e.g. --test-name-pattern=cpu]
#
# The guest runs under TCG (no KVM), so Node is 5-15x slower there: only the v2 subset
# runs (the v2 driver's unit tests and test/cgroups/v2-*.test.ts). The checkout must be
# built on the host first (npm run build): dist/ and native/build/ are used as they are.
# Environment: CG2VM_TOOL (the VM script), CG2VM_TIMEOUT (s, default 1500), and the
# other CG2VM_* knobs of the VM script. BERTH_VM_ALLOW_STALE=1 skips the build check.
set -u
cd "$(dirname "$0")/../.." || exit 2
REPO=$PWD
VM=${CG2VM_TOOL:-$REPO/../shared/tools/run-in-cg2vm.sh}
[ -x "$VM" ] || { echo "run-v2-in-vm: $VM not found (set CG2VM_TOOL)" >&2; exit 2; }

for f in dist/berth-runtime.js native/build/berth-stage dist/test/cgroups/v2-limits.test.js; do
  [ -e "$f" ] || { echo "run-v2-in-vm: $f is missing: run npm run build first" >&2; exit 2; }
done
if [ "${BERTH_VM_ALLOW_STALE:-0}" != 1 ]; then
  # bin/berth-runtime runs the esbuild bundle: a source newer than it means the VM would test old code.
  newer=$(find src test native/stage -newer dist/berth-runtime.js -name '*.[tc]s' -o -newer dist/berth-runtime.js -name '*.c' 2>/dev/null | head -3)
  if [ -n "$newer" ]; then
    echo "run-v2-in-vm: sources are newer than the build (e.g. $(echo $newer | tr '\n' ' ')): run npm run build first (or BERTH_VM_ALLOW_STALE=1)" >&2
    exit 2
  fi
fi

export CG2VM_TIMEOUT=${CG2VM_TIMEOUT:-1500}
tests="dist/src/runtime/cgroups/v2/*.test.js dist/test/cgroups/v2-*.test.js"
extra=""
for a in "$@"; do extra+=" '${a//\'/\'\\\'\'}'"; done
start=$(date +%s)
"$VM" "uname -r; echo \"cgroup2 controllers: \$(cat /sys/fs/cgroup/cgroup.controllers)\"; node --test --test-concurrency=1 --test-reporter=spec$extra $tests"
rc=$?
echo "run-v2-in-vm: exit $rc, wall time $(( $(date +%s) - start )) s (boot included)" >&2
exit $rc
