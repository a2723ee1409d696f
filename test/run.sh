#!/bin/sh
# What `npm test` runs once it has built dist/: every test/**/*.test.ts with uvu, as two
# processes at once — the unit files (busy with the CPU) in the background, the lab files
# (test/lab/: mostly waiting on their hosts — SSH, daemons starting, rollback timers) in the
# foreground, one lab at a time. The two patterns split every test file between them. The unit
# files' log is printed after the lab's; exits 1 if either failed.
#
#   sh test/run.sh            (npm test: after `npm run build`)
set -u
cd "$(dirname "$0")/.." || exit 1
UNIT_LOG=$(mktemp /tmp/routegen-test-unit.XXXXXX) || exit 1
uvu() { node --import tsx node_modules/uvu/bin.js test "$1"; }
uvu '^(?!lab/).*\.test\.ts$' >"$UNIT_LOG" 2>&1 &
UNIT=$!
trap 'kill "$UNIT" 2>/dev/null; rm -f "$UNIT_LOG"' EXIT
trap 'exit 130' INT TERM
echo "== the lab files (the unit files run beside them; their log follows)"
lab_rc=0
uvu '^lab/.*\.test\.ts$' || lab_rc=$?
unit_rc=0
wait "$UNIT" || unit_rc=$?
echo "== the unit files"
cat "$UNIT_LOG"
if [ "$lab_rc" -ne 0 ] || [ "$unit_rc" -ne 0 ]; then
  echo "npm test: failed (lab files: exit $lab_rc, unit files: exit $unit_rc)" >&2
  exit 1
fi
