#!/usr/bin/env bash
# tests/integration.sh - end-to-end tests on loopback: real p2pchatd, real p2pchat processes.
# Usage: BIN=build bash tests/integration.sh   (make integration does this)
# Every server binds 127.0.0.1 on a port the kernel picks; nothing leaves this machine.
. "$(dirname "$0")/lib.sh"
lib_setup

export XDG_STATE_HOME=$WORK/state

# Stops the clients a test left running (the server stays).
after_check() {
	for pid in $CLIENTS; do
		stop_pid "$pid"
	done
	CLIENTS=""
}
CLIENTS=""

# stop_extra_server: stops the server a test started beside the main one, and makes
# SERVER_PORT and SERVER_PID the main one's again.
stop_extra_server() {
	stop_pid "$SERVER_PID"
	SERVER_PORT=$MAIN_PORT SERVER_PID=$MAIN_PID
}

# client NAME ARGS...: starts `p2pchat ARGS... ` in the background, stdin from
# /dev/null, stdout in $WORK/NAME.out, stderr in $WORK/NAME.err.
client() {
	local name=$1
	shift
	: >"$WORK/$name.out" # now, not in the background: a wait_for must not see the last test's lines
	"$BIN/p2pchat" -s "127.0.0.1:$SERVER_PORT" "$@" </dev/null >"$WORK/$name.out" 2>"$WORK/$name.err" 3>&- &
	CLIENTS="$CLIENTS $!"
	PIDS="$PIDS $!"
}

test_usage_errors() {
	local rc
	"$BIN/p2pchat" >/dev/null 2>&1; rc=$?
	[ "$rc" -eq 2 ] || { echo "  p2pchat without NAME: status $rc, want 2" >&2; return 1; }
	"$BIN/p2pchat" -w soon alice >/dev/null 2>&1; rc=$?
	[ "$rc" -eq 2 ] || { echo "  p2pchat -w soon: status $rc, want 2" >&2; return 1; }
	"$BIN/p2pchat" 'bad name!' >/dev/null 2>&1; rc=$?
	[ "$rc" -eq 2 ] || { echo "  p2pchat 'bad name!': status $rc, want 2" >&2; return 1; }
	"$BIN/p2pchatd" --bogus >/dev/null 2>"$WORK/usage.err"; rc=$?
	[ "$rc" -eq 2 ] || { echo "  p2pchatd --bogus: status $rc, want 2" >&2; return 1; }
	grep -q '^usage: p2pchatd' "$WORK/usage.err" || { echo "  no usage line" >&2; return 1; }
	"$BIN/p2pchatd" -t 0 >/dev/null 2>&1; rc=$?
	[ "$rc" -eq 2 ] || { echo "  p2pchatd -t 0: status $rc, want 2" >&2; return 1; }
	local bad
	for bad in x lookups=5 register=-1 names=1/2 relay=100/10 stun=5/0; do
		"$BIN/p2pchatd" --limit "$bad" >/dev/null 2>"$WORK/usage.err"; rc=$?
		[ "$rc" -eq 2 ] && grep -q "^p2pchatd: bad limit: $bad" "$WORK/usage.err" ||
			{ echo "  p2pchatd --limit $bad: status $rc, want 2 and 'bad limit'" >&2; return 1; }
	done
}

# The README quotes both programs' --help word for word.
# The programs link libc and nothing else (the cryptography is ours): ldd names no other library.
test_libc_only() {
	local prog others
	for prog in "$BIN/p2pchat" "$BIN/p2pchatd"; do
		others=$(ldd "$prog" | grep -v -E 'linux-vdso|ld-linux|libc\.so|libasan|libubsan|libm\.so|libgcc_s|libstdc\+\+|libpthread|libdl|librt' || true)
		if [ -n "$others" ]; then
			echo "    $prog links more than libc: $others"
			return 1
		fi
	done
}

test_readme_help() {
	local readme=$TOP/README.md prog
	for prog in p2pchatd p2pchat; do
		sed -n "/^\$ $prog --help\$/,/^\(\$ \|\`\`\`\)/p" "$readme" | sed '1d;$d' | sed '/^$/d' >"$WORK/readme.help"
		"$BIN/$prog" --help >"$WORK/real.help"
		if ! diff -u "$WORK/readme.help" "$WORK/real.help" >&2; then
			echo "  README.md's '$prog --help' differs from the program's" >&2
			return 1
		fi
	done
}

# Two clients exchange 200 messages: all arrive, complete, in order, once.
test_200_messages() {
	client bob --stay bob
	wait_for "$WORK/bob.out" "registered as bob" || return 1
	seq 1 200 | sed 's/^/message /' | "$BIN/p2pchat" -s "127.0.0.1:$SERVER_PORT" alice bob \
		>"$WORK/alice.out" 2>"$WORK/alice.err" || { echo "  alice exited $?" >&2; cat "$WORK/alice.out" >&2; return 1; }
	# Usually direct; when bob's copy of the introduction comes a moment after alice's first
	# direct probe, the 200 lines may all go through the relay before the next probe.
	grep -qE '^\* connected to bob via .* \((private|public|relay)\)$' "$WORK/alice.out" ||
		{ echo "  no connected line" >&2; cat "$WORK/alice.out" >&2; return 1; }
	expect_lines "$WORK/bob.out" "<alice> message" 1 200
}

