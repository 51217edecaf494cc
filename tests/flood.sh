#!/usr/bin/env bash
# tests/flood.sh - p2pchatd under floods (garbage; a proven client over its limits) while real clients chat.
# Usage: BIN=build bash tests/flood.sh   (make flood does this; needs $BIN/tests/flood)
# Everything goes to 127.0.0.0/8, to servers on ports the kernel picks.
. "$(dirname "$0")/lib.sh"
lib_setup 'exit 1'
FLOOD_COUNT=${FLOOD_COUNT:-20000}
# The proven flood's cap on names from one address. Not the default 64: at the default REGISTER
# rate (2/s after a burst of 20) one address needs 22 s to reach 64 names; 16 is reached within
# the burst, so the cap shows at once, and every rate stays at its default.
FLOOD_NAMES=${FLOOD_NAMES:-16}
# The proven flood goes as fast as it can: the flood's loop sends at most ~60000 a second.
FLOOD_PROVEN_RATE=${FLOOD_PROVEN_RATE:-1000000}

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

# chat_through_flood TAG FLOOD_ARGS...: the flood starts ($WORK/TAG.flood.out), bob registers,
# alice looks him up and sends 100 lines; the flood goes on until alice is done (flood -u holds
# until its stdin closes), then sends what is left of its count.
chat_through_flood() {
	local tag=$1 flood
	shift
	mkfifo "$WORK/$tag.in"
	# Not through spawn: the FIFO must be opened by the child, or this shell would block on it.
	"$BIN/tests/flood" -u -n "$FLOOD_COUNT" "$@" "$SERVER_PORT" <"$WORK/$tag.in" \
		>"$WORK/$tag.flood.out" 2>"$WORK/$tag.flood.err" 3>&- &
	flood=$!
	PIDS="$PIDS $flood"
	exec 3>"$WORK/$tag.in"
	wait_for "$WORK/$tag.flood.out" "^flooding" 10 ||
		{ exec 3>&-; cat "$WORK/$tag.flood.err" >&2; return 1; }

	ALICE_RC=1
	spawn "$BIN/p2pchat" -s "127.0.0.1:$SERVER_PORT" --stay bob </dev/null \
		>"$WORK/bob.$tag.out" 2>"$WORK/bob.$tag.err" 3>&-
	if wait_for "$WORK/bob.$tag.out" "registered as bob"; then
		seq 1 100 | sed 's/^/line /' | "$BIN/p2pchat" -s "127.0.0.1:$SERVER_PORT" alice bob \
			>"$WORK/alice.$tag.out" 2>"$WORK/alice.$tag.err" 3>&-
		ALICE_RC=$?
		# Still flooding when alice is done: the chat happened under fire.
		kill -0 "$flood" 2>/dev/null ||
			{ echo "  the flood ended before the chat did" >&2; ALICE_RC=1; }
	fi
	# Done or failed, the flood sends the rest of its count and reports.
	exec 3>&-
	if ! wait "$flood"; then
		echo "  flood failed:" >&2
		cat "$WORK/$tag.flood.err" "$WORK/$tag.flood.out" >&2
		return 1
	fi
	[ "$ALICE_RC" -eq 0 ] && return 0
	echo "  alice exited $ALICE_RC" >&2
	cat "$WORK/alice.$tag.out" >&2
	return 1
}

# all_lines_arrived TAG: bob got alice's 100 lines, in order.
all_lines_arrived() {
	grep -F '<alice> line' "$WORK/bob.$1.out" >"$WORK/got"
	seq 1 100 | sed 's/^/<alice> line /' >"$WORK/want"
	cmp -s "$WORK/got" "$WORK/want" && return 0
	echo "  bob's lines differ from 'line 1'..'line 100':" >&2
	diff "$WORK/want" "$WORK/got" | head -n 10 | sed 's/^/    /' >&2
	return 1
}

# server_stats: the running server's counters into $WORK/stats.
server_stats() {
	kill -0 "$SERVER_PID" 2>/dev/null || { echo "  p2pchatd is gone" >&2; return 1; }
	"$BIN/p2pchatd" --stats -b 127.0.0.1 -p "$SERVER_PORT" >"$WORK/stats" 2>"$WORK/stats.err" ||
		{ echo "  p2pchatd --stats failed:" >&2; cat "$WORK/stats.err" >&2; return 1; }
}

