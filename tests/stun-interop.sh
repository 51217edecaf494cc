#!/usr/bin/env bash
# tests/stun-interop.sh - real STUN clients (Debian's) learn their address from p2pchatd.
# Usage: BIN=build bash tests/stun-interop.sh   (make stun-interop does this)
# Every server binds loopback on a port the kernel picks; nothing leaves this machine.
# Missing clients are installed (Debian, as root); failing that, it skips, or fails when $CI is set.
. "$(dirname "$0")/lib.sh"
lib_setup


have_clients() {
	command -v turnutils_stunclient >/dev/null 2>&1 && command -v stun >/dev/null 2>&1
}

if ! have_clients && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "stun-interop: installing coturn stun-client"
	export DEBIAN_FRONTEND=noninteractive
	{ apt-get update -qq && apt-get install -y -qq coturn stun-client; } >"$WORK/apt.log" 2>&1 ||
		sed 's/^/    /' "$WORK/apt.log" | tail -n 5 >&2
fi
if ! have_clients; then
	if [ -n "${CI:-}" ]; then
		echo "FAIL clients: no turnutils_stunclient (coturn) or stun (stun-client)"
		failed=1
		summary stun-interop
		exit 1
	fi
	echo "skip stun-interop: no turnutils_stunclient or stun (Debian: coturn, stun-client)"
	summary
	exit 0
fi

# counter ADDR PORT NAME: one counter of the p2pchatd at ADDR PORT (p2pchatd --stats).
counter() {
	"$BIN/p2pchatd" --stats -b "$1" -p "$2" | sed -n "s/^$3 //p"
}

# expect_answered ADDR PORT BEFORE N: the server answered N more STUN requests and dropped none.
expect_answered() {
	local answered dropped
	answered=$(counter "$1" "$2" stun_answered)
	dropped=$(counter "$1" "$2" dropped_stun)
	if [ "$answered" != $(($3 + $4)) ] || [ "$dropped" != 0 ]; then
		echo "  server counted $answered answered (want $(($3 + $4))), $dropped dropped" >&2
		return 1
	fi
}

# The ports the kernel hands out when a socket binds port 0.
read -r EPHEMERAL_LO EPHEMERAL_HI </proc/sys/net/ipv4/ip_local_port_range

# turnutils_stunclient ADDR PORT: one RFC 5389 Binding request; it prints
# "0: : IPv4. UDP reflexive addr: 127.0.0.1:59495". Its source port is the
# kernel's choice and it does not tell it, so the port is checked to be one
# the kernel could have chosen, and the server's counter to have moved by one.
test_turnutils() {
	local addr=$1 port=$2 out=$WORK/turnutils.out before got mapped_port
	before=$(counter "$addr" "$port" stun_answered)
	timeout 10 turnutils_stunclient -p "$port" "$addr" >"$out" 2>&1
	got=$(sed -n 's/.*UDP reflexive addr: \(.*\):\([0-9][0-9]*\)$/\1 \2/p' "$out" | head -n 1)
	mapped_port=${got##* }
	if [ "${got% *}" != "$addr" ] || [ "$mapped_port" -lt "$EPHEMERAL_LO" ] ||
	   [ "$mapped_port" -gt "$EPHEMERAL_HI" ]; then
		echo "  want $addr and an ephemeral port; turnutils_stunclient said:" >&2
		sed 's/^/    /' "$out" >&2
		return 1
	fi
	expect_answered "$addr" "$port" "$before" 1
}

# stun 127.0.0.1:PORT -v: the classic (RFC 3489) client. It opens a random
# port, says so ("Opened port 30893 with fd 3"), sends a Binding request
# with CHANGE-REQUEST asking no change, and prints
# "MappedAddress = 127.0.0.1:30893". Its NAT-type tests then ask for a
# change of address and port, which p2pchatd cannot make: 420 (RFC 8489, 12).
test_stun_client() {
	local port=$1 out=$WORK/stun.out before local_port mapped
	before=$(counter 127.0.0.1 "$port" stun_answered)
	timeout 30 stun "127.0.0.1:$port" -v >"$out" 2>&1
	local_port=$(sed -n 's/^Opened port \([0-9][0-9]*\) with fd.*/\1/p' "$out" | head -n 1)
	mapped=$(sed -n 's/^MappedAddress = //p' "$out" | head -n 1)
	if [ -z "$local_port" ] || [ "$mapped" != "127.0.0.1:$local_port" ]; then
		echo "  want MappedAddress = 127.0.0.1:$local_port; stun said:" >&2
		sed 's/^/    /' "$out" >&2
		return 1
	fi
	if ! grep -q '^ErrorCode = 4 20 *$' "$out" || grep -q 'problem parsing' "$out"; then
		echo "  want a 420 it can parse for CHANGE-REQUEST; stun said:" >&2
		sed 's/^/    /' "$out" >&2
		return 1
	fi
	# Test I, then II and III (change address, change port): three answers.
	expect_answered 127.0.0.1 "$port" "$before" 3
}

if start_server "$WORK/server4.log"; then
	PORT4=$SERVER_PORT
	check turnutils_stunclient_ipv4 test_turnutils 127.0.0.1 "$PORT4"
	check stun_client_ipv4 test_stun_client "$PORT4"
else
	check server_ipv4 false
fi

# stun-client speaks IPv4 only; turnutils_stunclient also IPv6.
if grep -q ' lo$' /proc/net/if_inet6 2>/dev/null; then
	if start_server "$WORK/server6.log" -b ::1; then
		check turnutils_stunclient_ipv6 test_turnutils ::1 "$SERVER_PORT"
	else
		check server_ipv6 false
	fi
else
	echo "skip turnutils_stunclient_ipv6: no IPv6 loopback"
fi

summary stun-interop