# One-shot scripts chat on the first direct path: the relay carries a line only when a direct
# answer is overdue, which on loopback it never is (issue 13; before, a waiting line took the
# relay at once when its answer came first, and many a script ended on "(relay)").
test_one_shot_direct() {
	local i rc=0
	# A server of its own: each client registers twice (the cookie's round trip), and the
	# shared one allows 127.0.0.1 20 registrations at once (--limit register=2/20).
	start_server "$WORK/oneshot.err" || return 1
	client bob --stay bob
	wait_for "$WORK/bob.out" "registered as bob" || return 1
	for i in 1 2 3 4 5; do
		echo "shot $i" | "$BIN/p2pchat" -s "127.0.0.1:$SERVER_PORT" "alice$i" bob \
			>"$WORK/alice.out" 2>&1 || { echo "  alice$i exited $?" >&2; rc=1; break; }
		if ! grep -q '^\* connected to bob via .* (\(private\|public\))$' "$WORK/alice.out" ||
		   grep -q '(relay)$' "$WORK/alice.out"; then
			echo "  alice$i did not chat directly:" >&2
			cat "$WORK/alice.out" >&2
			rc=1
			break
		fi
	done
	[ "$rc" -eq 0 ] && wait_for "$WORK/bob.out" "<alice5> shot 5" 5 || rc=1
	stop_extra_server
	return "$rc"
}

# A long line (4096 bytes) arrives whole; one byte more is refused and reported.
test_long_line() {
	local line4096 line4097 rc
	line4096=$(head -c 4096 /dev/zero | tr '\0' 'x')
	line4097=${line4096}y
	client bob --stay bob
	wait_for "$WORK/bob.out" "registered as bob" || return 1
	printf '%s\n' "$line4096" | "$BIN/p2pchat" -s "127.0.0.1:$SERVER_PORT" alice bob \
		>"$WORK/alice.out" 2>&1 || { echo "  4096-byte line: alice exited $?" >&2; return 1; }
	grep -qx "<alice> $line4096" "$WORK/bob.out" || { echo "  4096-byte line not received whole" >&2; return 1; }
	printf '%s\n' "$line4097" | "$BIN/p2pchat" -s "127.0.0.1:$SERVER_PORT" alice bob \
		>"$WORK/alice.out" 2>&1; rc=$?
	[ "$rc" -eq 1 ] || { echo "  4097-byte line: status $rc, want 1" >&2; return 1; }
	grep -qx '\* not delivered to bob: "xxxxxxxxxxxxxxxxxxxxxxxx...": longer than 4096 bytes' "$WORK/alice.out" ||
		{ echo "  4097-byte line not reported" >&2; cat "$WORK/alice.out" >&2; return 1; }
}

# Escape sequences from the network reach the terminal defused.
test_sanitized() {
	client bob --stay bob
	wait_for "$WORK/bob.out" "registered as bob" || return 1
	printf 'bell\007 and \033[2J clear\n' | "$BIN/p2pchat" -s "127.0.0.1:$SERVER_PORT" alice bob \
		>/dev/null 2>&1 || return 1
	wait_for "$WORK/bob.out" "<alice> bell" 5 || return 1
	if LC_ALL=C grep -q "$(printf '\033')" "$WORK/bob.out"; then
		echo "  an ESC byte reached bob's output" >&2
		return 1
	fi
	grep -qF '<alice> bell^G and ^[[2J clear' "$WORK/bob.out"
}

# The peer starts after the sender: the message waits for it (-w) and arrives.
test_peer_starts_later() {
	echo "hello late carol" | "$BIN/p2pchat" -s "127.0.0.1:$SERVER_PORT" -w 15 alice carol \
		>"$WORK/alice.out" 2>"$WORK/alice.err" &
	local alice=$!
	PIDS="$PIDS $alice"
	wait_for "$WORK/alice.out" "waiting for carol to come online" || return 1
	client carol --stay carol
	wait "$alice" || { echo "  alice exited $?" >&2; cat "$WORK/alice.out" >&2; return 1; }
	wait_for "$WORK/carol.out" "<alice> hello late carol" 5
}

# kim wants lee before lee is up: the server keeps kim's LOOKUP, and when lee registers both are
# introduced; kim connects without typing a thing (issue 13; before, "* lee is not online", then
# nothing, ever).
test_late_peer_connects() {
	client kim --stay kim lee
	wait_for "$WORK/kim.out" "^\* waiting for lee to come online$" || return 1
	client lee --stay lee
	wait_for "$WORK/kim.out" "^\* connected to lee via " || return 1
	wait_for "$WORK/lee.out" "^\* connected to kim via " || return 1
}

# A peer that never comes: the message is reported undelivered, status 1.
test_undelivered() {
	local rc
	echo "anyone there" | "$BIN/p2pchat" -s "127.0.0.1:$SERVER_PORT" -w 1 alice nobody \
		>"$WORK/alice.out" 2>&1; rc=$?
	[ "$rc" -eq 1 ] || { echo "  status $rc, want 1" >&2; return 1; }
	grep -qx '\* not delivered to nobody: "anyone there": nobody is not online' "$WORK/alice.out"
}

