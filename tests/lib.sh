# tests/lib.sh - shell helpers for the integration tests and the demo: start a server, wait for lines.
# Sourced, not run. Sourcing sets -u, BIN (the directory with p2pchatd and p2pchat; default build)
# and TOP (the source tree); lib_setup makes WORK (a scratch directory), which the helpers need.

set -u
BIN=${BIN:-build}
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PIDS=""

# lib_setup [ON_SIGNAL]: a test script's start: makes WORK and traps EXIT to cleanup.
# ON_SIGNAL is the INT and TERM trap: cleanup (the default), or 'exit 1' to clean up once, on EXIT.
lib_setup() {
	WORK=$(mktemp -d)
	trap cleanup EXIT
	trap "${1:-cleanup}" INT TERM
}

# The tally every test script keeps; `check` counts, `summary` prints the closing line.
passed=0
failed=0

# check NAME CMD...: runs one test function, prints "ok   NAME" or "FAIL NAME" and counts
# it. A script may define on_fail (run after a failure) and after_check (after every test).
check() {
	local name=$1
	shift
	if "$@"; then
		echo "ok   $name"
		passed=$((passed + 1))
	else
		echo "FAIL $name"
		failed=$((failed + 1))
		if declare -F on_fail >/dev/null; then on_fail; fi
	fi
	if declare -F after_check >/dev/null; then after_check; fi
	return 0
}

# summary SUITE: prints "SUITE: N passed, N failed", the line make and CI read;
# returns 1 when a check failed.
summary() {
	echo "$1: $passed passed, $failed failed"
	[ "$failed" -eq 0 ]
}

# stop_all: stops every process started with `spawn` and waits for them.
stop_all() {
	local pid tries
	for pid in $PIDS; do
		kill "$pid" 2>/dev/null
	done
	# Bounded: a process still there after 10 s is named and killed, so a test never hangs.
	for pid in $PIDS; do
		tries=200
		while kill -0 "$pid" 2>/dev/null && [ "$tries" -gt 0 ]; do
			if [ "$(awk '/^State:/ {print $2}' "/proc/$pid/status" 2>/dev/null)" = Z ]; then
				break
			fi
			sleep 0.05
			tries=$((tries - 1))
		done
		if [ "$tries" -eq 0 ]; then
			echo "stop_all: pid $pid ($(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)) did not exit in 10 s:" \
				"$(grep -E '^(State|TracerPid)' "/proc/$pid/status" 2>/dev/null | tr '\n\t' '  '); killed" >&2
			kill -KILL "$pid" 2>/dev/null
		fi
		wait "$pid" 2>/dev/null
	done
	PIDS=""
}

# cleanup: stop_all, then removes WORK.
cleanup() {
	stop_all
	[ -n "${WORK:-}" ] && rm -rf "$WORK"
}

