#!/usr/bin/env bash
# examples/demo.sh - a protocol demo: a rendezvous server and two scripted clients on loopback.
# Run it with `make demo`. Everything stays on 127.0.0.1; the server's port is picked by the kernel.
# There is no NAT on loopback: for NATs, hole punching and the relay, see `make demo-nat`.
. "$(dirname "$0")/../tests/lib.sh"
lib_setup
export XDG_STATE_HOME=$WORK/state   # the identity keys of this demo's names

step() { printf '\n== %s\n' "$*"; }

# show FILE WHO: prints the lines of FILE not shown yet, as "WHO | line".
declare -A shown
show() {
	local file=$1 who=$2 n=${shown[$1]:-0}
	tail -n +"$((n + 1))" "$file" | sed "s/^/  $who | /"
	shown[$1]=$(wc -l <"$file")
}

echo "A protocol demo: the messages of p2pchat (README, \"The sequence\"), on one machine."
step "p2pchatd, the rendezvous server, starts on a free loopback port"
start_server "$WORK/server.log" -v || { cat "$WORK/server.log"; exit 1; }
echo "  server listening on 127.0.0.1:$SERVER_PORT"

# Each client reads what it will "type" from a FIFO that this script writes to.
mkfifo "$WORK/alice.in" "$WORK/bob.in"
# (Opening a FIFO waits for the other end, so each client starts in the background first.)
"$BIN/p2pchat" -s "127.0.0.1:$SERVER_PORT" --stay bob <"$WORK/bob.in" >"$WORK/bob.out" 2>&1 &
PIDS="$PIDS $!"
exec 4>"$WORK/bob.in"
"$BIN/p2pchat" -s "127.0.0.1:$SERVER_PORT" --stay alice bob <"$WORK/alice.in" >"$WORK/alice.out" 2>&1 3>&- 4>&- &
PIDS="$PIDS $!"
exec 3>"$WORK/alice.in"

step "bob registers; alice registers and asks the server for bob"
wait_for "$WORK/bob.out" "registered as bob" || exit 1
wait_for "$WORK/alice.out" "connected to bob" || exit 1
wait_for "$WORK/bob.out" "connected to alice" || exit 1
show "$WORK/bob.out" "bob  "
show "$WORK/alice.out" "alice"
echo "  (the server introduced them, each with the other's key; their probes carried the handshake"
echo "  (Noise IK), and the first answer gave the path and the keys of their session)"
echo "  There is no NAT on loopback, so the \"public\" endpoint the server saw is each client's own"
echo "  address, 127.0.0.1: \"public\" names the endpoint the server saw, whatever it is. The"
echo "  messages and their order are as across NATs; make demo-nat shows real NATs at work."

step "they chat: every line goes straight from one client to the other"
say() { # say FD WHO TO TEXT: WHO types TEXT; wait until TO shows it
	echo "$4" >&"$1"
	echo "  $2> $4"
	wait_for "$WORK/$3.out" "<$2> $4" || exit 1
	show "$WORK/$3.out" "$3$(printf '%*s' $((5 - ${#3})) '')"
}
say 3 alice bob "hi bob, this went peer to peer"
say 4 bob alice "hi alice! the server only introduced us"
echo "/me waves" >&3
echo "  alice> /me waves"
wait_for "$WORK/bob.out" "^\* alice waves" || exit 1
show "$WORK/bob.out" "bob  "
say 4 bob alice "see you"

step "alice asks /peers: the path, the address and the round-trip time"
echo "/peers" >&3
wait_for "$WORK/alice.out" "^\* peer bob" || exit 1
show "$WORK/alice.out" "alice"

step "what the server saw (p2pchatd -v logs every datagram on stderr)"
sed 's/^/  /' "$WORK/server.log"
echo "  The RELAY lines are probes (the handshake) sent through the server while the hole was"
echo "  punched, a fallback in case no direct path works. No chat line reached the server: alice and"
echo "  bob talk directly, sealed under keys the server never had."