# no_errors_logged LOG
no_errors_logged() {
	if grep -q 'error' "$1"; then
		echo "  p2pchatd logged errors:" >&2
		grep 'error' "$1" | head -n 5 >&2
		return 1
	fi
}

# --- 1. Garbage from the clients' own address, 127.0.0.1 ---

test_garbage_chat() {
	chat_through_flood garbage || return 1
	figures "  flood:" "$WORK/garbage.flood.out" sent ms expect_malformed expect_wrong_direction \
		expect_version expect_cookie expect_refused expect_stats expect_stun_binding \
		expect_stun_dropped answers
}

test_server_alive() {
	server_stats || return 1
	figures "  server:" "$WORK/stats" received names registrations introductions refused \
		cookies_sent stun_answered limited_stun dropped_malformed dropped_wrong_direction \
		dropped_stun
}

# Only alice and bob hold names: no garbage REGISTER (each with a cookie drawn at random)
# registered one.
test_no_garbage_names() {
	local names
	names=$(value "$WORK/stats" names)
	[ "$names" = 2 ] || { echo "  names held: ${names:-?}, want 2 (alice, bob)" >&2; return 1; }
}

# The server saw the garbage and counted every piece where it belongs. Real
# clients send nothing malformed, so no count may exceed what the flood sent
# of its kind; the kernel may drop a few datagrams on a loaded machine, so
# at least 90% of each must have arrived. The clients' own cookie round trips
# add a COOKIE each (two, or a few more if a REGISTER is sent again).
test_garbage_counted() {
	local f=$WORK/garbage.flood.out s=$WORK/stats ok=0 key want got
	at_least "$(value "$s" received)" $(( $(value "$f" sent) * 9 / 10 )) "datagrams received" || ok=1
	for key in malformed wrong_direction stun; do
		want=$(value "$f" "expect_$key")
		[ "$key" = stun ] && want=$(value "$f" expect_stun_dropped)
		got=$(value "$s" "dropped_$key")
		at_most "$got" "$want" "dropped_$key" || ok=1
		at_least "$got" $(( want * 9 / 10 )) "dropped_$key" || ok=1
	done
	# ERROR answers: a version ERROR for each long enough datagram of another version, and
	# PROTO_E_UNKNOWN (or WHO_OFF) for each request from a name nobody registered.
	want=$(( $(value "$f" expect_version) + $(value "$f" expect_refused) ))
	got=$(value "$s" refused)
	at_most "$got" "$want" "ERROR answers" || ok=1
	at_least "$got" $(( want * 9 / 10 )) "ERROR answers" || ok=1
	want=$(value "$f" expect_cookie)
	got=$(value "$s" cookies_sent)
	at_most "$got" $(( want + 8 )) "COOKIE answers" || ok=1
	at_least "$got" $(( want * 9 / 10 )) "COOKIE answers" || ok=1
	# A Binding request is answered or, over the source's STUN rate, dropped and counted.
	want=$(value "$f" expect_stun_binding)
	got=$(( $(value "$s" stun_answered) + $(value "$s" limited_stun) ))
	at_most "$got" "$want" "STUN Binding requests answered or limited" || ok=1
	at_least "$got" $(( want * 9 / 10 )) "STUN Binding requests answered or limited" || ok=1
	return $ok
}

# The flood's STUN Binding requests got the source's burst and then its rate, no more: the
# flood's own duration bounds the time the server had to refill (default_stun is RATE/BURST).
test_garbage_stun_limited() {
	local f=$WORK/garbage.flood.out limit rate burst most
	limit=$(value "$f" default_stun)
	rate=${limit%/*} burst=${limit#*/}
	most=$(( burst + (rate * $(value "$f" ms) + 999) / 1000 ))
	at_most "$(value "$WORK/stats" stun_answered)" "$most" "STUN answers in $(value "$f" ms) ms" &&
		at_least "$(value "$WORK/stats" limited_stun)" 1 "STUN requests limited"
}

# Garbage cannot spend a budget: REGISTER and REFRESH are charged only with the right cookie,
# LOOKUP, WHO and RELAY only from a name's own address. So the clients, who share the
# garbage's address, were never limited; and no answer outgrew its request.
test_garbage_spent_no_budget() {
	local key ok=0
	for key in limited_register limited_lookup limited_relay dropped_amplifying; do
		[ "$(value "$WORK/stats" $key)" = 0 ] ||
			{ echo "  $key: $(value "$WORK/stats" $key), want 0" >&2; ok=1; }
	done
	return $ok
}

