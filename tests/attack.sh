#!/usr/bin/env bash
# tests/attack.sh - the attacks of issue 12, and the generic ones, against real p2pchat and p2pchatd on loopback.
# Usage: BIN=build bash tests/attack.sh   (make attack does this; needs root and $BIN/tests/attack)
# ATTACK_ONLY=REGEX runs the checks whose names match (an extended regular expression).
#
# An attacker on the path sees every datagram and sends any datagram from any
# address. tests/attack.c does the packet work (sniffing lo with a packet
# socket, sending from a bound socket or, to spoof an address that is taken,
# from a raw one, and playing a version-2 client of its own that forges what
# its sealed requests say); this script plays the attacks and judges what the
# real programs did. Every check says what it saw. A check passes when the
# attack FAILED: with protocol version 1 ten of the eleven failed, each
# failure line the evidence that the attack worked.
#
# The suite runs in a network namespace of its own (unshare --net), whose lo
# carries nothing but its own traffic: the sniffer sees no other test's, and
# the third party of check 6 can have a public address (192.0.2.4, RFC
# 5737's TEST-NET-1) that exists only in there. Nothing leaves it.
#
# Generic attacks need no knowledge of the wire: capture, replay, re-send from
# elsewhere, flip a bit. A few attacks forge a request or an answer; the
# layouts they use are in the v2_ functions below, and nowhere else.
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	echo "skip attack: needs root (a network namespace, a packet socket on lo, a raw socket to spoof addresses)"
	exit 0
fi
if [ -z "${ATTACK_NETNS:-}" ]; then
	exec env ATTACK_NETNS=1 unshare --net -- bash "$0" "$@"
	echo "FAIL attack: cannot make a network namespace (unshare --net)"
	exit 1
fi
ip link set lo up || { echo "FAIL attack: cannot bring lo up in the namespace"; exit 1; }
# The third party of check 6 at a public address, on this namespace's lo only.
FAR_IP=192.0.2.4
ip addr add "$FAR_IP/32" dev lo || { echo "FAIL attack: cannot add $FAR_IP to lo"; exit 1; }
A=$BIN/tests/attack
[ -x "$A" ] || { echo "FAIL no $A (make $A)"; exit 1; }
lib_setup 'exit 1'
export XDG_STATE_HOME=$WORK/state

# The version byte forged datagrams carry: the one this tree speaks.
V=$(printf '%02x' "$(sed -n 's/^#define PROTO_VERSION \([0-9][0-9]*\).*/\1/p' "$TOP/protocol.h")")
# Probes a client sends an endpoint that never answers, in one attempt (client.h).
PROBES=$(sed -n 's/^#define CLIENT_PROBES_UNANSWERED \([0-9][0-9]*\).*/\1/p' "$TOP/client.h")

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
	if [ "$n" -ne "$c" ]; then
		echo "  a peer answered the attacker's address; besides challenges it got" \
			"(type, bytes): $(awk -v s="^($PA|$PB)\$" '$2 ~ s && !(length($5) == 82 && substr($5, 5, 2) == "17") {
				printf "%s %d, ", substr($5, 5, 2), length($5) / 2 }' "$WORK/$1.got")" >&2
		ok=1
	fi
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

# ---- v2 forging: the only code that knows the layouts of protocol.h (version 2) ----
# Requests the server opens are sealed by `attack v2`, as a client of the attacker's own
# (with keys of its own); the answers the server seals, nobody else can make: what an
# attacker can do to them is change their bytes, which these functions do where it hurts.

# v2_with_cookie LINE COOKIE: the capture LINE (a REGISTER or REFRESH) with its cookie (bytes
# 4..11, in the clear prefix) replaced: what a thief would send from his own address.
v2_with_cookie() {
	local f=($1)
	echo "${f[0]} ${f[1]} ${f[2]} ${f[3]} ${f[4]:0:8}$2${f[4]:24}"
}

# v2_cookie HEX: the cookie a COOKIE carries (bytes 4..11).
v2_cookie() {
	echo "${1:8:16}"
}

