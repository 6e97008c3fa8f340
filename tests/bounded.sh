#!/bin/sh
# bounded.sh: runs one test of make check with a time limit, so a test that hangs fails and says what it waited on.
# SPDX-License-Identifier: BSD-3-Clause
# Usage (the LOG_COMPILERs of Makefile.am): bounded.sh COMMAND... . COMMAND runs in a session of its own; when
# it outlives PJ_TEST_TIMEOUT seconds (default 1200), the processes of that session are listed with their
# kernel wait channels and, where gdb is installed, the stacks of the programs among them (not the shells),
# as TAP comments, then the session is killed and the test ends with "Bail out!": a hang is a failure that
# names itself, never a make check (and a CI run) that waits forever. Whatever the test left running in its
# session when it ends is stopped too: a server that outlived its test would hold the TAP driver's pipe.
limit=${PJ_TEST_TIMEOUT:-1200}
case $limit in '' | *[!0-9]*) echo "Bail out! PJ_TEST_TIMEOUT is not a number of seconds: $limit"; exit 99 ;; esac
# setsid: a process that is not a group leader (a background job of a non-interactive shell) becomes the
# leader of a new session without forking, so the session's id is the test's pid
setsid "$@" &
test_pid=$!

# tool COMMAND...: a diagnostic tool, bounded, without a sanitizer runtime a test may have preloaded (ps
# links libsystemd, whose constructor deadlocks with ASan's runtime preloaded)
tool() {
	env -u LD_PRELOAD timeout 60 "$@"
}

# stacks_of SESSION: the processes of SESSION, then up to four programs' stacks (gdb attaches and detaches)
stacks_of() {
	echo "# processes of the test (session $1):"
	tool ps -s "$1" -o pid=,ppid=,etimes=,stat=,wchan:24=,args= 2>/dev/null | cut -c1-300 | sed 's/^/#   /'
	command -v gdb >/dev/null 2>&1 || return 0
	n=0
	for pid in $(tool ps -s "$1" -o pid= 2>/dev/null); do
		case $(readlink "/proc/$pid/exe" 2>/dev/null) in
		*/sh | */bash | */dash | */sleep | */timeout | */setsid | */unshare | */env | */cat | */tee | */*awk | */grep | */sed | */ps | "") continue ;;
		esac
		[ "$n" -lt 4 ] || break
		n=$((n + 1))
		echo "# stack of $(tool ps -o pid=,args= -p "$pid" 2>/dev/null | cut -c1-200):"
		tool gdb -p "$pid" -batch -nx -ex 'thread apply all bt 30' 2>/dev/null |
			grep -E '^(#|Thread)' | head -60 | sed 's/^/#   /'
	done
}

# the watchdog: waits in steps of a second so it ends soon after the test does
(
	waited=0
	while [ "$waited" -lt "$limit" ]; do
		sleep 1
		kill -0 "$test_pid" 2>/dev/null || exit 0
		waited=$((waited + 1))
	done
	echo "# $* did not finish within $limit s (PJ_TEST_TIMEOUT)"
	stacks_of "$test_pid"
	kill -TERM "-$test_pid" 2>/dev/null
	sleep 5
	kill -KILL "-$test_pid" 2>/dev/null
	echo "Bail out! timed out after $limit s: $*"
) &
watchdog=$!
wait "$test_pid"
rc=$?
# the watchdog ends within a second of the test, after its report when it fired; then the test's leftovers
wait "$watchdog"
kill -KILL "-$test_pid" 2>/dev/null
exit "$rc"