# stop_pid PID: kills PID (one this shell started) and waits for it to end.
stop_pid() {
	kill "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

# spawn CMD...: runs CMD in the background and remembers it for cleanup; $! is its pid.
spawn() {
	"$@" &
	PIDS="$PIDS $!"
}

# wait_for FILE PATTERN [SECONDS]: waits until a line of FILE matches the grep
# pattern, polling every 50 ms, for at most SECONDS (default 15). Returns 1 on time-out.
wait_for() {
	local file=$1 pattern=$2 tries=$(( ${3:-15} * 20 ))
	while [ "$tries" -gt 0 ]; do
		grep -q -- "$pattern" "$file" 2>/dev/null && return 0
		sleep 0.05
		tries=$((tries - 1))
	done
	echo "timed out waiting for '$pattern' in $file:" >&2
	sed 's/^/    /' "$file" >&2 2>/dev/null
	return 1
}

# start_server LOG [ARGS...]: starts p2pchatd on a free loopback port (or ARGS' -p),
# waits for its "listening on" line and sets SERVER_PID and SERVER_PORT.
start_server() {
	local log=$1
	shift
	# Emptied here, not by the background process's redirection: a wait_for that ran before
	# that would read an earlier server's lines.
	: >"$log"
	# 3>&-: a test may hold a FIFO open on fd 3; the server must not keep it open too.
	# --state-dir: the server's key (server.key) in WORK, the same for every server a test
	# starts (a restarted server keeps its key, as a real one does), never in your HOME.
	spawn "$BIN/p2pchatd" -b 127.0.0.1 -p 0 --state-dir "$WORK/p2pchatd" "$@" 2>"$log" 3>&-
	SERVER_PID=$!
	wait_for "$log" "listening on" 10 || return 1
	SERVER_PORT=$(sed -n 's/.*listening on .*:\([0-9][0-9]*\)$/\1/p' "$log" | head -n 1)
	[ -n "$SERVER_PORT" ] || { echo "  no port in the server's 'listening on' line" >&2; return 1; }
}

# wait_for_count FILE PATTERN N SECONDS: waits until PATTERN matches N lines of FILE.
wait_for_count() {
	local tries=$(( $4 * 20 ))
	while [ "$tries" -gt 0 ]; do
		[ "$(grep -c -- "$2" "$1" 2>/dev/null)" -ge "$3" ] && return 0
		sleep 0.05
		tries=$((tries - 1))
	done
	echo "  timed out waiting for $3 lines of '$2' in $(basename "$1")" >&2
	return 1
}

# names_on_server N: waits until p2pchatd --stats says N names are registered.
names_on_server() {
	local tries=300
	while [ "$tries" -gt 0 ]; do
		"$BIN/p2pchatd" --stats -b 127.0.0.1 -p "$SERVER_PORT" 2>/dev/null | grep -qx "names $1" &&
			return 0
		sleep 0.05
		tries=$((tries - 1))
	done
	echo "  the server never had $1 names" >&2
	return 1
}

# expect_lines FILE PREFIX FIRST LAST: FILE has exactly "PREFIX FIRST" .. "PREFIX LAST", in order, once each.
expect_lines() {
	local file=$1 prefix=$2 first=$3 last=$4
	grep -F -- "$prefix" "$file" >"$WORK/got" || true
	seq "$first" "$last" | sed "s/^/$prefix /" >"$WORK/want"
	if ! cmp -s "$WORK/got" "$WORK/want"; then
		echo "  $file: expected '$prefix $first'..'$prefix $last' in order; diff:" >&2
		diff "$WORK/want" "$WORK/got" | head -n 10 | sed 's/^/    /' >&2
		return 1
	fi
}

# fifo_client NAME ARGS...: starts `p2pchat ARGS...` in the background reading $WORK/NAME.in,
# a FIFO that fd 3 holds open for writing (a test writes its lines with >&3 and ends the
# input with exec 3>&-); stdout in $WORK/NAME.out, stderr in $WORK/NAME.err. Sets FIFO_PID.
# Not through spawn: the shell would open the FIFO itself first, and wait there for a writer.
fifo_client() {
	local name=$1
	shift
	rm -f "$WORK/$name.in"
	mkfifo "$WORK/$name.in"
	: >"$WORK/$name.out" # now, not in the background: see start_server
	"$BIN/p2pchat" "$@" <"$WORK/$name.in" >"$WORK/$name.out" 2>"$WORK/$name.err" &
	FIFO_PID=$!
	PIDS="$PIDS $FIFO_PID"
	exec 3>"$WORK/$name.in"
}

# send_numbered PREFIX N: "PREFIX 1" .. "PREFIX N", a line each, to the fifo client (fd 3).
send_numbered() {
	seq 1 "$2" | sed "s/^/$1 /" >&3
}

# say_numbered FROM PREFIX N OUT: send_numbered for the fifo client FROM, then waits until
# OUT shows the last line as FROM's ("<FROM> PREFIX N").
say_numbered() {
	send_numbered "$2" "$3"
	wait_for "$4" "<$1> $2 $3"
}

# end_numbered FROM PID N OUT PREFIX...: ends the fifo client FROM's input (fd 3), waits for
# its PID to exit 0, and checks that OUT has "<FROM> PREFIX 1" .. "<FROM> PREFIX N" of each
# PREFIX, in order, once each.
end_numbered() {
	local from=$1 pid=$2 n=$3 out=$4 prefix
	shift 4
	exec 3>&-
	wait "$pid" || { echo "  $from exited $?" >&2; return 1; }
	for prefix in "$@"; do
		expect_lines "$out" "<$from> $prefix" 1 "$n" || return 1
	done
}
