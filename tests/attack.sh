#!/usr/bin/env bash
# tests/attack.sh - the attacks of issue 12, and the generic ones, against real p2pchat and p2pchatd on loopback.
# Usage: BIN=build bash tests/attack.sh   (make attack does this; needs root and $BIN/tests/attack)
#
# An attacker on the path sees every datagram and sends any datagram from any
# address. tests/attack.c does the packet work (sniffing lo with a packet
# socket, sending from a bound socket or, to spoof an address that is taken,
# from a raw one); this script plays the attacks and judges what the real
# programs did. Every check says what it saw. A check passes when the attack
# FAILED: with protocol version 1 most of them fail, and each failure line is
# the evidence that the attack worked. Everything stays in 127.0.0.0/8.
#
# Generic attacks need no knowledge of the wire: capture, replay, re-send from
# elsewhere, flip a bit. A few attacks forge a request or an answer; the
# layouts they use are in the v1_ functions below, and nowhere else.
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	echo "skip attack: needs root (a packet socket on lo, a raw socket to spoof addresses)"
	exit 0
fi
A=$BIN/tests/attack
[ -x "$A" ] || { echo "FAIL no $A (make $A)"; exit 1; }
lib_setup 'exit 1'
export XDG_STATE_HOME=$WORK/state

# The version byte forged datagrams carry: the one this tree speaks.
V=$(printf '%02x' "$(sed -n 's/^#define PROTO_VERSION \([0-9][0-9]*\).*/\1/p' "$TOP/protocol.h")")

declare -A PID FD
# Each check has a server and clients of its own: stop what it started.
after_check() {
	exec 3>&- 4>&-
	stop_all
	PID=()
	FD=()
	echo "  ($((SECONDS - CHECK_START)) s)"
	CHECK_START=$SECONDS
}
CHECK_START=$SECONDS

# ---- people ----

# typer NAME FD PORT ARGS...: starts p2pchat -p PORT ARGS with stdin from the FIFO
# $WORK/NAME.in held open on FD (3 or 4), so `say NAME TEXT` types a line.
typer() {
	local name=$1 fd=$2 port=$3
	shift 3
	rm -f "$WORK/$name.in"
	mkfifo "$WORK/$name.in"
	: >"$WORK/$name.out"
	"$BIN/p2pchat" -s "127.0.0.1:$SERVER_PORT" -p "$port" "$@" <"$WORK/$name.in" \
		>"$WORK/$name.out" 2>"$WORK/$name.err" 3>&- 4>&- &
	PID[$name]=$!
	PIDS="$PIDS $!"
	FD[$name]=$fd
	eval "exec $fd>\"\$WORK/\$name.in\""
}

# stay NAME ARGS...: starts a --stay p2pchat ARGS with no input.
stay() {
	local name=$1
	shift
	: >"$WORK/$name.out"
	"$BIN/p2pchat" -s "127.0.0.1:$SERVER_PORT" --stay "$@" </dev/null \
		>"$WORK/$name.out" 2>"$WORK/$name.err" 3>&- 4>&- &
	PID[$name]=$!
	PIDS="$PIDS $!"
}

# say NAME TEXT: NAME types TEXT. In a subshell: if NAME has exited, SIGPIPE ends that, not this script.
say() {
	(echo "$2" >&"${FD[$1]}") 2>/dev/null
}

# alive NAME...: each NAME's process still runs; else says how it ended and what it printed last.
alive() {
	local name rc ok=0
	for name in "$@"; do
		kill -0 "${PID[$name]}" 2>/dev/null && continue
		wait "${PID[$name]}" 2>/dev/null; rc=$?
		echo "  $name EXITED (status $rc); its last lines:" >&2
		tail -n 3 "$WORK/$name.out" "$WORK/$name.err" 2>/dev/null | sed 's/^/    /' >&2
		ok=1
	done
	return $ok
}

# once FILE LINE: FILE has LINE exactly once.
once() {
	local n
	n=$(grep -cxF -- "$2" "$1")
	[ "$n" -eq 1 ] && return 0
	echo "  '$2' shown $n times in $(basename "$1"), want once" >&2
	return 1
}