# --- 2. A client that proves its address, from 127.0.0.2, far over its limits ---

test_proven_chat() {
	chat_through_flood proven -p -b 127.0.0.2 -r "$FLOOD_PROVEN_RATE" || return 1
	figures "  flood:" "$WORK/proven.flood.out" sent ms sent_register answered_register \
		sent_lookup answered_lookup sent_relay answered_relay registered too_many_names
}

# Each budget stopped the flooder, and never more often than it went unanswered: a request
# limited is a request dropped (for RELAY, the per-name --relay-rate drops some first).
test_proven_limited() {
	local f=$WORK/proven.flood.out s=$WORK/stats ok=0 kind limited
	server_stats || return 1
	figures "  server:" "$s" received names registrations introductions relayed relay_over_rate \
		dropped_over_limit limited_register limited_lookup limited_relay limit_shared
	for kind in register lookup relay; do
		limited=$(value "$s" limited_$kind)
		at_least "$limited" 1 "limited_$kind" || ok=1
		[ "$kind" = relay ] && limited=$(( limited + $(value "$s" relay_over_rate) ))
		at_most "$limited" "$(value "$f" unanswered_$kind)" "$kind requests limited" || ok=1
	done
	return $ok
}

# 127.0.0.2 holds exactly FLOOD_NAMES names; the registrations past them were refused.
test_proven_names_capped() {
	local f=$WORK/proven.flood.out ok=0
	[ "$(value "$f" registered)" = "$FLOOD_NAMES" ] ||
		{ echo "  flooder's names: $(value "$f" registered), want $FLOOD_NAMES" >&2; ok=1; }
	[ "$(value "$WORK/stats" names)" = $((FLOOD_NAMES + 2)) ] ||
		{ echo "  names held: $(value "$WORK/stats" names), want $((FLOOD_NAMES + 2))" >&2; ok=1; }
	at_least "$(value "$f" too_many_names)" 1 "ERROR too-many-names answers" || ok=1
	return $ok
}

# Every "over its address's ... limit" the server logged (-v) was the flooder's, none the clients'.
test_clients_never_limited() {
	local log=$WORK/server.proven.err mine theirs counted
	mine=$(grep -c "from 127\.0\.0\.1:[0-9]*: over its address's" "$log")
	theirs=$(grep -c "from 127\.0\.0\.2:[0-9]*: over its address's" "$log")
	[ "$mine" = 0 ] || { echo "  the clients (127.0.0.1) were limited $mine times" >&2; return 1; }
	counted=$(value "$WORK/stats" dropped_over_limit)
	[ "$theirs" = "$counted" ] ||
		{ echo "  $theirs over-limit drops logged for 127.0.0.2, $counted counted" >&2; return 1; }
}

start_server "$WORK/server.err" ||
	{ echo "FAIL the server did not start"; cat "$WORK/server.err"; exit 1; }

check "real clients chat through $FLOOD_COUNT garbage datagrams from their own address" test_garbage_chat
check "all 100 lines arrived, in order" all_lines_arrived garbage
check "the server is still up and answers" test_server_alive
check "no name was registered by garbage" test_no_garbage_names
check "every garbage datagram was answered or dropped as predicted, and counted" test_garbage_counted
check "the garbage's STUN requests got the source's STUN rate, no more" test_garbage_stun_limited
check "garbage spent none of the clients' budgets" test_garbage_spent_no_budget
check "the server logged no error" no_errors_logged "$WORK/server.err"

# A second server, default limits but the names cap, logging every drop (-v) to tell sources apart.
start_server "$WORK/server.proven.err" -v --limit "names=$FLOOD_NAMES" ||
	{ echo "FAIL the second server did not start"; cat "$WORK/server.proven.err"; exit 1; }

check "real clients chat through a flood of valid requests from 127.0.0.2" test_proven_chat
check "all 100 lines arrived, in order" all_lines_arrived proven
check "the flooder was limited in registrations, lookups and relayed bytes" test_proven_limited
check "the flooder's names were capped at $FLOOD_NAMES" test_proven_names_capped
check "the real clients, on 127.0.0.1, were never limited" test_clients_never_limited
check "the server logged no error" no_errors_logged "$WORK/server.proven.err"

summary flood