# Files (issue 14): a script sends one; bob saves it with --accept-files, whole, never over
# another; carol, a script without it, refuses, and the sender exits 1 saying why.
test_files() {
	local rc sum
	mkdir -p "$WORK/in"
	head -c 2100000 /dev/urandom >"$WORK/report.pdf"
	sum=$(sha256sum "$WORK/report.pdf" | cut -d' ' -f1)
	client bob --stay --accept-files "$WORK/in" bob
	client carol --stay carol
	wait_for "$WORK/bob.out" "registered as bob" || return 1
	wait_for "$WORK/carol.out" "registered as carol" || return 1
	printf '/send bob %s\n/send bob %s\n' "$WORK/report.pdf" "$WORK/report.pdf" |
		"$BIN/p2pchat" -s "127.0.0.1:$SERVER_PORT" alice >"$WORK/alice.out" 2>&1 ||
		{ echo "  alice exited $?" >&2; cat "$WORK/alice.out" >&2; return 1; }
	[ "$(grep -c '^\* sent report\.pdf to bob: 2100000 bytes in [0-9]*\.[0-9] s$' "$WORK/alice.out")" -eq 2 ] ||
		{ cat "$WORK/alice.out" >&2; return 1; }
	wait_for "$WORK/bob.out" "^\* alice offers report\.pdf (2100000 bytes, sha256 $sum)$" 5 || return 1
	wait_for "$WORK/bob.out" "^\* received report\.pdf from alice: 2100000 bytes, sha256 $sum, saved as $WORK/in/report\.pdf$" 5 || return 1
	wait_for "$WORK/bob.out" "saved as $WORK/in/report (1)\.pdf$" 5 || return 1
	cmp -s "$WORK/report.pdf" "$WORK/in/report.pdf" && cmp -s "$WORK/report.pdf" "$WORK/in/report (1).pdf" ||
		{ echo "  the saved files differ" >&2; return 1; }
	[ -z "$(find "$WORK/in" -name '.p2pchat-*')" ] || { echo "  a partial file was left" >&2; return 1; }
	echo "/send carol $WORK/report.pdf" |
		"$BIN/p2pchat" -s "127.0.0.1:$SERVER_PORT" alice >"$WORK/alice.out" 2>&1; rc=$?
	[ "$rc" -eq 1 ] || { echo "  status $rc, want 1" >&2; return 1; }
	grep -qx '\* file report\.pdf to carol not delivered: the receiver runs in a script without --accept-files DIR' \
		"$WORK/alice.out" || { cat "$WORK/alice.out" >&2; return 1; }
	grep -q '^\* refused report\.pdf from alice: a script takes files only with --accept-files DIR$' "$WORK/carol.out"
}

# A name held by another token is refused; the refused client says why and exits 1.
test_name_taken() {
	local rc
	client dave --stay dave
	wait_for "$WORK/dave.out" "registered as dave" || return 1
	XDG_STATE_HOME=$WORK/other-state "$BIN/p2pchat" -s "127.0.0.1:$SERVER_PORT" --stay dave \
		</dev/null >"$WORK/dave2.out" 2>&1; rc=$?
	[ "$rc" -eq 1 ] || { echo "  status $rc, want 1" >&2; return 1; }
	grep -q '^\* name dave is taken' "$WORK/dave2.out" || { cat "$WORK/dave2.out" >&2; return 1; }
	# The owner (same token) may come back at once, even while its old process lives.
	client bob --stay bob
	wait_for "$WORK/bob.out" "registered as bob" || return 1
	echo "it is me" | "$BIN/p2pchat" -s "127.0.0.1:$SERVER_PORT" dave bob >"$WORK/dave3.out" 2>&1 ||
		{ echo "  the owner could not come back: status $?" >&2; cat "$WORK/dave3.out" >&2; return 1; }
	wait_for "$WORK/bob.out" "<dave> it is me" 5
}

# Unknown commands are refused and send nothing; /peers and /help answer.
test_commands() {
	client bob --stay bob
	wait_for "$WORK/bob.out" "registered as bob" || return 1
	printf '/frobnicate now\n/help\nhi\n/peers\n/me waves\n' |
		"$BIN/p2pchat" -s "127.0.0.1:$SERVER_PORT" alice bob >"$WORK/alice.out" 2>&1 ||
		{ echo "  alice exited $?" >&2; cat "$WORK/alice.out" >&2; return 1; }
	grep -qx '\* unknown command /frobnicate (try /help)' "$WORK/alice.out" || return 1
	grep -q '^\* /msg NAME TEXT' "$WORK/alice.out" || return 1
	wait_for "$WORK/bob.out" '^\* alice waves$' 5 || return 1
	grep -q 'frobnicate' "$WORK/bob.out" && { echo "  the unknown command was sent" >&2; return 1; }
	return 0
}

# The server restarts mid-conversation: the chat goes on, nothing is lost, the
# clients register again and can be looked up.
test_server_restart() {
	local port=$SERVER_PORT alice
	client bob --stay bob
	wait_for "$WORK/bob.out" "registered as bob" || return 1
	fifo_client alice -s "127.0.0.1:$port" alice bob
	alice=$FIFO_PID
	say_numbered alice before 50 "$WORK/bob.out" || return 1

	stop_pid "$SERVER_PID"
	say_numbered alice during 50 "$WORK/bob.out" || return 1

	start_server "$WORK/server2.err" -p "$port" || return 1
	# Each client's next refresh (within 20 s) meets a server that forgot it.
	wait_for_count "$WORK/alice.out" "registered as alice" 2 30 || return 1
	send_numbered after 50
	end_numbered alice "$alice" 50 "$WORK/bob.out" before during after || return 1
	# bob registered again too: a new client finds him through the new server.
	wait_for_count "$WORK/bob.out" "registered as bob" 2 30 || return 1
	echo "found you" | "$BIN/p2pchat" -s "127.0.0.1:$port" erin bob >/dev/null 2>&1 || return 1
	wait_for "$WORK/bob.out" "<erin> found you" 5
}