# shown_exactly FILE LINE...: the chat lines ("<...> ...") of FILE are these, in this order.
shown_exactly() {
	local file=$1
	shift
	printf '%s\n' "$@" >"$WORK/want"
	grep '^<' "$file" >"$WORK/got" || true
	cmp -s "$WORK/want" "$WORK/got" && return 0
	echo "  $(basename "$file") shows other chat lines than these (diff want got):" >&2
	diff "$WORK/want" "$WORK/got" | sed 's/^/    /' >&2
	return 1
}

# goes_on TAG: the chat goes on both ways: alice's "TAG a" reaches bob, bob's "TAG b" reaches alice.
goes_on() {
	local ok=0
	say alice "$1 a"
	wait_for "$WORK/bob.out" "^<alice> $1 a\$" 5 2>/dev/null ||
		{ echo "  alice's next line '$1 a' did not reach bob in 5 s" >&2; ok=1; }
	say bob "$1 b"
	wait_for "$WORK/alice.out" "^<bob> $1 b\$" 5 2>/dev/null ||
		{ echo "  bob's next line '$1 b' did not reach alice in 5 s" >&2; ok=1; }
	return $ok
}

# unharmed TAG: after an attack on the chat, nobody exited, the chat goes on both ways
# (lines "TAG a" and "TAG b"), and nothing was shown but the chat's own lines, once each.
unharmed() {
	local ok=0
	alive alice bob || ok=1
	goes_on "$1" || ok=1
	shown_exactly "$WORK/alice.out" "<bob> hi alice 1" "<bob> $1 b" || ok=1
	shown_exactly "$WORK/bob.out" "<alice> secret password 1234" "<alice> $1 a" || ok=1
	return $ok
}

# ---- the wire ----

# capture PORT...: sniffs lo for datagrams to or from PORTs into $CAP; waits until it reads.
capture() {
	local p args=()
	for p in "$@"; do args+=(-p "$p"); done
	CAP=$WORK/chat.cap
	: >"$CAP"
	"$A" capture -o "$CAP" -t 120 "${args[@]}" 2>"$WORK/capture.err" &
	CAP_PID=$!
	PIDS="$PIDS $!"
	wait_for "$WORK/capture.err" capturing 5
}

# capture_stop: ends the capture; $CAP is whole.
capture_stop() {
	kill "$CAP_PID" 2>/dev/null
	wait "$CAP_PID" 2>/dev/null
}

# lines_between SRC_PORTS DST_PORTS: the datagrams of $CAP from one of SRC_PORTS (a|b|c) to one of DST_PORTS.
lines_between() {
	awk -v s="^($1)\$" -v d="^($2)\$" '$2 ~ s && $4 ~ d' "$CAP"
}

# attacker NAME IP[:PORT] ARGS...: runs `attack send -b IP:PORT ARGS` (PORT 0 if not given) in
# the background, its stdout in $WORK/NAME.att, what it receives in $WORK/NAME.got; waits
# for its bound line, sets ATT_PORT and ATT_PID. The caller waits for its "sent" line and its end.
attacker() {
	local name=$1 ep=$2
	shift 2
	[ "${ep#*:}" != "$ep" ] || ep=$ep:0
	: >"$WORK/$name.att"
	: >"$WORK/$name.got"
	"$A" send -b "$ep" -o "$WORK/$name.got" "$@" >"$WORK/$name.att" 2>"$WORK/$name.atterr" &
	ATT_PID=$!
	PIDS="$PIDS $!"
	wait_for "$WORK/$name.atterr" "^bound " 5 || return 1
	ATT_PORT=$(sed -n 's/^bound [^ ]* //p' "$WORK/$name.atterr")
}

# value FILE KEY: the number after KEY in attack's "key value" lines.
value() {
	awk -v k="$2" '$1 == k { print $2; exit }' "$1"
}

# got_from NAME PORTS: how many datagrams attacker NAME received from one of PORTS (a|b).
got_from() {
	awk -v s="^($2)\$" '$2 ~ s' "$WORK/$1.got" | wc -l
}

# got_not_from NAME PORT: how many datagrams attacker NAME received from elsewhere than PORT.
got_not_from() {
	awk -v p="$2" '$2 != p' "$WORK/$1.got" | wc -l
}