# v2_name NAME: a name field (length, bytes) in hex.
v2_name() {
	printf '%02x' "${#1}"
	printf '%s' "$1" | od -An -tx1 | tr -d ' \n'
}

# v2_ep IP PORT: an IPv4 endpoint field in hex.
v2_ep() {
	local a b c d
	IFS=. read -r a b c d <<<"$1"
	printf '04%04x%02x%02x%02x%02x' "$2" "$a" "$b" "$c" "$d"
}

# v2_xor HEX AT OLD NEW: HEX with the bytes at hex offset AT xored with OLD ^ NEW (hex strings of
# one length): a stream cipher's ciphertext whose plaintext there was OLD then says NEW, if
# nothing checked it (ChaCha20 is malleable; only Poly1305's tag stops this).
v2_xor() {
	local hex=$1 at=$2 old=$3 new=$4 i out=""
	for ((i = 0; i < ${#old}; i += 2)); do
		out+=$(printf '%02x' $(( 16#${hex:at+i:2} ^ 16#${old:i:2} ^ 16#${new:i:2} )))
	done
	echo "${hex:0:at}$out${hex:at+${#old}}"
}

# v2_peer_moved HEX NAME IP PORT NEW_IP NEW_PORT: the sealed PEER HEX about NAME, whose public
# endpoint is IP:PORT, made to say NEW_IP:NEW_PORT: header, counter, {name, key (32), endpoint}.
v2_peer_moved() {
	v2_xor "$1" $(( (4 + 8 + 1 + ${#2} + 32) * 2 )) "$(v2_ep "$3" "$4")" "$(v2_ep "$5" "$6")"
}

# v2_line_says HEX OLD NEW: the SEALED STREAM HEX whose last chat record's text is OLD made to
# say NEW (as long): header, index, counter, {type, epochs (8), packet number, frames: the
# STREAM frame last, its data ending with the record's text}, tag (16).
v2_line_says() {
	local o n
	o=$(printf '%s' "$2" | od -An -tx1 | tr -d ' \n')
	n=$(printf '%s' "$3" | od -An -tx1 | tr -d ' \n')
	v2_xor "$1" $(( ${#1} - 16 * 2 - ${#o} )) "$o" "$n"
}

# v2_refusal REQUEST: the version refusal (version 1's ERROR, never sealed) a server sends.
v2_refusal() {
	printf '50010600%02x%02x%s00\n' 1 "$1" "$V"
}

# v2_notice CODE REQUEST NAME: a NOTICE (never sealed: "register again"), with any code.
v2_notice() {
	printf '50%s0f00%02x%02x00%s\n' "$V" "$1" "$2" "$(v2_name "$3")"
}

# seed N: a key's seed for `attack v2` (tests/sealer.h): N as 16 hex digits.
seed() {
	printf '%016x' "$1"
}

# forge NAME IP ARGS...: runs `attack v2 -b IP:0 -d SERVER ARGS` with the requests on stdin, its
# stdout in $WORK/NAME.att, what it receives in $WORK/NAME.got. Each request waits up to 2 s
# for its answer (a loaded machine is slow; an answer that comes costs no wait).
forge() {
	local name=$1 ip=$2
	shift 2
	: >"$WORK/$name.got"
	"$A" v2 -b "$ip:0" -d "127.0.0.1:$SERVER_PORT" -w 2000 -o "$WORK/$name.got" "$@" \
		>"$WORK/$name.att" 2>"$WORK/$name.atterr"
}

# answers NAME TYPE: how many "answer TYPE" lines forger NAME printed.
answers() {
	grep -c "^answer $2\( \|\$\)" "$WORK/$1.att"
}

# server_stat KEY: the running server's counter KEY (p2pchatd --stats).
server_stat() {
	"$BIN/p2pchatd" --stats -b 127.0.0.1 -p "$SERVER_PORT" 2>/dev/null | awk -v k="$1" '$1 == k { print $2 }'
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
	cookie=$(v2_cookie "$line")
	# ... and again with the cookie the server gave 127.0.0.2, while carol looks alice up.
	while read -r line; do v2_with_cookie "$line" "$cookie"; done <"$WORK/alice.req" >"$WORK/forged"
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
	# His PEER about alice, its sealed endpoint xored to name the attacker: does bob probe there (1 s)?
	peer=$(awk -v t=05 '{ if (substr($5, 5, 2) == t) { print $5; exit } }' "$WORK/to_bob")
	[ -n "$peer" ] || { echo "  attack not mounted: no PEER to bob was sniffed" >&2; return 1; }
	"$A" send -r -b "127.0.0.1:$SERVER_PORT" -d "127.0.0.1:$PB" \
		-x "$(v2_peer_moved "$peer" alice 127.0.0.1 "$PA" 127.0.0.3 "$ATT_PORT")" >/dev/null || return 1
	wait_for "$WORK/watcher.got" . 1 2>/dev/null
	# The answers that are never sealed: a version refusal, NOTICEs "name taken" and "unknown".
	for hex in "$(v2_refusal 3)" "$(v2_notice 2 1 bob)" "$(v2_notice 5 3 bob)"; do
		"$A" send -r -b "127.0.0.1:$SERVER_PORT" -d "127.0.0.1:$PB" -x "$hex" >/dev/null || return 1
	done
	echo "  to bob from the server's address: $(wc -l <"$WORK/to_bob") answers replayed, flipped;" \
		"his PEER made to name 127.0.0.3:$ATT_PORT; a version refusal, NOTICEs name-taken and unknown"
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
	local ok=0 data s sp d dp hex forged
	chat || return 1
	lines_between "$PA|$PB" "$PA|$PB" >"$WORK/peer.cap"
	# bob's line "hi alice 1": his longest sealed datagram to alice (a STREAM: its first chat
	# record, 60 bytes or more; PINGs, PONGs and bare ACKs are shorter), its ciphertext xored to
	# say "injected!!".
	data=$(awk -v b="$PB" '$2 == b && substr($5, 5, 2) == "17" && length($5) >= 120 &&
		length($5) > n { n = length($5); d = $0 } END { print d }' "$WORK/peer.cap")
	[ -n "$data" ] || { echo "  attack not mounted: bob's line was not sniffed" >&2; return 1; }
	read -r s sp d dp hex <<<"$data"
	forged=$(v2_line_says "$hex" "hi alice 1" "injected!!")
	echo "$s $sp $d $dp $forged" >>"$WORK/peer.cap"
	echo "  the peer datagrams, and last bob's line made to say 'injected!!'; that also from bob's address"
	"$A" send -r -b "127.0.0.1:$PB" -d "127.0.0.1:$PA" -x "$forged" >/dev/null || return 1
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

# mallory registers with "private endpoints" that name two third parties: one at a public
# address (which the server must not keep: it is neither in a private range nor mallory's
# source) and one at a loopback address (a private range, kept: it reaches only the machine
# the peer runs on), three times over; then looks alice up, 5 times a second for 5 s. alice
# may probe the loopback one, as any endpoint that never answers, a few times an attempt:
# $PROBES probes, and at most two attempts (5 s each) in the 7 s the targets listen.
test_reflection() {
	local ok=0 me near far near_pid far_pid sent got n nfar peers i
	start_server "$WORK/server.err" || return 1
	stay alice alice
	wait_for "$WORK/alice.out" "registered as alice" || return 1
	attacker far "$FAR_IP" -l 7000 || return 1
	far=$ATT_PORT far_pid=$ATT_PID
	attacker near 127.0.0.4 -l 7000 || return 1
	near=$ATT_PORT near_pid=$ATT_PID
	me=$(seed 6)
	{
		echo "register $me mallory $FAR_IP:$far 127.0.0.4:$near 127.0.0.4:$near 127.0.0.4:$near"
		for i in $(seq 1 25); do echo "lookup $me mallory alice"; done
	} | forge mallory 127.0.0.5 -g 200
	peers=$(answers mallory 'PEER name=alice')
	echo "  mallory: $(answers mallory 'REGISTERED name=mallory') REGISTERED; 25 LOOKUPs of alice: $peers PEERs;" \
		"the server refused $(server_stat private_refused) of her private endpoints"
	[ "$(answers mallory 'REGISTERED name=mallory')" -ge 1 ] && [ "$peers" -ge 1 ] ||
		{ echo "  attack not mounted: mallory was not registered, or alice not introduced" >&2; return 1; }
	wait "$near_pid" "$far_pid"
	sent=$(value "$WORK/mallory.att" sent_bytes)
	got=$(value "$WORK/near.att" received_bytes)
	n=$(value "$WORK/near.att" received)
	nfar=$(value "$WORK/far.att" received)
	echo "  the attacker sent $sent bytes; in 7 s the third party at $FAR_IP got $nfar datagrams," \
		"the one at 127.0.0.4 $n ($got bytes)"
	[ "$nfar" -eq 0 ] || { echo "  alice probed a public address the server should not have kept" >&2; ok=1; }
	[ "$n" -ge 1 ] || { echo "  attack not mounted: alice never probed 127.0.0.4" >&2; ok=1; }
	[ "$n" -le $((2 * PROBES)) ] ||
		{ echo "  $n probes to one endpoint that never answers, over 2 attempts of $PROBES" >&2; ok=1; }
	alive alice || ok=1
	return $ok
}

# ---- 7. --limit names=4, and refreshes that move names ----

test_names_limit() {
	local ok=0 i registered moved pids=""
	start_server "$WORK/server.err" --limit names=4 --limit register=0 || return 1
	# 16 names, each from an address of its own (127.0.3.1 .. 16), each with a key of its own.
	for i in $(seq 1 16); do
		echo "register $(seed "$i") n$i" | forge "claim$i" "127.0.3.$i" &
		pids="$pids $!"
	done
	wait $pids
	registered=$(cat "$WORK"/claim*.att | grep -c '^answer REGISTERED')
	echo "  16 names claimed from 16 addresses: $registered registered"
	[ "$registered" -eq 16 ] ||
		{ echo "  attack not mounted: the names were not registered" >&2; return 1; }
	# Every one of them refreshed from 127.0.3.100, with its own key: the cookie round trip, then all 16.
	for i in $(seq 1 16); do echo "refresh $(seed "$i") n$i"; done | forge mover 127.0.3.100
	moved=$(answers mover REGISTERED)
	echo "  refreshed from 127.0.3.100: $moved of 16 accepted (REGISTERED), $(answers mover 'ERROR.* code=8') refused" \
		"(too many names); the server counted $(server_stat moves_refused) moves refused"
	[ "$moved" -ge 1 ] || { echo "  attack not mounted: no refresh from 127.0.3.100 was accepted" >&2; ok=1; }
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

# run NAME FUNCTION: the check, unless ATTACK_ONLY (an extended regular expression) leaves NAME out.
run() {
	[ -z "${ATTACK_ONLY:-}" ] || [[ "$1" =~ $ATTACK_ONLY ]] || return 0
	check "$@"
}

run "1. no chat text, key or token on the wire" test_nothing_in_clear
run "2. a sniffed REGISTER does not steal alice's name" test_name_theft
run "3. forged server answers and forged requests change nothing, kill nobody" test_forged_server
run "4. re-sent peer datagrams do not move the path, inject a line or desynchronise" test_hijack
run "5. 64 introductions do not fill alice's peer table for good" test_peer_table
run "6. forged private endpoints do not make alice a reflector" test_reflection
run "7. --limit names=4 holds when refreshes move names" test_names_limit
run "8. a lapsed name taken by another key: carol is warned, sends nothing until /trust" test_lapse
run "every sniffed datagram replayed: nothing delivered twice, nobody exits" test_replay_each
run "every sniffed datagram with a bit flipped: nothing shown, nobody exits" test_flip_each
run "every sniffed datagram from 127.0.0.2: no answer there, the chat goes on" test_resend_elsewhere

summary attack
