#!/usr/bin/env bash
# tests/servers.sh - several rendezvous servers on loopback: one dies mid-chat and comes back; two disagree on a key.
# Usage: BIN=build bash tests/servers.sh   (make servers does this)
# Every server binds 127.0.0.1 on a port the kernel picks; nothing leaves this machine.
. "$(dirname "$0")/lib.sh"
lib_setup

export XDG_STATE_HOME=$WORK/state

# Stops what a test left running, servers included: each test starts its own two.
after_check() {
	exec 3>&-
	stop_all
}

# two_servers: starts two p2pchatd, each with its own key (--state-dir) and a 3 s TTL, so
# that clients refresh every second and a dead one is noticed within seconds.
# Sets P1, PID1 (kept in $WORK/s1) and P2, PID2 (in $WORK/s2).
two_servers() {
	start_server "$WORK/s1.err" -t 3 --state-dir "$WORK/s1" || return 1
	P1=$SERVER_PORT PID1=$SERVER_PID
	start_server "$WORK/s2.err" -t 3 --state-dir "$WORK/s2" || return 1
	P2=$SERVER_PORT PID2=$SERVER_PID
	[ "$(cat "$WORK/s1/server.key" 2>/dev/null)" != "$(cat "$WORK/s2/server.key" 2>/dev/null)" ] ||
		{ echo "  the two servers have one key" >&2; return 1; }
}

# Options: -s given twice and $P2PCHAT_SERVER as a list register with both; too many servers,
# or more keys than servers, are usage errors.
test_options() {
	local rc
	two_servers || return 1
	P2PCHAT_SERVER="127.0.0.1:$P1, 127.0.0.1:$P2" "$BIN/p2pchat" erin </dev/null >"$WORK/erin.out" 2>&1 ||
		{ cat "$WORK/erin.out" >&2; return 1; }
	grep -qx "\* registered as erin with 127.0.0.1:$P1 (public 127.0.0.1:[0-9]*)" "$WORK/erin.out" &&
		grep -qx "\* registered as erin with 127.0.0.1:$P2 (public 127.0.0.1:[0-9]*)" "$WORK/erin.out" ||
		{ echo "  \$P2PCHAT_SERVER as a list: not registered with both" >&2; cat "$WORK/erin.out" >&2; return 1; }
	"$BIN/p2pchat" -s "127.0.0.1:$P1" -s "127.0.0.1:$P2" erin </dev/null >"$WORK/erin.out" 2>&1 ||
		{ cat "$WORK/erin.out" >&2; return 1; }
	[ "$(grep -c "^\* registered as erin with" "$WORK/erin.out")" -eq 2 ] ||
		{ echo "  -s twice: not registered with both" >&2; cat "$WORK/erin.out" >&2; return 1; }
	# One server: the line it always had.
	"$BIN/p2pchat" -s "127.0.0.1:$P1" erin </dev/null >"$WORK/erin.out" 2>&1 || return 1
	grep -qx "\* registered as erin (public 127.0.0.1:[0-9]*)" "$WORK/erin.out" ||
		{ echo "  one server: the registered line changed" >&2; cat "$WORK/erin.out" >&2; return 1; }
	"$BIN/p2pchat" -s a:1 -s b:1 -s c:1 -s d:1 -s e:1 erin </dev/null >/dev/null 2>"$WORK/err"; rc=$?
	[ $rc -eq 2 ] && grep -q "at most 4 servers" "$WORK/err" || { echo "  five -s: exit $rc" >&2; return 1; }
	P2PCHAT_SERVER="a:1 b:1,c:1 d:1 e:1" "$BIN/p2pchat" erin </dev/null >/dev/null 2>"$WORK/err"; rc=$?
	[ $rc -eq 2 ] && grep -q "at most 4 servers" "$WORK/err" || { echo "  five in \$P2PCHAT_SERVER: exit $rc" >&2; return 1; }
	"$BIN/p2pchat" -s "127.0.0.1:$P1" --server-key "$(printf '%064d' 1)" --server-key "$(printf '%064d' 2)" \
		erin </dev/null >/dev/null 2>"$WORK/err"; rc=$?
	[ $rc -eq 2 ] && grep -q "given 2 times for 1 servers" "$WORK/err" || { echo "  two keys, one server: exit $rc" >&2; return 1; }
	"$BIN/p2pchat" -s "127.0.0.1:$P1" -s "127.0.0.1:$P1" erin </dev/null >/dev/null 2>"$WORK/err"; rc=$?
	[ $rc -eq 1 ] && grep -q "named twice" "$WORK/err" || { echo "  one server twice: exit $rc" >&2; return 1; }
}