# resent_elsewhere NAME IP FILE TAG: re-sends the capture FILE from a socket of NAME's at IP,
# which listens 4 s; the chat must be unharmed (TAG), and no peer may have answered IP.
resent_elsewhere() {
	local ok=0 n c
	attacker "$1" "$2" -g 2 -f "$3" -l 4000 || return 1
	wait_for "$WORK/$1.att" '^sent ' 10 || return 1
	echo "  re-sent $(value "$WORK/$1.att" sent) datagrams from $2:$ATT_PORT"
	unharmed "$4" || ok=1
	wait "$ATT_PID"
	n=$(got_from "$1" "$PA|$PB")
	c=$(challenges_from "$1" "$PA|$PB")
	echo "  $2 got $n datagrams from alice or bob ($c of them PATH_CHALLENGE-sized), $(got_from "$1" "$SERVER_PORT") from the server"
	# A sealed datagram from a new address draws a PATH_CHALLENGE there (RFC 9000, 8.2), at
	# most one a second; the path moves only when its PATH_RESPONSE comes back (unharmed checks
	# the path). Anything else a peer sends there: it answered the attacker.
	[ "$n" -eq "$c" ] || { echo "  a peer answered the attacker's address: the path moved there" >&2; ok=1; }
	[ "$c" -le 10 ] || { echo "  $c path challenges to one address" >&2; ok=1; }
	if grep -q "^\* connected to .* via ${2//./\\.}:" "$WORK/alice.out" "$WORK/bob.out"; then
		echo "  the path moved to the attacker's address" >&2
		ok=1
	fi
	return $ok
}

# challenges_from NAME PORTS: datagrams attacker NAME received from PORTS (a regex) of a sealed
# PATH_CHALLENGE's size: header, index, counter, inner type, 8 bytes, tag (41 bytes; type 23).
challenges_from() {
	awk -v s="^($2)\$" '$2 ~ s && length($5) == 82 && substr($5, 5, 2) == "17"' "$WORK/$1.got" | wc -l
}

# ---- v1 forging: the only code that knows the layouts of protocol.h (version 1) ----

# v1_with_cookie LINE COOKIE: the capture LINE (a REGISTER or REFRESH) with its 8-byte cookie replaced.
v1_with_cookie() {
	local f=($1)
	echo "${f[0]} ${f[1]} ${f[2]} ${f[3]} ${f[4]:0:24}$2${f[4]:40}"
}

# v1_cookie HEX: the cookie a COOKIE or REGISTERED-less answer carries (bytes 4..11).
v1_cookie() {
	echo "${1:8:16}"
}

# v1_name NAME: a name field (length, bytes) in hex.
v1_name() {
	printf '%02x' "${#1}"
	printf '%s' "$1" | od -An -tx1 | tr -d ' \n'
}

# v1_ep IP PORT: an IPv4 endpoint field in hex.
v1_ep() {
	local a b c d
	IFS=. read -r a b c d <<<"$1"
	printf '04%04x%02x%02x%02x%02x' "$2" "$a" "$b" "$c" "$d"
}

# v1_register TOKEN COOKIE NAME EP...: a REGISTER with these private endpoints (hex).
v1_register() {
	local token=$1 cookie=$2 name=$3 ep
	shift 3
	printf '50%s0100%s%s%s%02x' "$V" "$token" "$cookie" "$(v1_name "$name")" "$#"
	for ep in "$@"; do printf '%s' "$ep"; done
	echo
}

# v1_refresh TOKEN COOKIE NAME: a REFRESH.
v1_refresh() {
	echo "50${V}0300$1$2$(v1_name "$3")"
}

# v1_lookup TOKEN NAME TARGET: a LOOKUP.
v1_lookup() {
	echo "50${V}0400$1$(v1_name "$2")$(v1_name "$3")"
}

# v1_error CODE REQUEST NAME: an ERROR, as the server would send it.
v1_error() {
	printf '50%s0600%02x%02x%02x%s\n' "$V" "$1" "$2" "$(( $1 == 1 ? 9 : 0 ))" "$(v1_name "$3")"
}

