#!/bin/sh
# test_bounded.sh: tests/bounded.sh, which runs every test of make check, ends a hung test with a report and stops what a test leaves running.
# SPDX-License-Identifier: BSD-3-Clause
. "$(dirname "$0")/lib.sh"

make_scratch
BOUNDED="$TOP_SRCDIR/tests/bounded.sh"
# a test that hangs: one case passes, then it waits on a child program for ever
cat >"$SCRATCH/hangs.sh" <<'T'
#!/bin/sh
echo "1..2"
echo "ok 1 - before the hang"
python3 -c 'import sys, time; open(sys.argv[1], "w").write("x"); time.sleep(3600)' "$1/child-started" &
echo $! >"$1/child.pid"
wait
echo "ok 2 - never reached"
T
# a test that passes, leaving a server running behind it
cat >"$SCRATCH/leaves.sh" <<'T'
#!/bin/sh
sleep 3600 &
echo $! >"$1/left.pid"
echo "1..1"
echo "ok 1 - done"
T
chmod 755 "$SCRATCH/hangs.sh" "$SCRATCH/leaves.sh"
# running PID: whether PID runs (a killed process whose parent is gone may stay a zombie a while)
running() {
	[ -r "/proc/$1/stat" ] && [ "$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null)" != Z ]
}
# stopped PID: whether PID stops within 30 s (a signal is delivered when its target next runs)
stopped() {
	i=0
	while running "$1"; do
		[ "$i" -lt 300 ] || return 1
		sleep 0.1
		i=$((i + 1))
	done
}

PJ_TEST_TIMEOUT=3 sh "$BOUNDED" "$SCRATCH/hangs.sh" "$SCRATCH" >"$SCRATCH/hung.out" 2>&1
rc=$?
grep -q '^ok 1 - before the hang$' "$SCRATCH/hung.out" && ! grep -q 'never reached' "$SCRATCH/hung.out"
ok $? "a hung test's output up to the hang is kept"
[ "$(tail -1 "$SCRATCH/hung.out")" = "Bail out! timed out after 3 s: $SCRATCH/hangs.sh $SCRATCH" ]
ok $? "a hung test ends with Bail out!, naming the test and the limit (exit $rc)"
grep -q "^#  *[0-9]* .*python3 -c import sys, time" "$SCRATCH/hung.out"
ok $? "the report lists the processes the test was waiting on"
if command -v gdb >/dev/null 2>&1; then
	grep -q '^# stack of [0-9]* .*python3' "$SCRATCH/hung.out" && grep -q '^#   #[0-9]' "$SCRATCH/hung.out"
	ok $? "the report shows the stack of the program it waited on (gdb)"
else
	ok 0 "# SKIP gdb is not installed: no stacks in the report"
fi
stopped "$(cat "$SCRATCH/child.pid")"
ok $? "the hung test's processes are stopped"

sh "$BOUNDED" "$SCRATCH/leaves.sh" "$SCRATCH" >"$SCRATCH/left.out" 2>&1
is "a test that ends in time keeps its exit status and output" "$?:$(cat "$SCRATCH/left.out")" "0:1..1
ok 1 - done"
stopped "$(cat "$SCRATCH/left.pid")"
ok $? "what a test left running is stopped when it ends"
sh "$BOUNDED" sh -c 'exit 3' >/dev/null 2>&1
is "a failing test's exit status is kept" "$?" 3
PJ_TEST_TIMEOUT=soon sh "$BOUNDED" true >"$SCRATCH/bad.out" 2>&1
is "a limit that is not a number is refused" "$?:$(cat "$SCRATCH/bad.out")" \
	"99:Bail out! PJ_TEST_TIMEOUT is not a number of seconds: soon"
done_testing
