#!/usr/bin/env bash
# tests/faults.sh - faults on loopback: a peer killed, a client paused past its TTL, a full table.
# Usage: BIN=build bash tests/faults.sh   (make faults does this)
. "$(dirname "$0")/lib.sh"
lib_setup
export XDG_STATE_HOME=$WORK/state

# Each test has a server of its own: stop everything it started; the scratch directory stays.
after_check() {
	exec 3>&-
	for pid in $PIDS; do
		kill -CONT "$pid" 2>/dev/null # a stopped process would not see the TERM
	done
	stop_all
}

# feed NAME ARGS...: starts p2pchat ARGS with stdin from the FIFO $WORK/NAME.in,
# held open on fd 3 so the test can type with `echo ... >&3`; sets FED_PID.
feed() {
	local name=$1
	shift
	fifo_client "$name" -s "127.0.0.1:$SERVER_PORT" "$@"
	FED_PID=$FIFO_PID
}

# stay NAME ARGS...: starts a --stay p2pchat ARGS with no input; sets STAY_PID.
stay() {
	local name=$1
	shift
	: >"$WORK/$name.out"
	"$BIN/p2pchat" -s "127.0.0.1:$SERVER_PORT" --stay "$@" </dev/null \
		>"$WORK/$name.out" 2>"$WORK/$name.err" 3>&- &
	STAY_PID=$!
	PIDS="$PIDS $STAY_PID"
}

# A peer killed with SIGKILL: the other side says it is offline within three
# keepalive intervals, and reports every message it could not deliver.
test_peer_killed() {
	local alice rc
	start_server "$WORK/server.err" || return 1
	stay bob -k 2 bob
	wait_for "$WORK/bob.out" "registered as bob" || return 1
	feed alice -k 2 -w 3 alice bob
	alice=$FED_PID
	echo "one" >&3
	wait_for "$WORK/bob.out" "<alice> one" || return 1
	kill -KILL "$STAY_PID"
	echo "two" >&3
	echo "three" >&3
	# Three keepalive intervals of 2 s: the deadline the issue sets.
	wait_for "$WORK/alice.out" "^\* bob is offline$" 6 || return 1
	exec 3>&-
	wait "$alice"; rc=$?
	[ "$rc" -eq 1 ] || { echo "  alice exited $rc, want 1 (two lines undelivered)" >&2; return 1; }
	[ "$(grep -c '^\* not delivered to bob: "t[a-z]*": ' "$WORK/alice.out")" -eq 2 ] || {
		echo "  want 2 'not delivered' lines:" >&2; cat "$WORK/alice.out" >&2; return 1; }
}

# A second instance of ann (her token: the same state directory) starts while she chats with ben:
# the newer one holds the name; the server tells the first at once, which reports what it could
# not deliver and exits 1 (issue 13; before, its lines were dropped at ben in silence, for ever).
test_second_instance() {
	local ann rc
	start_server "$WORK/server.err" || return 1
	stay ben ben
	wait_for "$WORK/ben.out" "registered as ben" || return 1
	feed ann ann ben
	ann=$FED_PID
	echo "first" >&3
	wait_for "$WORK/ben.out" "<ann> first" || return 1
	echo "dup instance" | "$BIN/p2pchat" -s "127.0.0.1:$SERVER_PORT" ann ben >"$WORK/dup.out" 2>&1 ||
		{ echo "  the second instance exited $?" >&2; cat "$WORK/dup.out" >&2; return 1; }
	wait_for "$WORK/ben.out" "<ann> dup instance" 5 || return 1
	wait_for "$WORK/ann.out" "^\* another instance of ann took the name$" 5 || return 1
	exec 3>&-
	wait "$ann"; rc=$?
	[ "$rc" -eq 1 ] || { echo "  the first instance exited $rc, want 1" >&2; return 1; }
}

# A full table: new names are refused clearly; the names already there go on working.
test_table_full() {
	local rc
	start_server "$WORK/server.err" -n 2 || return 1
	stay bob bob
	wait_for "$WORK/bob.out" "registered as bob" || return 1
	feed alice alice bob
	wait_for "$WORK/alice.out" "connected to bob" || return 1
	echo "hi bob" | "$BIN/p2pchat" -s "127.0.0.1:$SERVER_PORT" carol bob >"$WORK/carol.out" 2>&1; rc=$?
	[ "$rc" -eq 1 ] || { echo "  carol exited $rc, want 1" >&2; return 1; }
	grep -q '^\* the server is full' "$WORK/carol.out" || { cat "$WORK/carol.out" >&2; return 1; }
	echo "still here" >&3
	wait_for "$WORK/bob.out" "<alice> still here" 5
}

# A client paused (SIGSTOP) longer than its registration's TTL: when it resumes it
# registers again, reconnects, and the lines typed meanwhile arrive, in order.
test_paused_past_ttl() {
	local alice
	start_server "$WORK/server.err" -t 3 || return 1
	stay bob -k 1 bob
	wait_for "$WORK/bob.out" "registered as bob" || return 1
	feed alice --stay -k 1 -w 20 alice bob
	alice=$FED_PID
	echo "before" >&3
	wait_for "$WORK/bob.out" "<alice> before" || return 1
	kill -STOP "$alice" || { echo "  alice is gone:" >&2; cat "$WORK/alice.out" "$WORK/alice.err" >&2; return 1; }
	names_on_server 1 || return 1         # alice's registration expired
	wait_for "$WORK/bob.out" "^\* alice is offline$" || return 1
	seq 1 5 | sed 's/^/meanwhile /' >&3   # typed while alice is stopped
	kill -CONT "$alice"
	names_on_server 2 || return 1         # alice registered again
	wait_for "$WORK/bob.out" "<alice> meanwhile 5" || return 1
	grep '^<alice> meanwhile' "$WORK/bob.out" >"$WORK/got"
	seq 1 5 | sed 's/^/<alice> meanwhile /' | cmp -s - "$WORK/got" ||
		{ echo "  lines typed meanwhile:" >&2; cat "$WORK/got" >&2; return 1; }
}

check "a killed peer is reported offline, its messages undelivered" test_peer_killed
check "a client paused past its TTL registers again, and nothing is lost" test_paused_past_ttl
check "a full table refuses new names, keeps the others" test_table_full
check "a second instance takes the name; the first is told and exits 1" test_second_instance

summary faults