# stat_value FILE KEY: the value on KEY's line of a --stats output.
stat_value() {
	sed -n "s/^$2 \([0-9][0-9]*\)\$/\1/p" "$1"
}

# The operator's counters: `p2pchatd --stats` asks the running server over loopback and
# prints "key value" lines; SIGUSR1 logs them on one line; no server, no answer: status 1.
test_stats() {
	local key port rc
	"$BIN/p2pchatd" --stats -b 127.0.0.1 -p "$SERVER_PORT" >"$WORK/stats1" 2>"$WORK/stats.err" ||
		{ echo "  --stats exited $?" >&2; cat "$WORK/stats.err" >&2; return 1; }
	# Every key, in this order: scripts rely on them.
	for key in names names_max received registrations refreshes lookups introductions \
		punches_direct punches_relayed who_pages stats_answered stun_answered refused \
		dropped_malformed dropped_wrong_direction dropped_stun dropped_not_loopback \
		relayed relayed_bytes relay_refused relay_over_rate cookies_sent dropped_over_limit \
		dropped_amplifying limited_register limited_lookup limited_relay limited_stun \
		limit_shared dropped_unauthenticated dropped_replayed key_agreements private_refused \
		moves_refused mappings; do
		echo "$key"
	done >"$WORK/keys.want"
	cut -d' ' -f1 "$WORK/stats1" >"$WORK/keys.got"
	diff -u "$WORK/keys.want" "$WORK/keys.got" >&2 || { echo "  the keys differ" >&2; return 1; }
	if grep -vxE '[a-z_]+ [0-9]+' "$WORK/stats1" >&2; then
		echo "  a line is not 'key number'" >&2
		return 1
	fi
	[ "$(stat_value "$WORK/stats1" names_max)" = 100000 ] || { cat "$WORK/stats1" >&2; return 1; }

	# A chat on a direct path moves the counters (no -b: 127.0.0.1 and ::1 are both asked).
	client bob --stay bob
	wait_for "$WORK/bob.out" "registered as bob" || return 1
	echo "count me" | "$BIN/p2pchat" -s "127.0.0.1:$SERVER_PORT" alice bob >/dev/null 2>&1 || return 1
	wait_for "$WORK/bob.out" "<alice> count me" 5 || return 1
	"$BIN/p2pchatd" --stats -p "$SERVER_PORT" >"$WORK/stats2" 2>"$WORK/stats.err" ||
		{ echo "  --stats exited $?" >&2; cat "$WORK/stats.err" >&2; return 1; }
	for key in registrations introductions punches_direct stats_answered; do
		if [ "$(stat_value "$WORK/stats2" $key)" -le "$(stat_value "$WORK/stats1" $key)" ]; then
			echo "  $key did not grow:" >&2
			paste "$WORK/stats1" "$WORK/stats2" >&2
			return 1
		fi
	done
	[ "$(stat_value "$WORK/stats2" punches_relayed)" -eq 0 ] || return 1

	# SIGUSR1: the counters in the log, one line, and the server goes on.
	kill -USR1 "$SERVER_PID"
	wait_for "$WORK/server.err" '^p2pchatd: counters: names [0-9]*, names_max 100000, ' 5 ||
		return 1
	"$BIN/p2pchatd" --stats -p "$SERVER_PORT" >/dev/null 2>&1 || { echo "  the server died" >&2; return 1; }

	# No server on the port (one was there a moment ago): no answer, status 1.
	start_server "$WORK/gone.err" || return 1
	port=$SERVER_PORT
	stop_extra_server
	"$BIN/p2pchatd" --stats -p "$port" >"$WORK/stats3" 2>"$WORK/stats.err"; rc=$?
	[ "$rc" -eq 1 ] || { echo "  --stats with no server: status $rc, want 1" >&2; return 1; }
	[ ! -s "$WORK/stats3" ] && grep -q 'no answer' "$WORK/stats.err"
}

