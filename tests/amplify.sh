#!/usr/bin/env bash
# tests/amplify.sh - no answer from p2pchatd to an address that never proved itself is larger than its request.
# Usage: BIN=build bash tests/amplify.sh   (make amplify does this; needs $BIN/tests/amplify)
# Everything goes to 127.0.0.0/8, to a server on a port the kernel picks.
#
# tests/amplify.c sends every request the server knows from a socket that
# never echoed a cookie (what a forged source address is to the server) and
# prints what came back; this script judges it. STATS is left out of the
# ratio on purpose: the server answers it only to loopback (a source that
# cannot be forged from another host), and loopback is all a test may use.
. "$(dirname "$0")/lib.sh"
lib_setup 'exit 1'

# value KEY: the word after KEY in amplify's "key value" lines (empty if none).
value() {
	awk -v k="$1" '$1 == k { print $2; exit }' "$WORK/amplify.out"
}

# want KEY EXPECTED: amplify's KEY is EXPECTED, or says what it was.
want() {
	[ "$(value "$1")" = "$2" ] && return 0
	echo "  $1: $(value "$1"), want $2" >&2
	return 1
}

test_run() {
	"$BIN/tests/amplify" "$SERVER_PORT" >"$WORK/amplify.out" 2>"$WORK/amplify.err"
	local rc=$?
	# The tables, for the log and the README.
	sed -n '1,/^stun_request /p' "$WORK/amplify.out" | grep -v '^stun_request ' | sed 's/^/  /'
	[ "$rc" -eq 0 ] && grep -qx done "$WORK/amplify.out" && return 0
	echo "  amplify exited $rc:" >&2
	cat "$WORK/amplify.err" >&2
	return 1
}

test_ratio() {
	local milli
	milli=$(value max_ratio_milli)
	echo "  largest answer/request: $(sed -n 's/^max_ratio //p' "$WORK/amplify.out")"
	[ -n "$milli" ] && [ "$milli" -le 1000 ] && return 0
	echo "  an answer larger than its request went to an address nobody proved" >&2
	return 1
}

# Only ERROR and COOKIE may reach V: a PEER, WHO_REPLY, RELAYED or REGISTERED
# would mean a request with A's token was served from V's address.
test_only_refusals() {
	want unexpected 0 && want late 0
}

test_no_spoofed_names() {
	want spoof_registered 0
}

test_names_stay() {
	want a_moved 0 && want a_lookup_ok 1
}

test_stun_minimal() {
	want stun_request 20 && want stun_answer 32 && want stun_answers 1 &&
		want stun_attrs XOR-MAPPED-ADDRESS && want stun_type_ok 1 && want stun_mapped_ok 1
}

test_stun_limited() {
	local sent got least most limited
	sent=$(value stun_burst_sent) got=$(value stun_burst_answered)
	least=$(value stun_burst_least) most=$(value stun_burst_most)
	limited=$(value stun_burst_limited)
	echo "  $sent Binding requests in $(value stun_burst_ms) ms: $got answered, $limited limited"
	[ -n "$got" ] && [ "$got" -ge "$least" ] && [ "$got" -le "$most" ] ||
		{ echo "  answered $got, want $least..$most" >&2; return 1; }
	[ "$limited" = $((sent - got)) ] ||
		{ echo "  limited_stun moved by $limited, want $((sent - got))" >&2; return 1; }
}

test_stun_other_source() {
	want stun_other_answered 1
}

test_server_clean() {
	want dropped_amplifying 0 || return 1
	if grep -q 'error' "$WORK/server.err"; then
		echo "  p2pchatd logged errors:" >&2
		grep 'error' "$WORK/server.err" | head -n 5 >&2
		return 1
	fi
}

# Default limits; --allow-who so WHO reaches the address check instead of PROTO_E_WHO_OFF.
start_server "$WORK/server.err" --allow-who ||
	{ echo "FAIL the server did not start"; cat "$WORK/server.err"; exit 1; }

check "every request from an unproven address sent and its answers read" test_run
check "no answer to an unproven address is larger than its request" test_ratio
check "the unproven address got only ERROR and COOKIE, never a PEER, WHO_REPLY or RELAYED" test_only_refusals
check "a REGISTER from an unproven address never registered a name" test_no_spoofed_names
check "REGISTER and REFRESH with A's token from elsewhere left A's names at A" test_names_stay
check "a STUN Binding answer is 32 bytes for 20, XOR-MAPPED-ADDRESS alone" test_stun_minimal
check "a burst of STUN requests from one source got its burst and no more" test_stun_limited
check "another source's STUN request is answered right after" test_stun_other_source
check "the server's last check never fired, and it logged no error" test_server_clean

summary amplify
