#!/usr/bin/env bash
# tests/flood.sh - p2pchatd under a flood of garbage datagrams while real clients register, look up and chat.
# Usage: BIN=build bash tests/flood.sh   (make flood does this; needs $BIN/tests/flood)
# Everything goes to 127.0.0.1, to a server on a port the kernel picks.
set -u
BIN=${BIN:-build}
FLOOD_COUNT=${FLOOD_COUNT:-20000}
TOP=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d)
. "$TOP/tests/lib.sh"
trap cleanup EXIT
trap 'exit 1' INT TERM

export XDG_STATE_HOME=$WORK/state

# value FILE KEY: the number after KEY in a file of "key value" lines (empty if none).
value() {
	awk -v k="$2" '$1 == k { print $2; exit }' "$1"
}

# figures PREFIX FILE KEY...: prints "PREFIX key value, key value, ..." on one line, for the figures.
figures() {
	local prefix=$1 file=$2 line="" key
	shift 2
	for key in "$@"; do
		line="$line${line:+, }$key $(value "$file" "$key")"
	done
	echo "$prefix $line"
}

# at_least GOT WANT WHAT: GOT >= WANT, or says what fell short.
at_least() {
	[ -n "$1" ] && [ "$1" -ge "$2" ] && return 0
	echo "  $3: ${1:-nothing}, want at least $2" >&2
	return 1
}

# at_most GOT WANT WHAT: GOT <= WANT, or says what went over.
at_most() {
	[ -n "$1" ] && [ "$1" -le "$2" ] && return 0
	echo "  $3: ${1:-nothing}, want at most $2" >&2
	return 1
}

# The scenario: the flood starts, bob registers, alice looks him up and sends
# 100 lines; the flood goes on until alice is done (flood -u holds until its
# stdin closes), then sends what is left of its count.
chat_through_flood() {
	local flood
	mkfifo "$WORK/flood.in"
	# Not through spawn: the FIFO must be opened by the child, or this shell would block on it.
	"$BIN/tests/flood" -u -n "$FLOOD_COUNT" "$SERVER_PORT" <"$WORK/flood.in" \
		>"$WORK/flood.out" 2>"$WORK/flood.err" 3>&- &
	flood=$!
	PIDS="$PIDS $flood"
	exec 3>"$WORK/flood.in"
	wait_for "$WORK/flood.out" "^flooding" 10 || return 1

	spawn "$BIN/p2pchat" -s "127.0.0.1:$SERVER_PORT" --stay bob </dev/null \
		>"$WORK/bob.out" 2>"$WORK/bob.err" 3>&-
	wait_for "$WORK/bob.out" "registered as bob" || return 1
	seq 1 100 | sed 's/^/line /' | "$BIN/p2pchat" -s "127.0.0.1:$SERVER_PORT" alice bob \
		>"$WORK/alice.out" 2>"$WORK/alice.err" 3>&-
	ALICE_RC=$?
	# Still flooding when alice is done: the chat happened under fire.
	kill -0 "$flood" 2>/dev/null || { echo "  the flood ended before the chat did" >&2; return 1; }
	exec 3>&-
	wait "$flood" || { echo "  flood failed:" >&2; cat "$WORK/flood.err" "$WORK/flood.out" >&2; return 1; }
	figures "  flood:" "$WORK/flood.out" sent ms expect_malformed expect_wrong_direction \
		expect_version expect_request expect_stun_answered expect_stun_dropped answers
	[ "$ALICE_RC" -eq 0 ] || { echo "  alice exited $ALICE_RC" >&2; cat "$WORK/alice.out" >&2; return 1; }
}

test_all_lines_arrived() {
	grep -F '<alice> line' "$WORK/bob.out" >"$WORK/got"
	seq 1 100 | sed 's/^/<alice> line /' >"$WORK/want"
	cmp -s "$WORK/got" "$WORK/want" && return 0
	echo "  bob's lines differ from 'line 1'..'line 100':" >&2
	diff "$WORK/want" "$WORK/got" | head -n 10 | sed 's/^/    /' >&2
	return 1
}

test_server_alive() {
	kill -0 "$SERVER_PID" 2>/dev/null || { echo "  p2pchatd is gone" >&2; cat "$WORK/server.err" >&2; return 1; }
	"$BIN/p2pchatd" --stats -b 127.0.0.1 -p "$SERVER_PORT" >"$WORK/stats" 2>"$WORK/stats.err" ||
		{ echo "  p2pchatd --stats failed:" >&2; cat "$WORK/stats.err" >&2; return 1; }
	figures "  server:" "$WORK/stats" received names registrations introductions refused \
		stun_answered dropped_malformed dropped_wrong_direction dropped_stun
}

# Only alice and bob hold names: no garbage datagram registered one.
test_no_garbage_names() {
	local names
	names=$(value "$WORK/stats" names)
	[ "$names" = 2 ] || { echo "  names held: ${names:-?}, want 2 (alice, bob)" >&2; return 1; }
}

# The server saw the garbage and counted every piece where it belongs. Real
# clients send nothing malformed, so no count may exceed what the flood sent
# of its kind; the kernel may drop a few datagrams on a loaded machine, so
# at least 90% of each must have arrived.
test_garbage_counted() {
	local f=$WORK/flood.out s=$WORK/stats ok=0 key want got
	at_least "$(value "$s" received)" $(( $(value "$f" sent) * 9 / 10 )) "datagrams received" || ok=1
	for key in malformed wrong_direction stun; do
		if [ "$key" = stun ]; then want=$(value "$f" expect_stun_dropped); else want=$(value "$f" "expect_$key"); fi
		got=$(value "$s" "dropped_$key")
		at_most "$got" "$want" "dropped_$key" || ok=1
		at_least "$got" $(( want * 9 / 10 )) "dropped_$key" || ok=1
	done
	want=$(value "$f" expect_stun_answered)
	at_least "$(value "$s" stun_answered)" $(( want * 9 / 10 )) "STUN Binding requests answered" || ok=1
	return $ok
}

test_no_errors_logged() {
	if grep -q 'error' "$WORK/server.err"; then
		echo "  p2pchatd logged errors:" >&2
		grep 'error' "$WORK/server.err" | head -n 5 >&2
		return 1
	fi
}

start_server "$WORK/server.err" || { echo "FAIL the server did not start"; cat "$WORK/server.err"; exit 1; }

check "real clients chat through $FLOOD_COUNT garbage datagrams" chat_through_flood
check "all 100 lines arrived, in order" test_all_lines_arrived
check "the server is still up and answers" test_server_alive
check "no name was registered by garbage" test_no_garbage_names
check "every garbage datagram was dropped and counted" test_garbage_counted
check "the server logged no error" test_no_errors_logged

summary flood