# free_udp_port: a UDP port of 127.0.0.1 nobody held a moment ago (for options that want a number).
free_udp_port() {
	python3 -c 'import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# A server with --alt-port answers the client's MAPPING there (on loopback, no NAT: "keeps"),
# and --stats counts it: `mappings`, on the counters' second page.
test_stats_mappings() {
	local alt rc=0
	alt=$(free_udp_port) || return 1
	start_server "$WORK/alt.err" --alt-port "$alt" || return 1
	"$BIN/p2pchatd" --stats -p "$SERVER_PORT" >"$WORK/stats4" 2>"$WORK/stats.err" || rc=1
	[ "$(stat_value "$WORK/stats4" mappings)" = 0 ] || rc=1
	client olga --stay olga
	wait_for "$WORK/olga.out" "^\* your NAT keeps your port for every destination" 5 || rc=1
	"$BIN/p2pchatd" --stats -p "$SERVER_PORT" >"$WORK/stats5" 2>"$WORK/stats.err" || rc=1
	[ "$(stat_value "$WORK/stats5" mappings)" = 1 ] || rc=1
	kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null
	SERVER_PORT=$MAIN_PORT SERVER_PID=$MAIN_PID
	[ "$rc" -eq 0 ] || { paste "$WORK/stats4" "$WORK/stats5" >&2; cat "$WORK/stats.err" >&2; }
	return "$rc"
}

# /who lists the names online where the server allows it (--allow-who); elsewhere it says so.
test_who() {
	printf '/who\n' | "$BIN/p2pchat" -s "127.0.0.1:$SERVER_PORT" alice >"$WORK/alice.out" 2>&1 ||
		{ echo "  alice exited $?" >&2; cat "$WORK/alice.out" >&2; return 1; }
	grep -qx '\* the server does not list names' "$WORK/alice.out" ||
		{ cat "$WORK/alice.out" >&2; return 1; }

	start_server "$WORK/who.err" --allow-who || return 1
	client bob --stay bob
	client carol --stay carol
	wait_for "$WORK/bob.out" "registered as bob" || return 1
	wait_for "$WORK/carol.out" "registered as carol" || return 1
	printf '/who\n' | "$BIN/p2pchat" -s "127.0.0.1:$SERVER_PORT" alice >"$WORK/alice.out" 2>&1 ||
		{ echo "  alice exited $?" >&2; cat "$WORK/alice.out" >&2; return 1; }
	stop_pid "$SERVER_PID"
	[ "$(sed -n 's/^\* online: //p' "$WORK/alice.out" | tr ' ' '\n' | sort | tr '\n' ' ')" = \
	  "alice bob carol " ] || { echo "  /who listed:" >&2; cat "$WORK/alice.out" >&2; return 1; }

	# That server gone, /who gives up after 5 s and says so; the client does not hang.
	printf '/who\n' | "$BIN/p2pchat" -s "127.0.0.1:$SERVER_PORT" alice >"$WORK/alice.out" 2>&1
	SERVER_PORT=$MAIN_PORT SERVER_PID=$MAIN_PID
	grep -qx '\* the server did not answer /who' "$WORK/alice.out" ||
		{ cat "$WORK/alice.out" >&2; return 1; }
}

# --no-log-addresses puts "-" for clients' addresses; with stderr on the journal
# (JOURNAL_STREAM names it), lines start with their syslog priority.
test_log_privacy() {
	: >"$WORK/private.err"
	JOURNAL_STREAM=$(stat -c '%d:%i' "$WORK/private.err") \
		start_server "$WORK/private.err" --no-log-addresses || return 1
	client dave --stay dave
	wait_for "$WORK/dave.out" "registered as dave" || return 1
	wait_for "$WORK/private.err" "registered dave" 5 || return 1
	stop_extra_server
	grep -qx '<6>registered dave at -' "$WORK/private.err" || { cat "$WORK/private.err" >&2; return 1; }
	grep -qE '^<6>stopping; counters: names 1, ' "$WORK/private.err" || return 1
	# The server's own address stays: scripts read the port from it.
	if grep -v '^<6>listening on 127\.0\.0\.1:' "$WORK/private.err" | grep -E '127\.0\.0\.1|p2pchatd:' >&2; then
		echo "  an address or a program name in the log" >&2
		return 1
	fi
}

# help_descriptions PROG: the descriptions of PROG's options in its --help, one a line,
# continuation lines joined.
help_descriptions() {
	"$BIN/$1" --help | awk '
		/^         +[^ ]/ && d != "" { sub(/^ +/, ""); d = d " " $0; next }
		/^ +-/ { if (d != "") print d; sub(/^ +/, ""); d = substr($0, match($0, /   */)); sub(/^ +/, "", d); next }
		{ if (d != "") print d; d = "" }
		END { if (d != "") print d }'
}

# The man pages: OPTIONS has every long option of --help, with its --help description word
# for word, and groff has nothing to warn about.
test_man_pages() {
	local page prog opt
	for page in p2pchat.1 p2pchatd.8; do
		prog=${page%.*}
		if ! groff -man -ww -z "$TOP/man/$page" 2>"$WORK/man.err" || [ -s "$WORK/man.err" ]; then
			echo "  groff warns about $page:" >&2
			cat "$WORK/man.err" >&2
			return 1
		fi
		groff -man -Tascii -P-cbou "$TOP/man/$page" 2>/dev/null | sed -n '/^OPTIONS/,/^[A-Z]/p' |
			tr -s ' \n' '  ' >"$WORK/man.options"
		for opt in $("$BIN/$prog" --help | grep -oE -- '--[a-z][a-z-]*' | sort -u); do
			grep -qF -- " $opt" "$WORK/man.options" && continue
			echo "  $page: OPTIONS has no $opt" >&2
			return 1
		done
		help_descriptions "$prog" >"$WORK/help.desc"
		[ "$(wc -l <"$WORK/help.desc")" -ge 8 ] || { echo "  cannot read $prog --help" >&2; return 1; }
		while IFS= read -r opt; do
			grep -qF -- "$opt" "$WORK/man.options" && continue
			echo "  $page: OPTIONS does not say, as --help does: $opt" >&2
			return 1
		done <"$WORK/help.desc"
	done
}

# examples/p2pchatd.service: systemd finds nothing wrong with it (its ExecStart pointed at
# this build), and it keeps its sandbox.
test_systemd_unit() {
	local bin setting
	bin=$(cd "$BIN" && pwd)
	sed "s|^ExecStart=/usr/local/sbin/p2pchatd\$|ExecStart=$bin/p2pchatd|" \
		"$TOP/examples/p2pchatd.service" >"$WORK/p2pchatd.service"
	grep -qx "ExecStart=$bin/p2pchatd" "$WORK/p2pchatd.service" ||
		{ echo "  no ExecStart=/usr/local/sbin/p2pchatd in the unit" >&2; return 1; }
	if ! systemd-analyze verify --man=no "$WORK/p2pchatd.service" >"$WORK/verify.out" 2>&1 ||
	   [ -s "$WORK/verify.out" ]; then
		cat "$WORK/verify.out" >&2
		return 1
	fi
	for setting in DynamicUser=yes NoNewPrivileges=yes ProtectSystem=strict ProtectHome=yes \
		PrivateTmp=yes PrivateDevices=yes CapabilityBoundingSet= \
		'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX' RestrictNamespaces=yes \
		LockPersonality=yes MemoryDenyWriteExecute=yes SystemCallArchitectures=native \
		Restart=on-failure; do
		grep -qxF "$setting" "$WORK/p2pchatd.service" && continue
		echo "  the unit lost $setting" >&2
		return 1
	done
}

# Identity keys. RFC 7748 section 6.1's Alice key, as a key file, and its fingerprint
# (base32 of SHA-256 of the public key, computed apart; tests/test_identity.c has the same).
ALICE_KEY='p2pchat identity key v1
secret 77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a'
ALICE_FINGERPRINT='gagj zfqd xeve wopn hfml 7esa cfea jw2p'

# state_dir NAME: a fresh state directory $WORK/NAME (its p2pchat/ made, mode 0700), for XDG_STATE_HOME.
state_dir() {
	rm -rf "${WORK:?}/$1"
	mkdir -p "$WORK/$1/p2pchat"
	chmod 700 "$WORK/$1" "$WORK/$1/p2pchat"
}

# refused STATE NAME PATTERN: p2pchat NAME with XDG_STATE_HOME=$WORK/STATE exits 1 with
# PATTERN on stderr, and registers nothing (it stops before sending).
refused() {
	local rc
	XDG_STATE_HOME=$WORK/$1 "$BIN/p2pchat" -s "127.0.0.1:$SERVER_PORT" "$2" </dev/null \
		>"$WORK/refused.out" 2>"$WORK/refused.err"; rc=$?
	[ "$rc" -eq 1 ] || { echo "  p2pchat $2 in $1: status $rc, want 1" >&2; cat "$WORK/refused.err" >&2; return 1; }
	grep -qF -- "$3" "$WORK/refused.err" ||
		{ echo "  no '$3' in:" >&2; cat "$WORK/refused.err" >&2; return 1; }
	if [ -s "$WORK/refused.out" ] || grep -q "registered $2 " "$WORK/server.err"; then
		echo "  $2 was registered" >&2
		return 1
	fi
}

# owner_keeps_name OWNER_STATE THIEF_STATE NAME: NAME's owner, run with OWNER_STATE,
# registers; a client run with THIEF_STATE, which holds the token planted for the owner,
# must not get NAME (today's p2pchat used the planted token, and the thief took the name).
owner_keeps_name() {
	XDG_STATE_HOME=$WORK/$1 client "$3" --stay "$3"
	wait_for "$WORK/$3.out" "registered as $3" || return 1
	XDG_STATE_HOME=$WORK/$2 client thief --stay "$3"
	wait_for "$WORK/thief.out" "registered as $3\|name $3 is taken" || return 1
	grep -q "^\* name $3 is taken" "$WORK/thief.out" ||
		{ echo "  the holder of the planted token got $3:" >&2; cat "$WORK/thief.out" >&2; return 1; }
}

# A symbolic link where the token or the key file would be is never written through.
# (Today's p2pchat wrote its token through a link at NAME.token.)
test_symlinked_files() {
	state_dir linked
	printf 'precious\n' >"$WORK/victim.token"
	printf 'precious\n' >"$WORK/victim.key"
	ln -s "$WORK/victim.token" "$WORK/linked/p2pchat/mallory.token"
	XDG_STATE_HOME=$WORK/linked "$BIN/p2pchat" -s "127.0.0.1:$SERVER_PORT" mallory </dev/null \
		>/dev/null 2>&1 || { echo "  p2pchat mallory exited $?" >&2; return 1; }
	[ "$(cat "$WORK/victim.token")" = precious ] ||
		{ echo "  victim.token was written through mallory.token" >&2; return 1; }
	[ -L "$WORK/linked/p2pchat/mallory.token" ] || { echo "  the token link is gone" >&2; return 1; }
	ln -s "$WORK/victim.key" "$WORK/linked/p2pchat/nina.key"
	refused linked nina "nina.key is a symbolic link: a key file must be a regular file; remove the link" ||
		return 1
	[ "$(cat "$WORK/victim.key")" = precious ] || { echo "  victim.key was written through nina.key" >&2; return 1; }
}

# A token file planted world-readable, by someone who keeps a copy, is not used: the copy
# does not get the name (today's p2pchat used the token without a word, and the copy did).
# A world-readable key file is refused.
test_planted_readable() {
	state_dir planted
	printf 0123456789abcdef >"$WORK/planted/p2pchat/frank.token"
	chmod 644 "$WORK/planted/p2pchat/frank.token"
	state_dir thief
	printf 0123456789abcdef >"$WORK/thief/p2pchat/frank.token"
	owner_keeps_name planted thief frank || return 1
	grep -qF "frank.token is no longer used" "$WORK/frank.err" ||
		{ echo "  nothing said about frank.token:" >&2; cat "$WORK/frank.err" >&2; return 1; }

	state_dir readable
	printf '%s\n' "$ALICE_KEY" >"$WORK/readable/p2pchat/grace.key"
	chmod 644 "$WORK/readable/p2pchat/grace.key"
	refused readable grace "grace.key is readable by group or others (mode 0644): chmod 600 $WORK/readable/p2pchat/grace.key" ||
		return 1
	[ "$(stat -c %a "$WORK/readable/p2pchat/grace.key")" = 644 ] || { echo "  grace.key's mode changed" >&2; return 1; }
}

# A token of 16 characters that are not hex is not read as 0000000000000000 (today's
# sscanf("%2x") took each "0x" as 0, so whoever held 0000000000000000 got the name).
# A key whose 64 digits are not hex is refused, and kept as it is.
test_non_hex() {
	state_dir nonhex
	state_dir zero
	printf 0x0x0x0x0x0x0x0x >"$WORK/nonhex/p2pchat/heidi.token"
	printf 0000000000000000 >"$WORK/zero/p2pchat/heidi.token"
	owner_keeps_name nonhex zero heidi || return 1

	printf 'p2pchat identity key v1\nsecret %s\n' \
		0x0x0x0x0x0x0x0x0x0x0x0x0x0x0x0x0x0x0x0x0x0x0x0x0x0x0x0x0x0x0x0x \
		>"$WORK/nonhex/p2pchat/judy.key"
	chmod 600 "$WORK/nonhex/p2pchat/judy.key"
	cp "$WORK/nonhex/p2pchat/judy.key" "$WORK/judy.key.before"
	refused nonhex judy 'judy.key is not a p2pchat identity key (its second line is not "secret " and 64 lowercase hexadecimal digits)' ||
		return 1
	cmp -s "$WORK/nonhex/p2pchat/judy.key" "$WORK/judy.key.before" ||
		{ echo "  judy.key was changed" >&2; return 1; }
}

# --fingerprint: one stable line, the one the client logs, made on first use; the key is the name's owner.
test_fingerprint() {
	local first second logged
	state_dir fp
	export XDG_STATE_HOME=$WORK/fp
	first=$("$BIN/p2pchat" --fingerprint ivan) || { echo "  --fingerprint exited $?" >&2; return 1; }
	second=$("$BIN/p2pchat" --fingerprint ivan) || return 1
	export XDG_STATE_HOME=$WORK/state
	[ "$first" = "$second" ] || { echo "  '$first', then '$second'" >&2; return 1; }
	echo "$first" | grep -qxE 'ivan [a-z2-7]{4}( [a-z2-7]{4}){7}' ||
		{ echo "  not 'ivan' and 8 groups of base32: '$first'" >&2; return 1; }
	[ "$(stat -c %a "$WORK/fp/p2pchat/ivan.key")" = 600 ] || { echo "  ivan.key is not mode 600" >&2; return 1; }
	# The client reports the same fingerprint (-v) ...
	XDG_STATE_HOME=$WORK/fp client ivan -v --stay ivan
	wait_for "$WORK/ivan.out" "registered as ivan" || return 1
	logged=$(sed -n "s/^p2pchat: ivan's key fingerprint: //p" "$WORK/ivan.err")
	[ "ivan $logged" = "$first" ] || { echo "  the client logged '$logged', --fingerprint '$first'" >&2; return 1; }
	# ... and its key owns the name: a copy of ivan.key elsewhere takes ivan back at once.
	state_dir fp2
	cp -p "$WORK/fp/p2pchat/ivan.key" "$WORK/fp2/p2pchat/ivan.key"
	XDG_STATE_HOME=$WORK/fp2 client ivan2 --stay ivan
	wait_for "$WORK/ivan2.out" "registered as ivan\|name ivan is taken" || return 1
	grep -q "^\* registered as ivan" "$WORK/ivan2.out" || { cat "$WORK/ivan2.out" >&2; return 1; }
	# A known key: RFC 7748's Alice.
	state_dir known
	printf '%s\n' "$ALICE_KEY" >"$WORK/known/p2pchat/alice.key"
	chmod 600 "$WORK/known/p2pchat/alice.key"
	[ "$(XDG_STATE_HOME=$WORK/known "$BIN/p2pchat" --fingerprint alice)" = "alice $ALICE_FINGERPRINT" ] ||
		{ echo "  RFC 7748 Alice's fingerprint differs" >&2; return 1; }
	"$BIN/p2pchat" --fingerprint alice bob >/dev/null 2>&1
	[ $? -eq 2 ] || { echo "  --fingerprint NAME PEER: want status 2" >&2; return 1; }
}

start_server "$WORK/server.err" || { echo "FAIL the server did not start"; cat "$WORK/server.err"; exit 1; }
# Tests that start a server of their own put these back in SERVER_PORT and SERVER_PID.
MAIN_PORT=$SERVER_PORT
MAIN_PID=$SERVER_PID

# The server's key: --print-key prints what the server logged at start; a client given it with
# --server-key registers, one with no key pins it in known_servers at first contact, and one
# with another key is refused clearly, exits 1 and registers nothing.
test_server_key() {
	local key logged wrong
	key=$("$BIN/p2pchatd" --print-key --state-dir "$WORK/p2pchatd") ||
		{ echo "  --print-key exited $?" >&2; return 1; }
	echo "$key" | grep -qxE '[0-9a-f]{64}' || { echo "  not 64 hex digits: '$key'" >&2; return 1; }
	logged=$(sed -n "s/^p2pchatd: the server's key: //p" "$WORK/server.err" | head -n 1)
	[ "$key" = "$logged" ] || { echo "  --print-key '$key', the server logged '$logged'" >&2; return 1; }
	[ "$(stat -c %a "$WORK/p2pchatd/server.key")" = 600 ] || { echo "  server.key is not 600" >&2; return 1; }
	# Given up front: it registers, and the file is left alone.
	state_dir sk1
	XDG_STATE_HOME=$WORK/sk1 client kate --server-key "$key" --stay kate
	wait_for "$WORK/kate.out" "registered as kate" || return 1
	[ ! -e "$WORK/sk1/p2pchat/known_servers" ] || { echo "  --server-key wrote known_servers" >&2; return 1; }
	# First contact: pinned, as HOST:PORT KEY.
	state_dir sk2
	XDG_STATE_HOME=$WORK/sk2 client liam --stay liam
	wait_for "$WORK/liam.out" "registered as liam" || return 1
	grep -qx "127.0.0.1:$SERVER_PORT $key" "$WORK/sk2/p2pchat/known_servers" ||
		{ echo "  known_servers:" >&2; cat "$WORK/sk2/p2pchat/known_servers" >&2; return 1; }
	# Another key: refused, loudly, never fatal on its own; with no input it gives up (exit 1).
	wrong=$(printf '%s' "$key" | tr '0-9a-f' '1-9a-f0')
	state_dir sk3
	XDG_STATE_HOME=$WORK/sk3 "$BIN/p2pchat" -s "127.0.0.1:$SERVER_PORT" --server-key "$wrong" mona \
		</dev/null >"$WORK/mona.out" 2>"$WORK/mona.err"
	[ $? -eq 1 ] || { echo "  a wrong --server-key did not exit 1" >&2; return 1; }
	grep -qF "* WARNING: the server at 127.0.0.1:$SERVER_PORT has another key than --server-key gave" \
		"$WORK/mona.out" || { cat "$WORK/mona.out" "$WORK/mona.err" >&2; return 1; }
	! grep -q "registered as" "$WORK/mona.out" || return 1
	# A pinned key that changed: the same, naming the file to edit.
	sed -i "s/ $key\$/ $wrong/" "$WORK/sk2/p2pchat/known_servers"
	XDG_STATE_HOME=$WORK/sk2 "$BIN/p2pchat" -s "127.0.0.1:$SERVER_PORT" nina </dev/null \
		>"$WORK/nina.out" 2>"$WORK/nina.err"
	grep -qF "has a new key (or someone pretends to be it); nothing was sent. If the operator changed it, remove its line from $WORK/sk2/p2pchat/known_servers" \
		"$WORK/nina.out" || { cat "$WORK/nina.out" "$WORK/nina.err" >&2; return 1; }
	# Not a key at all: a usage error.
	"$BIN/p2pchat" --server-key xyz alice </dev/null >/dev/null 2>&1
	[ $? -eq 2 ] || { echo "  --server-key xyz did not exit 2" >&2; return 1; }
}

check "usage errors exit 2" test_usage_errors
check "the README quotes --help exactly" test_readme_help
check "200 messages arrive in order" test_200_messages
check "one-shot scripts chat on a direct path" test_one_shot_direct
check "a 4096-byte line arrives whole" test_long_line
check "escape sequences are defused" test_sanitized
check "the peer starts after the sender" test_peer_starts_later
check "a peer that comes later is connected to without typing" test_late_peer_connects
check "an undeliverable message is reported" test_undelivered
check "a taken name is refused" test_name_taken
check "files: sent by a script, saved whole, never over another; refused by a script" test_files
check "commands" test_commands
check "p2pchatd --stats and SIGUSR1 give the counters" test_stats
check "--alt-port: MAPPING answered, counted in --stats (mappings)" test_stats_mappings
check "/who, where the server allows it" test_who
check "--no-log-addresses, and priorities for the journal" test_log_privacy
check "the man pages list every option of --help" test_man_pages
check "p2pchat and p2pchatd link libc alone" test_libc_only
if command -v systemd-analyze >/dev/null 2>&1; then
	check "examples/p2pchatd.service passes systemd-analyze verify" test_systemd_unit
else
	echo "skip examples/p2pchatd.service: no systemd-analyze here (apt-get install systemd)"
fi
check "the server restarts mid-conversation" test_server_restart
check "a symlinked token or key file is not written through" test_symlinked_files
check "a world-readable key is refused, a planted token not used" test_planted_readable
check "a non-hex key is refused, a non-hex token is not zero" test_non_hex
check "--fingerprint: one stable line, as the client reports it" test_fingerprint
check "the server's key: --print-key, --server-key, pinned, a wrong one refused" test_server_key

summary integration