# Two servers; alice and bob chat through... neither (a direct path), introduced by both.
# The first server dies mid-chat: the chat goes on, each client says once that it is not
# answering, and a third client reaches bob through the second. The first comes back (the
# same key): each says so once, and a client of that server alone reaches bob again.
test_one_dies_and_returns() {
	local alice both
	two_servers || return 1
	both="-s 127.0.0.1:$P1 -s 127.0.0.1:$P2"
	# shellcheck disable=SC2086
	spawn "$BIN/p2pchat" $both --stay bob </dev/null >"$WORK/bob.out" 2>"$WORK/bob.err" 3>&-
	wait_for "$WORK/bob.out" "registered as bob with 127.0.0.1:$P2" || return 1
	# shellcheck disable=SC2086
	fifo_client alice $both alice bob
	alice=$FIFO_PID
	say_numbered alice before 20 "$WORK/bob.out" || return 1

	stop_pid "$PID1"
	say_numbered alice during 20 "$WORK/bob.out" || return 1
	wait_for "$WORK/alice.out" "^\* server 127.0.0.1:$P1 is not answering; going on with the others\$" 20 || return 1
	wait_for "$WORK/bob.out" "^\* server 127.0.0.1:$P1 is not answering; going on with the others\$" 20 || return 1
	# A new LOOKUP, through the one that answers.
	# shellcheck disable=SC2086
	echo "found you" | "$BIN/p2pchat" $both carol bob >"$WORK/carol.out" 2>&1 ||
		{ echo "  carol could not reach bob:" >&2; cat "$WORK/carol.out" >&2; return 1; }
	wait_for "$WORK/bob.out" "<carol> found you" 5 || return 1

	start_server "$WORK/s1b.err" -t 3 --state-dir "$WORK/s1" -p "$P1" || return 1
	wait_for "$WORK/alice.out" "^\* server 127.0.0.1:$P1 is answering again\$" 20 || return 1
	wait_for "$WORK/bob.out" "^\* server 127.0.0.1:$P1 is answering again\$" 20 || return 1
	echo "back again" | "$BIN/p2pchat" -s "127.0.0.1:$P1" dave bob >"$WORK/dave.out" 2>&1 ||
		{ echo "  dave could not reach bob through the first server:" >&2; cat "$WORK/dave.out" >&2; return 1; }
	wait_for "$WORK/bob.out" "<dave> back again" 5 || return 1

	send_numbered after 20
	end_numbered alice "$alice" 20 "$WORK/bob.out" before during after || return 1
	for f in alice bob; do
		[ "$(grep -c "is not answering" "$WORK/$f.out")" -eq 1 ] &&
			[ "$(grep -c "is answering again" "$WORK/$f.out")" -eq 1 ] ||
			{ echo "  $f did not say each once:" >&2; cat "$WORK/$f.out" >&2; return 1; }
	done
}

# Two users called alice, each with a key of their own, one on each server: bob, a client
# of both, is told two keys for one name. He refuses her with a warning, and nothing he
# sends reaches either.
test_keys_disagree() {
	two_servers || return 1
	XDG_STATE_HOME=$WORK/alice1 spawn "$BIN/p2pchat" -s "127.0.0.1:$P1" --stay alice \
		</dev/null >"$WORK/alice1.out" 2>&1 3>&-
	XDG_STATE_HOME=$WORK/alice2 spawn "$BIN/p2pchat" -s "127.0.0.1:$P2" --stay alice \
		</dev/null >"$WORK/alice2.out" 2>&1 3>&-
	wait_for "$WORK/alice1.out" "registered as alice" || return 1
	wait_for "$WORK/alice2.out" "registered as alice" || return 1
	fifo_client bob -s "127.0.0.1:$P1" -s "127.0.0.1:$P2" --stay bob alice
	wait_for "$WORK/bob.out" "^\* WARNING: the servers at 127.0.0.1:[0-9]* and 127.0.0.1:[0-9]* give different keys for alice" 10 ||
		return 1
	echo "are you alice" >&3
	wait_for "$WORK/bob.out" "^\* not delivered to alice: \"are you alice\": the servers disagree on alice's key\$" 5 ||
		return 1
	[ "$(grep -c "WARNING: the servers at" "$WORK/bob.out")" -eq 1 ] ||
		{ echo "  the warning came more than once" >&2; cat "$WORK/bob.out" >&2; return 1; }
	! grep -q "<bob> are you alice" "$WORK/alice1.out" "$WORK/alice2.out" ||
		{ echo "  a line reached an alice" >&2; return 1; }
}

check "-s twice, \$P2PCHAT_SERVER as a list, and their usage errors" test_options
check "one server dies mid-chat and comes back" test_one_dies_and_returns
check "a peer whose key differs between servers is refused" test_keys_disagree

summary servers