# v1_peer_moved HEX IP PORT: the PEER HEX with its public endpoint replaced by IP:PORT.
v1_peer_moved() {
	local n=$((16#${1:24:2}))
	local at=$(( (4 + 8 + 1 + n) * 2 ))
	echo "${1:0:at}$(v1_ep "$2" "$3")${1:at+14}"
}

# v1_data_next HEX TEXT: the DATA HEX as the next line: sequence number + 1, TEXT in place of its text.
v1_data_next() {
	local seq=$((16#${1:40:8} + 1)) text
	text=$(printf '%s' "$2" | od -An -tx1 | tr -d ' \n')
	printf '%s%08x01%04x%s\n' "${1:0:40}" "$seq" "${#2}" "$text"
}

# v1_type HEX: the message type byte, in hex.
v1_type() {
	echo "${1:4:2}"
}

# ---- the scene most checks start from ----

# chat [SERVER_ARGS...]: a server; alice and bob (ports PA and PB), each typing to the
# other, with keepalives every second; "secret password 1234" from alice, "hi alice 1"
# from bob; all of it sniffed into $CAP, keepalives included.
chat() {
	start_server "$WORK/server.err" "$@" || return 1
	PA=$("$A" port) PB=$("$A" port)
	capture "$SERVER_PORT" "$PA" "$PB" || return 1
	typer alice 3 "$PA" -k 1 --stay alice bob
	typer bob 4 "$PB" -k 1 --stay bob alice
	wait_for "$WORK/alice.out" "registered as alice" || return 1
	wait_for "$WORK/bob.out" "registered as bob" || return 1
	say alice "secret password 1234"
	wait_for "$WORK/bob.out" "^<alice> secret password 1234\$" || return 1
	say bob "hi alice 1"
	wait_for "$WORK/alice.out" "^<bob> hi alice 1\$" || return 1
	# The attacks replay keepalives too: one must pass each way (-k 1), and that takes time.
	sleep 1.5
	capture_stop
	echo "  sniffed $(wc -l <"$CAP") datagrams of a chat (server port $SERVER_PORT, alice $PA, bob $PB)"
}

# peer_line NAME PEER: NAME's /peers line for PEER, round-trip time left out.
peer_line() {
	local before
	before=$(grep -c "^\* peer $2 " "$WORK/$1.out")
	say "$1" /peers
	wait_for_count "$WORK/$1.out" "^\* peer $2 " $((before + 1)) 5 || return 1
	grep "^\* peer $2 " "$WORK/$1.out" | tail -n 1 | sed 's/ rtt .*//'
}

# ---- 1. reading the chat ----

test_nothing_in_clear() {
	local ok=0 secret n token name
	chat || return 1
	n=$(value <("$A" find -s "secret password 1234" "$CAP") matches)
	echo "  'secret password 1234' in $n datagrams"
	[ "$n" -eq 0 ] || ok=1
	for name in alice bob; do
		secret=$(sed -n 's/^secret //p' "$XDG_STATE_HOME/p2pchat/$name.key")
		[ ${#secret} -eq 64 ] || { echo "  no secret in $name.key" >&2; return 1; }
		n=$(value <("$A" find -w 8 -x "$secret" "$CAP") matches)
		echo "  8 bytes of $name's key secret in $n datagrams"
		[ "$n" -eq 0 ] || ok=1
		# Version 1's owner token, derived from the secret (README, Identity keys): key material too.
		if command -v openssl >/dev/null 2>&1; then
			token=$(printf 'p2pchat owner token v1' |
				openssl dgst -sha256 -mac HMAC -macopt "hexkey:$secret" -r | cut -c1-16)
			n=$(value <("$A" find -x "$token" "$CAP") matches)
			echo "  $name's owner token $token (HMAC of the secret) in $n datagrams"
			[ "$n" -eq 0 ] || ok=1
		fi
	done
	return $ok
}

# ---- 2. stealing a name ----

test_name_theft() {
	local ok=0 line cookie n
	start_server "$WORK/server.err" || return 1
	PA=$("$A" port)
	capture "$SERVER_PORT" "$PA" || return 1
	typer alice 3 "$PA" --stay alice
	wait_for "$WORK/alice.out" "registered as alice" || return 1
	capture_stop
	lines_between "$PA" "$SERVER_PORT" >"$WORK/alice.req"
	echo "  sniffed $(wc -l <"$WORK/alice.req") requests of alice"

	# Replayed as they were, from 127.0.0.2: the server answers there.
	attacker thief 127.0.0.2 -f "$WORK/alice.req" -l 500 || return 1
	wait "$ATT_PID"
	line=$(awk -v s="$SERVER_PORT" '$2 == s { print $5; exit }' "$WORK/thief.got")
	echo "  replayed from 127.0.0.2:$ATT_PORT: $(value "$WORK/thief.att" received) answers"
	cookie=$(v1_cookie "$line")
	# ... and again with the cookie the server gave 127.0.0.2, while carol looks alice up.
	while read -r line; do v1_with_cookie "$line" "$cookie"; done <"$WORK/alice.req" >"$WORK/forged"
	attacker thief2 "127.0.0.2:$ATT_PORT" -f "$WORK/forged" -l 4000 || return 1
	wait_for "$WORK/thief2.att" '^sent ' 5 || return 1
	echo "hello alice" | "$BIN/p2pchat" -s "127.0.0.1:$SERVER_PORT" -w 3 carol alice \
		>"$WORK/carol.out" 2>&1
	echo "  carol exited $?; she said: $(grep -v '^\* registered' "$WORK/carol.out" | tr '\n' ' ')"
	wait "$ATT_PID"
	grep 'registered alice at' "$WORK/server.err" | sed 's/^/  server: /'
	n=$(got_not_from thief2 "$SERVER_PORT")
	echo "  the thief at 127.0.0.2 got $n datagrams from others than the server"
	[ "$n" -eq 0 ] || { echo "  carol's datagrams went to the thief: the name was stolen" >&2; ok=1; }
	wait_for "$WORK/alice.out" '^<carol> hello alice$' 2 2>/dev/null ||
		{ echo "  carol's line never reached the real alice" >&2; ok=1; }
	alive alice || ok=1
	return $ok
}

# ---- 3. forged answers from the server, forged requests from a client ----

test_forged_server() {
	local ok=0 before after peer n
	chat || return 1
	before=$(peer_line bob alice) || return 1
	attacker watcher 127.0.0.3 -l 4000 || return 1
	lines_between "$SERVER_PORT" "$PB" >"$WORK/to_bob"
	# Each answer bob had from the server, again; then each with a bit flipped.
	"$A" send -g 2 -f "$WORK/to_bob" >/dev/null || return 1
	"$A" send -g 2 -F 7 -f "$WORK/to_bob" >/dev/null || return 1
	# His PEER about alice, pointing at the attacker: does bob probe there (1 s)?
	peer=$(awk -v t=05 '{ if (substr($5, 5, 2) == t) { print $5; exit } }' "$WORK/to_bob")
	if [ -n "$peer" ]; then
		"$A" send -r -b "127.0.0.1:$SERVER_PORT" -d "127.0.0.1:$PB" \
			-x "$(v1_peer_moved "$peer" 127.0.0.3 "$ATT_PORT")" >/dev/null || return 1
		wait_for "$WORK/watcher.got" . 1 2>/dev/null
	fi
	# A version ERROR, a name-taken ERROR.
	for hex in "$(v1_error 1 3 '')" "$(v1_error 2 1 bob)"; do
		"$A" send -r -b "127.0.0.1:$SERVER_PORT" -d "127.0.0.1:$PB" -x "$hex" >/dev/null || return 1
	done
	echo "  to bob from the server's address: $(wc -l <"$WORK/to_bob") answers replayed, flipped;" \
		"${peer:+a PEER naming 127.0.0.3:$ATT_PORT, }a version ERROR, a name-taken ERROR"
	# alice's requests from her own address, with a version the server does not speak, and flipped.
	lines_between "$PA" "$SERVER_PORT" | awk '{ $5 = substr($5, 1, 2) "7f" substr($5, 5); print }' \
		>"$WORK/from_alice"
	"$A" send -g 2 -f "$WORK/from_alice" >/dev/null || return 1
	lines_between "$PA" "$SERVER_PORT" | "$A" send -g 2 -F 11 -f - >/dev/null || return 1
	echo "  to the server from alice's address: $(wc -l <"$WORK/from_alice") requests with version 0x7f, and flipped"
	alive alice bob || ok=1
	if [ $ok -eq 0 ]; then
		after=$(peer_line bob alice)
		echo "  bob's path to alice before: '$before'; after: '$after'"
		[ "$before" = "$after" ] || { echo "  bob's path to alice moved" >&2; ok=1; }
		goes_on "after forgery" || ok=1
	fi
	wait "$ATT_PID"
	n=$(got_from watcher "$PA|$PB")
	echo "  the attacker at 127.0.0.3 got $n datagrams from alice or bob"
	[ "$n" -eq 0 ] || { echo "  bob believed the forged PEER" >&2; ok=1; }
	return $ok
}

# ---- 4. hijacking the conversation ----

test_hijack() {
	local ok=0 data s sp d dp hex
	chat || return 1
	lines_between "$PA|$PB" "$PA|$PB" >"$WORK/peer.cap"
	# A line of bob's own, the next one: made from his last DATA.
	data=$(awk -v t=12 -v b="$PB" '{ if ($2 == b && substr($5, 5, 2) == t) d = $0 } END { print d }' "$WORK/peer.cap")
	if [ -n "$data" ]; then
		read -r s sp d dp hex <<<"$data"
		echo "$s $sp $d $dp $(v1_data_next "$hex" "injected by attacker")" >>"$WORK/peer.cap"
		echo "  the peer datagrams, and last a forged DATA from bob: 'injected by attacker'"
	fi
	resent_elsewhere hijacker 127.0.0.3 "$WORK/peer.cap" "after hijack" || ok=1
	grep -h '^\* connected to .* via 127\.0\.0\.3' "$WORK/alice.out" "$WORK/bob.out" | sed 's/^/  /'
	return $ok
}

# ---- 5. filling a client's peer table ----

test_peer_table() {
	local ok=0 i batch rc pids
	start_server "$WORK/server.err" --limit names=0 --limit register=0 --limit lookup=0 || return 1
	stay alice alice
	wait_for "$WORK/alice.out" "registered as alice" || return 1
	# 64 names, each introduced to alice (and gone): 4 at a time.
	for batch in $(seq 0 4 63); do
		pids=""
		for i in $(seq "$batch" $((batch + 3))); do
			echo "hi alice" | "$BIN/p2pchat" -s "127.0.0.1:$SERVER_PORT" -w 2 "att$i" alice \
				>/dev/null 2>&1 &
			pids="$pids $!"
		done
		wait $pids
	done
	echo "  64 names looked alice up; she showed $(grep -c '^<att[0-9]*> hi alice$' "$WORK/alice.out") of their lines"
	echo "hello from dave" | "$BIN/p2pchat" -s "127.0.0.1:$SERVER_PORT" -w 4 dave alice >"$WORK/dave.out" 2>&1
	rc=$?
	echo "  dave, a new real peer, exited $rc: $(grep -v '^\* registered' "$WORK/dave.out" | tr '\n' ' ')"
	grep -h 'no room' "$WORK/alice.err" | sort | uniq -c | sed 's/^/  alice:/'
	[ "$rc" -eq 0 ] || ok=1
	wait_for "$WORK/alice.out" '^<dave> hello from dave$' 1 2>/dev/null ||
		{ echo "  dave's line never reached alice: her table is full for good" >&2; ok=1; }
	alive alice || ok=1
	return $ok
}

# ---- 6. clients as reflectors ----

test_reflection() {
	local ok=0 token=0123456789abcdef ep sent1 sent2 got cookie i
	start_server "$WORK/server.err" || return 1
	stay alice alice
	wait_for "$WORK/alice.out" "registered as alice" || return 1
	# The victim: a socket of ours at 127.0.0.4, counting what arrives for 6 s.
	attacker target 127.0.0.4 -l 6000 || return 1
	local target_pid=$ATT_PID
	ep=$(v1_ep 127.0.0.4 "$ATT_PORT")
	# mallory registers with four "private endpoints" that all name the victim ...
	attacker mallory 127.0.0.5 -d "127.0.0.1:$SERVER_PORT" \
		-x "$(v1_register $token 0000000000000000 mallory "$ep" "$ep" "$ep" "$ep")" -l 300 || return 1
	wait "$ATT_PID"
	cookie=$(v1_cookie "$(awk '{ print $5; exit }' "$WORK/mallory.got")")
	sent1=$(value "$WORK/mallory.att" sent_bytes)
	# ... and again with the cookie; then looks alice up, 5 times a second.
	{
		echo "127.0.0.5 0 127.0.0.1 $SERVER_PORT $(v1_register $token "$cookie" mallory "$ep" "$ep" "$ep" "$ep")"
		for i in $(seq 1 25); do
			echo "127.0.0.5 0 127.0.0.1 $SERVER_PORT $(v1_lookup $token mallory alice)"
		done
	} >"$WORK/mallory.req"
	"$A" send -b "127.0.0.5:$ATT_PORT" -g 200 \
		-f "$WORK/mallory.req" -l 200 -o "$WORK/mallory2.got" >"$WORK/mallory2.att" 2>&1
	sent2=$(value "$WORK/mallory2.att" sent_bytes)
	echo "  mallory's answers: types $(awk '{ printf "%s ", substr($5, 5, 2) }' "$WORK/mallory2.got" | tr ' ' '\n' | sort | uniq -c | tr '\n' ' ')"
	wait "$target_pid"
	grep -q '^[^ ]* [^ ]* [^ ]* [^ ]* ....02' "$WORK/mallory2.got" ||
		{ echo "  attack not mounted: mallory was not registered (port v1_register to this wire)" >&2; return 1; }
	got=$(value "$WORK/target.att" received_bytes)
	echo "  the attacker sent $((sent1 + sent2)) bytes; the target got $got bytes ($(value "$WORK/target.att" received) datagrams) in 6 s"
	[ "$got" -le $((sent1 + sent2)) ] || { echo "  amplified: more bytes reached the target than the attacker sent" >&2; ok=1; }
	[ "$got" -le 4096 ] || { echo "  over the cap of 4096 bytes" >&2; ok=1; }
	alive alice || ok=1
	return $ok
}

# ---- 7. --limit names=4, and refreshes that move names ----

# v1_claim NAME IP: registers NAME from IP (the cookie round trip); says REGISTERED's type byte.
v1_claim() {
	local name=$1 ip=$2 token=$3 cookie port
	"$A" send -b "$ip:0" -d "127.0.0.1:$SERVER_PORT" -x "$(v1_register "$token" 0000000000000000 "$name")" \
		-l 300 -o "$WORK/claim.$name.got" >/dev/null 2>"$WORK/claim.$name.err"
	port=$(sed -n 's/^bound [^ ]* //p' "$WORK/claim.$name.err")
	cookie=$(v1_cookie "$(awk '{ print $5; exit }' "$WORK/claim.$name.got")")
	: >"$WORK/claim.$name.got"
	"$A" send -b "$ip:$port" -d "127.0.0.1:$SERVER_PORT" -x "$(v1_register "$token" "$cookie" "$name")" \
		-l 300 -o "$WORK/claim.$name.got" >/dev/null 2>&1
	v1_type "$(awk '{ print $5; exit }' "$WORK/claim.$name.got")"
}

test_names_limit() {
	local ok=0 i registered=0 moved cookie
	start_server "$WORK/server.err" --limit names=4 --limit register=0 || return 1
	# 16 names, each from an address of its own (127.0.3.1 .. 16), each within the limit.
	local pids=""
	for i in $(seq 1 16); do
		v1_claim "n$i" "127.0.3.$i" "$(printf '%016x' "$i")" >"$WORK/claim.$i" &
		pids="$pids $!"
	done
	wait $pids
	registered=$(cat "$WORK"/claim.[0-9]* | grep -cx 02)
	echo "  16 names claimed from 16 addresses: $registered registered"
	[ "$registered" -eq 16 ] ||
		{ echo "  attack not mounted: the names were not registered (port v1_register to this wire)" >&2; return 1; }
	# Every one of them refreshed from 127.0.3.100: the cookie round trip, then all 16.
	for i in $(seq 1 16); do
		echo "127.0.3.100 0 127.0.0.1 $SERVER_PORT $(v1_refresh "$(printf '%016x' "$i")" 0000000000000000 "n$i")"
	done >"$WORK/move0"
	attacker mover 127.0.3.100 -f "$WORK/move0" -l 300 || return 1
	wait "$ATT_PID"
	cookie=$(v1_cookie "$(awk '{ print $5; exit }' "$WORK/mover.got")")
	: >"$WORK/mover.got"
	for i in $(seq 1 16); do
		echo "127.0.3.100 0 127.0.0.1 $SERVER_PORT $(v1_refresh "$(printf '%016x' "$i")" "$cookie" "n$i")"
	done >"$WORK/move1"
	"$A" send -b "127.0.3.100:$ATT_PORT" -f "$WORK/move1" -l 500 -o "$WORK/mover.got" >/dev/null 2>&1
	moved=$(awk '{ print substr($5, 5, 2) }' "$WORK/mover.got" | grep -cx 02)
	echo "  refreshed from 127.0.3.100: $moved of 16 accepted (REGISTERED); answers: $(awk '{ printf "%s ", substr($5, 5, 2) }' "$WORK/mover.got")"
	grep -c 'at 127\.0\.3\.100:' "$WORK/server.err" | sed 's/^/  server log lines naming 127.0.3.100: /'
	[ "$moved" -le 4 ] || { echo "  one address holds $moved names with --limit names=4" >&2; ok=1; }
	return $ok
}

# ---- 8. a name that lapsed and was taken by another key ----

test_lapse() {
	local ok=0
	start_server "$WORK/server.err" -t 2 || return 1
	XDG_STATE_HOME=$WORK/alice-state stay alice alice
	wait_for "$WORK/alice.out" "registered as alice" || return 1
	# A carol of her own: the scene's carol pinned the scene's alice, whose key this alice has not.
	XDG_STATE_HOME=$WORK/carol-state typer carol 3 0 -k 1 -w 10 --stay carol alice
	say carol "hi alice"
	wait_for "$WORK/alice.out" '^<carol> hi alice$' || return 1
	kill "${PID[alice]}"
	wait "${PID[alice]}" 2>/dev/null
	# alice's registration lapses (a 2 s TTL: the time must pass); someone else takes "alice".
	wait_for "$WORK/carol.out" '^\* alice is offline$' 10 || return 1
	names_on_server 1 || return 1
	XDG_STATE_HOME=$WORK/mallory-state stay mallory alice
	wait_for "$WORK/mallory.out" "registered as alice" || return 1
	say carol "are you there"
	wait_for "$WORK/carol.out" "WARNING: alice's key has changed" 5 2>/dev/null ||
		{ echo "  carol was not warned that alice's key changed" >&2; ok=1; }
	if grep -q '^<carol> are you there$' "$WORK/mallory.out"; then
		echo "  carol's line went to the newcomer: '$(grep '^<carol> are' "$WORK/mallory.out")'" >&2
		ok=1
	fi
	say carol "/trust alice"
	say carol "after trust"
	wait_for "$WORK/mallory.out" '^<carol> after trust$' 10 2>/dev/null ||
		{ echo "  after /trust, carol's line did not reach the newcomer" >&2; ok=1; }
	grep -h '^\* ' "$WORK/carol.out" | grep -v registered | sed 's/^/  carol: /'
	return $ok
}

# ---- the generic pass: every sniffed datagram ----

# Each datagram again, from where it came (the port is taken: a raw socket writes the source).
test_replay_each() {
	chat || return 1
	"$A" send -g 2 -f "$CAP" >"$WORK/replay.att" || return 1
	echo "  replayed $(value "$WORK/replay.att" sent) datagrams from their own sources"
	unharmed "after replay"
}

# Each datagram with one bit flipped (after the 4-byte header), from where it came; 16 times,
# a different bit each time, so that every field of a short datagram is likely hit.
test_flip_each() {
	local seed sent=0
	chat || return 1
	for seed in $(seq 1 16); do
		"$A" send -g 1 -F "$seed" -f "$CAP" >"$WORK/flip.att" || return 1
		sent=$((sent + $(value "$WORK/flip.att" sent)))
	done
	echo "  sent $sent datagrams: each sniffed one 16 times, with one bit flipped each time"
	unharmed "after flips"
}

# Each datagram from 127.0.0.2, which then listens.
test_resend_elsewhere() {
	chat || return 1
	resent_elsewhere elsewhere 127.0.0.2 "$CAP" "after resend"
}

check "1. no chat text, key or token on the wire" test_nothing_in_clear
check "2. a sniffed REGISTER does not steal alice's name" test_name_theft
check "3. forged server answers and forged requests change nothing, kill nobody" test_forged_server
check "4. re-sent peer datagrams do not move the path, inject a line or desynchronise" test_hijack
check "5. 64 introductions do not fill alice's peer table for good" test_peer_table
check "6. forged private endpoints do not make alice a reflector" test_reflection
check "7. --limit names=4 holds when refreshes move names" test_names_limit
check "8. a lapsed name taken by another key: carol is warned, sends nothing until /trust" test_lapse
check "every sniffed datagram replayed: nothing delivered twice, nobody exits" test_replay_each
check "every sniffed datagram with a bit flipped: nothing shown, nobody exits" test_flip_each
check "every sniffed datagram from 127.0.0.2: no answer there, the chat goes on" test_resend_elsewhere

summary attack
