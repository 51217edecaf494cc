#!/usr/bin/env bash
# tests/natlab.sh - the NAT lab: network namespaces, real Linux NATs, real p2pchat processes.
# Usage, as root: BIN=build bash tests/natlab.sh  (make natlab; make test runs it as root)
# NATLAB_ONLY=REGEX runs the tests whose names match; NATLAB_KEEP=1 keeps the logs.
# Run as another user it skips, saying why. examples/demo-nat.sh sources it for its lab_* functions.
#
# Every test builds its own lab and tears it down on every exit path. Nothing is added to the
# root namespace (no address, no route, no veth end): each box below is a namespace this script
# made, named nl<pid>-<lab>-<box>, and every address lives on a veth inside them.
#
#                       +---------------------------------------------+
#                       | inet: the internet, a router                |
#                       | the delay (tests/nfdelay.c) and loss live   |
#                       | here, on every packet that crosses it; the  |
#                       | lossy path's faults only between a and b    |
#                       +---------------------------------------------+
#                  203.0.113.1 |      198.51.100.1 |         192.0.2.1 |
#                              |                   |                   |
#                 srv 203.0.113.10    natA 198.51.100.2 (pub)   natB 192.0.2.2 (pub)
#                 p2pchatd            MASQUERADE                MASQUERADE      (or a public host
#                                     10.0.1.1 (lan bridge)     10.0.2.1         at 192.0.2.2)
#                                      |            |            |
#                               hostA 10.0.1.2  hostA2 10.0.1.3  hostB 10.0.2.2
#
# NAT types, as Linux makes them (RFC 4787's terms):
#   cone       MASQUERADE keeps the host's port and maps every destination alike
#              (endpoint-independent mapping); inbound passes only where the host sent
#              first (address- and port-dependent filtering): a port-restricted cone.
#   symmetric  MASQUERADE --random-fully: a new random port for every destination.
# Both drop unsolicited inbound packets, as home routers do, and neither hairpins.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"   # set -u, BIN, TOP; wait_for; PIDS

SRV_IP=203.0.113.10
declare -A SIDE_NET=([a]=198.51.100 [b]=192.0.2)  # inet is .1 on a side, the NAT or host .2
NL_RUN="nl$$"     # prefix of every namespace of this run
NL_LABS=0         # labs built so far
NL_P=""           # the current lab's namespace prefix
NL_NS=""          # namespaces of the current lab
NL_FDS=""         # FIFO write ends held open (clients' stdin)
NL_DIR=""         # the current lab's logs
NL_SERVER=""      # ADDR:PORT of the lab's p2pchatd
declare -A NL_FD NL_IP NL_LAN

# ---- building a lab ----

# lab_in BOX CMD...: runs CMD inside the current lab's namespace BOX.
lab_in() {
	local box=$1
	shift
	ip netns exec "$NL_P$box" "$@"
}

# lab_ns BOX: makes namespace BOX with loopback up and IPv6 off (the lab is IPv4).
lab_ns() {
	ip netns add "$NL_P$1" || return 1
	NL_NS="$NL_NS $NL_P$1"
	ip -n "$NL_P$1" link set lo up && lab_in "$1" sysctl -qw \
		net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
}

# lab_link BOX1 IF1 ADDR1 BOX2 IF2 ADDR2: a veth pair between two boxes, both ends up.
# ADDR is ip/len, or - for none. Both ends are made inside their namespaces at once.
lab_link() {
	ip link add name "$2" netns "$NL_P$1" type veth peer name "$5" netns "$NL_P$4" || return 1
	[ "$3" = - ] || ip -n "$NL_P$1" addr add "$3" dev "$2" || return 1
	[ "$6" = - ] || ip -n "$NL_P$4" addr add "$6" dev "$5" || return 1
	ip -n "$NL_P$1" link set dev "$2" up && ip -n "$NL_P$4" link set dev "$5" up
}

# lab_spawn IN OUT ERR CMD...: runs CMD in the background (stdin IN, stdout OUT, stderr ERR),
# without the FIFO ends this script holds: a client must see only its own writer.
lab_spawn() {
	local in=$1 out=$2 err=$3 fd
	shift 3
	(
		for fd in $NL_FDS; do exec {fd}>&-; done
		exec "$@"
	) <"$in" >"$out" 2>"$err" &
	PIDS="$PIDS $!"
}

# lab_start: a new lab: the internet router, and the server on 203.0.113.10. Sets NL_SERVER.
lab_start() {
	local port
	NL_LABS=$((NL_LABS + 1))
	NL_P="$NL_RUN-$NL_LABS-"
	NL_DIR="$WORK/lab$NL_LABS"
	mkdir -p "$NL_DIR" || return 1
	lab_ns inet && lab_in inet sysctl -qw net.ipv4.ip_forward=1 &&
		lab_ns srv && lab_link inet srv 203.0.113.1/24 srv eth0 "$SRV_IP/24" &&
		ip -n "$NL_P"srv route add default via 203.0.113.1 || return 1
	lab_spawn /dev/null /dev/null "$NL_DIR/server.log" \
		ip netns exec "$NL_P"srv "$BIN/p2pchatd" -b "$SRV_IP" -p 0 -v
	wait_for "$NL_DIR/server.log" "listening on" 10 || return 1
	port=$(sed -n 's/.*listening on .*:\([0-9][0-9]*\)$/\1/p' "$NL_DIR/server.log" | head -n 1)
	[ -n "$port" ] || return 1
	NL_SERVER="$SRV_IP:$port"
}

# lab_nat BOX SIDE TYPE LAN: a NAT router (TYPE cone or symmetric) on SIDE (a or b) of the
# internet, with a LAN bridge at LAN.1/24 (LAN like 10.0.1) for its hosts.
lab_nat() {
	local box=$1 net=${SIDE_NET[$2]} random=""
	[ "$3" = symmetric ] && random=--random-fully
	lab_ns "$box" && lab_link inet "$2" "$net.1/24" "$box" pub "$net.2/24" &&
		ip -n "$NL_P$box" route add default via "$net.1" &&
		ip -n "$NL_P$box" link add name lan type bridge &&
		ip -n "$NL_P$box" addr add "$4.1/24" dev lan &&
		ip -n "$NL_P$box" link set dev lan up || return 1
	NL_LAN[$box]=$4
	# The NAT, then the firewall of a home router: inbound only where a mapping exists.
	lab_in "$box" sysctl -qw net.ipv4.ip_forward=1 && lab_in "$box" bash -c "
		iptables -t nat -A POSTROUTING -o pub -j MASQUERADE $random &&
		iptables -A FORWARD -i pub -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT &&
		iptables -A FORWARD -i pub -j DROP &&
		iptables -A INPUT -i pub -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT &&
		iptables -A INPUT -i pub -j DROP"
}

# lab_host BOX NAT N: a host at LAN.N on the NAT's LAN, its default route through the NAT.
lab_host() {
	local lan=${NL_LAN[$2]}
	lab_ns "$1" && lab_link "$2" "l-$1" - "$1" eth0 "$lan.$3/24" &&
		ip -n "$NL_P$2" link set dev "l-$1" master lan &&
		ip -n "$NL_P$1" route add default via "$lan.1" || return 1
	NL_IP[$1]=$lan.$3
}

# lab_public_host BOX SIDE: a host with a public address on SIDE of the internet, no NAT.
lab_public_host() {
	local net=${SIDE_NET[$2]}
	lab_ns "$1" && lab_link inet "$2" "$net.1/24" "$1" eth0 "$net.2/24" &&
		ip -n "$NL_P$1" route add default via "$net.1" || return 1
	NL_IP[$1]=$net.2
}

# lab_nat_timeout NAT SECONDS: the NAT forgets an idle UDP flow after SECONDS (both the
# one-way and the two-way timeout; the defaults are 30 s and 120 s).
lab_nat_timeout() {
	lab_in "$1" sysctl -qw net.netfilter.nf_conntrack_udp_timeout="$2" \
		net.netfilter.nf_conntrack_udp_timeout_stream="$2"
}

# lab_delay MS [LOSS]: every packet crossing the internet is held MS ms on the link it comes in
# by and MS ms on the link it leaves by (nfdelay, queue 0, both hooks), and LOSS (a probability,
# like 0.05) of them is dropped. Returns when the delay is in force.
lab_delay() {
	local ms=$1 loss=${2:-0} rule
	if [ "$ms" -gt 0 ]; then
		lab_spawn /dev/null /dev/null "$NL_DIR/nfdelay.log" \
			ip netns exec "$NL_P"inet "$BIN/nfdelay" -d "$ms" -t 600
		wait_for "$NL_DIR/nfdelay.log" "holding each packet" 5 || return 1
		for rule in PREROUTING POSTROUTING; do
			lab_in inet iptables -t mangle -A "$rule" -j NFQUEUE --queue-num 0 \
				--queue-bypass || return 1
		done
	fi
	if [ "$loss" != 0 ]; then
		lab_in inet iptables -A FORWARD -m statistic --mode random --probability "$loss" \
			-j DROP
	fi
}

# lab_lossy_path LOSS DUP JITTER_MS: faults on the path between the two sides of the internet,
# where a direct chat between side a and side b crosses (the server's link keeps none). Of the
# packets crossing from one side to the other, in each direction: LOSS (a probability, like
# 0.2) are dropped; DUP of the rest are duplicated (iptables' TEE: the copy goes out at once);
# and every one is held 0..JITTER_MS ms at random by an nfdelay of its own (queue 1 for a to b,
# 2 for b to a), so they leave out of order. Sets NL_JITTER_PIDS (the two nfdelays, a to b
# first); their logs are nfdelay-a2b.log and nfdelay-b2a.log. Returns when all is in force.
lab_lossy_path() {
	local loss=$1 dup=$2 jitter=$3 dir from to queue gw
	NL_JITTER_PIDS=""
	for dir in a2b b2a; do
		from=${dir:0:1} to=${dir:2:1} queue=1 gw=${SIDE_NET[$to]}.2
		[ "$dir" = b2a ] && queue=2
		lab_spawn /dev/null /dev/null "$NL_DIR/nfdelay-$dir.log" ip netns exec \
			"$NL_P"inet "$BIN/nfdelay" -q "$queue" -d 0 -j "$jitter" -t 300
		NL_JITTER_PIDS="$NL_JITTER_PIDS ${PIDS##* }"
		wait_for "$NL_DIR/nfdelay-$dir.log" "holding each packet" 5 || return 1
		# In this order: a dropped packet is not copied; a copy is not held (it is sent
		# from inside TEE, past this chain), so it arrives before its original.
		lab_in inet bash -c "
			iptables -t mangle -A FORWARD -i $from -o $to \
				-m statistic --mode random --probability $loss -j DROP &&
			iptables -t mangle -A FORWARD -i $from -o $to \
				-m statistic --mode random --probability $dup -j TEE --gateway $gw &&
			iptables -t mangle -A FORWARD -i $from -o $to \
				-j NFQUEUE --queue-num $queue --queue-bypass" || return 1
	done
}

# fault_count TARGET FROM TO: packets that the lossy path's TARGET rule (DROP or TEE) from side
# FROM to side TO took so far.
fault_count() {
	lab_in inet iptables -t mangle -L FORWARD -v -n -x |
		awk -v t="$1" -v i="$2" -v o="$3" '$3 == t && $6 == i && $7 == o { print $1 }'
}

# lab_stop PID: stops one process of the lab (an nfdelay, say) before the teardown would, waits
# for it, and forgets it, so the teardown never signals its number again.
lab_stop() {
	local pid rest=""
	kill "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	for pid in $PIDS; do [ "$pid" = "$1" ] || rest="$rest $pid"; done
	PIDS=$rest
}

# lab_teardown: stops every process of the lab, deletes its namespaces.
lab_teardown() {
	local fd pid ns
	for fd in $NL_FDS; do exec {fd}>&-; done
	NL_FDS=""
	stop_all
	for ns in $NL_NS; do
		# Whatever still runs inside would keep the namespace alive; all of it is ours.
		for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
		ip netns del "$ns" 2>/dev/null
	done
	NL_NS=""
	NL_FD=() NL_IP=() NL_LAN=()
}

# lab_init: makes WORK and sets the traps that tear every lab down. Returns 1, having made
# nothing, when not run as root.
lab_init() {
	[ "$(id -u)" -eq 0 ] || return 1
	WORK=$(mktemp -d) || exit 1
	export XDG_STATE_HOME=$WORK/state  # the owner tokens of the lab's names
	trap 'lab_teardown; [ -n "${NATLAB_KEEP:-}" ] || rm -rf "$WORK"' EXIT
	trap 'exit 1' INT TERM
}

# lab_preflight: says on stderr why the lab cannot be built here, if it cannot; returns 1 then.
lab_preflight() {
	local cmd ns="$NL_RUN-check" err
	for cmd in ip iptables conntrack sysctl ping; do
		command -v "$cmd" >/dev/null 2>&1 ||
			{ echo "  $cmd is missing (make deps installs it)" >&2; return 1; }
	done
	for cmd in p2pchatd p2pchat nfdelay; do
		[ -x "$BIN/$cmd" ] ||
			{ echo "  $BIN/$cmd is not built (make natlab builds it)" >&2; return 1; }
	done
	if ! err=$(ip netns add "$ns" 2>&1); then
		echo "  cannot create a network namespace: $err" >&2
		return 1
	fi
	err=$(ip netns exec "$ns" bash -c '
		iptables -t nat -A POSTROUTING -j MASQUERADE --random-fully &&
		iptables -t mangle -A PREROUTING -j NFQUEUE --queue-num 0 --queue-bypass &&
		iptables -A FORWARD -m statistic --mode random --probability 0.5 -j DROP &&
		sysctl -qw net.netfilter.nf_conntrack_udp_timeout=5' 2>&1)
	local rc=$?
	ip netns del "$ns"
	[ "$rc" -eq 0 ] && return 0
	echo "  iptables or conntrack do not work in a namespace: $err" >&2
	return 1
}

# ---- clients ----

# lab_client BOX NAME PEER [OPTIONS...]: starts `p2pchat -v --stay OPTIONS NAME [PEER]` in BOX
# (PEER - for none). Its stdin is a FIFO held open on NL_FD[NAME]; stdout and stderr go to
# $NL_DIR/NAME.out and .err.
lab_client() {
	local box=$1 name=$2 peer=$3 fd
	shift 3
	[ "$peer" = - ] && peer=""
	mkfifo "$NL_DIR/$name.in" || return 1
	lab_spawn "$NL_DIR/$name.in" "$NL_DIR/$name.out" "$NL_DIR/$name.err" ip netns exec \
		"$NL_P$box" "$BIN/p2pchat" -s "$NL_SERVER" -v --stay "$@" "$name" $peer
	exec {fd}>"$NL_DIR/$name.in"
	NL_FD[$name]=$fd
	NL_FDS="$NL_FDS $fd"
	NL_IP[$name]=${NL_IP[$box]}
}

# lab_type NAME LINE...: NAME's client reads each LINE as if typed.
lab_type() {
	local name=$1
	shift
	printf '%s\n' "$@" >&"${NL_FD[$name]}"
}

# registered_ep NAME: the public endpoint the server told NAME.
registered_ep() {
	sed -n "s/^\* registered as $1 (public \(.*\))\$/\1/p" "$NL_DIR/$1.out" | tail -n 1
}

# connected NAME PEER [N]: "ADDR KIND" of NAME's Nth (default: first) connection to PEER.
connected() {
	sed -n "s/^\* connected to $2 via \(.*\) (\([a-z]*\))\$/\1 \2/p" "$NL_DIR/$1.out" |
		sed -n "${3:-1}p"
}

# wait_until SECONDS CMD...: runs CMD every 50 ms until it succeeds, for at most SECONDS.
wait_until() {
	local tries=$(( $1 * 20 ))
	shift
	until "$@"; do
		[ "$tries" -gt 0 ] || return 1
		sleep 0.05
		tries=$((tries - 1))
	done
}

# now_us: microseconds of the wall clock, for reporting how long something took.
now_us() {
	echo "${EPOCHREALTIME/./}"
}

# lab_pair A HOSTA B HOSTB [OPTIONS...]: B starts, then A starts and asks for B; waits until
# both say they are connected (NL_CONNECT_WAIT s at most, default 15). Sets NL_CONNECT_MS
# (from A's start to A's "connected" line), NL_PATH_A and NL_PATH_B ("ADDR KIND" each side).
lab_pair() {
	local a=$1 ha=$2 b=$3 hb=$4 t0
	shift 4
	NL_CONNECT_MS="" NL_PATH_A="" NL_PATH_B=""
	lab_client "$hb" "$b" - "$@" || return 1
	wait_for "$NL_DIR/$b.out" "^\* registered as $b " 10 || return 1
	t0=$(now_us)
	lab_client "$ha" "$a" "$b" "$@" || return 1
	wait_for "$NL_DIR/$a.out" "^\* connected to $b " "${NL_CONNECT_WAIT:-15}" || return 1
	NL_CONNECT_MS=$(( ($(now_us) - t0) / 1000 ))
	wait_for "$NL_DIR/$b.out" "^\* connected to $a " "${NL_CONNECT_WAIT:-15}" || return 1
	NL_PATH_A=$(connected "$a" "$b")
	NL_PATH_B=$(connected "$b" "$a")
}

# count FILE PATTERN: how many lines of FILE match PATTERN.
count() {
	grep -c -- "$2" "$1" 2>/dev/null
}

# in_order FILE PREFIX N: FILE's lines starting with PREFIX are "PREFIX 1".."PREFIX N", in order,
# once each. Otherwise says where the first one differs.
in_order() {
	local diff
	diff=$(awk -v p="$2 " -v n="$3" '
		index($0, p) != 1 { next }
		{ got++ }
		got > n || $0 != p got { print "such line " got " is \"" $0 "\", want \"" \
			(got > n ? "none" : p got) "\""; bad = 1; exit }
		END { if (!bad && got < n) print "only " got + 0 " such lines" }' "$1")
	[ -z "$diff" ] && return 0
	echo "  $1: want '$2 1'..'$2 $3', in order, once each; $diff" >&2
	return 1
}

# lab_exchange A B N TAG [SECONDS]: A sends B the lines "TAG a2b 1".."TAG a2b N" and B sends A
# "TAG b2a 1".."N" (with /msg, so they go out even before a connection), then waits until
# each arrived or was reported not delivered (SECONDS, default 20, at most). Sets
# NL_DELIVERED (lines that arrived, both ways). Returns 0 when all arrived, in order, once.
lab_exchange() {
	local a=$1 b=$2 n=$3 tag=$4 fa0 fb0
	fa0=$(count "$NL_DIR/$a.out" "^\* message to $b not delivered")
	fb0=$(count "$NL_DIR/$b.out" "^\* message to $a not delivered")
	seq 1 "$n" | sed "s|^|/msg $b $tag a2b |" >&"${NL_FD[$a]}"
	seq 1 "$n" | sed "s|^|/msg $a $tag b2a |" >&"${NL_FD[$b]}"
	wait_until "${5:-20}" exchange_done
	NL_DELIVERED=$(( $(count "$NL_DIR/$b.out" "^<$a> $tag a2b ") +
			 $(count "$NL_DIR/$a.out" "^<$b> $tag b2a ") ))
	in_order "$NL_DIR/$b.out" "<$a> $tag a2b" "$n" &&
		in_order "$NL_DIR/$a.out" "<$b> $tag b2a" "$n"
}

# exchange_done: lab_exchange's lines (its a b n tag fa0 fb0) have all arrived or failed.
exchange_done() {
	local got_a got_b lost_a lost_b
	got_b=$(count "$NL_DIR/$b.out" "^<$a> $tag a2b ")
	got_a=$(count "$NL_DIR/$a.out" "^<$b> $tag b2a ")
	lost_a=$(( $(count "$NL_DIR/$a.out" "^\* message to $b not delivered") - fa0 ))
	lost_b=$(( $(count "$NL_DIR/$b.out" "^\* message to $a not delivered") - fb0 ))
	[ $((got_b + lost_a)) -ge "$n" ] && [ $((got_a + lost_b)) -ge "$n" ]
}

# ---- looking at the NATs ----

# nat_flows NAT IP: the NAT's UDP flows from IP, one a line: "DESTINATION:PORT PUBLIC_PORT"
# (the port the NAT gave the flow, as the reply direction shows it).
nat_flows() {
	lab_in "$1" conntrack -L -p udp -s "$2" 2>/dev/null | awk '{
		n = 0; dst = ""; port = ""; pub = ""
		for (i = 1; i <= NF; i++) {
			split($i, kv, "=")
			if (kv[1] == "dst" && dst == "") dst = kv[2]
			if (kv[1] == "dport" && ++n == 1) port = kv[2]
			if (kv[1] == "dport" && n == 2) pub = kv[2]
		}
		print dst ":" port, pub
	}'
}

# nat_has_flow NAT IP DEST_IP: the NAT holds a UDP flow from IP to DEST_IP.
nat_has_flow() {
	nat_flows "$1" "$2" | grep -q "^$3:"
}

nat_lacks_flow() {
	! nat_has_flow "$@"
}

# expect_mapping NAT IP WANT: the NAT maps IP's flows as WANT says, in RFC 4787's words:
# independent (one public port for every destination) or dependent (a port per destination).
# Needs flows to two destinations or more to judge by.
expect_mapping() {
	local flows ports got=dependent
	flows=$(nat_flows "$1" "$2")
	ports=$(awk '{ print $2 }' <<<"$flows" | sort -u | grep -c .)
	[ "$ports" -eq 1 ] && got=independent
	[ "$(grep -c . <<<"$flows")" -ge 2 ] && [ "$got" = "$3" ] && return 0
	echo "  $1 maps $2 endpoint-$got, want endpoint-$3; its flows" \
	     "(destination, public port):" >&2
	sed 's/^/    /' <<<"$flows" >&2
	return 1
}

# nat_keeps_flows SECONDS NAT IP DEST...: for SECONDS, every half second, NAT holds a flow from
# IP to each DEST (NAT IP DEST repeat in threes). Fails at the first one missing.
nat_keeps_flows() {
	local rounds=$(( $1 * 2 )) i
	shift
	while [ "$rounds" -gt 0 ]; do
		for ((i = 1; i <= $#; i += 3)); do
			local nat=${!i} j=$((i + 1)) k=$((i + 2))
			nat_has_flow "$nat" "${!j}" "${!k}" ||
				{ echo "  $nat forgot the flow ${!j} -> ${!k}" >&2; return 1; }
		done
		sleep 0.5
		rounds=$((rounds - 1))
	done
}

# ---- the tests ----

passed=0
failed=0
NL_NOTE=""

# selected NAME: NATLAB_ONLY=REGEX runs only the tests whose names match.
selected() {
	[ -z "${NATLAB_ONLY:-}" ] || grep -qE -- "$NATLAB_ONLY" <<<"$1"
}

# check NAME FUNCTION: runs one test in a fresh lab, counts it, tears the lab down.
check() {
	local name=$1 f
	selected "$name" || return 0
	NL_NOTE=""
	if lab_start && "$2"; then
		echo "ok   $name"
		[ -z "$NL_NOTE" ] || echo "     ($NL_NOTE)"
		passed=$((passed + 1))
	else
		echo "FAIL $name"
		for f in "$NL_DIR"/*.out; do
			[ -s "$f" ] && { echo "  $f:"; sed 's/^/    /' "$f"; } >&2
		done
		if [ -n "${NATLAB_KEEP:-}" ]; then
			echo "  every log: $NL_DIR" >&2
		else
			echo "  (NATLAB_KEEP=1 keeps every log, the clients' -v included)" >&2
		fi
		failed=$((failed + 1))
	fi
	lab_teardown
}

# expect_path NAME PEER KIND: NAME reached PEER on a KIND path at the right address: a public
# path at the endpoint the server saw for PEER, a private one at PEER's own address.
expect_path() {
	local line addr kind want
	line=$(connected "$1" "$2")
	addr=${line% *} kind=${line##* }
	case $3 in
	public) want=$(registered_ep "$2") ;;
	private) want=${NL_IP[$2]}:${addr##*:} ;;
	*) want=$addr ;;
	esac
	[ "$kind" = "$3" ] && [ -n "$addr" ] && [ "$addr" = "$want" ] && return 0
	echo "  $1 connected to $2 via '$line'; want a $3 path, at $want" >&2
	return 1
}

# lab_topology NAME: builds the NATs and hosts of topology NAME in the current lab and sets
# NL_HOST_A and NL_HOST_B, where alice and bob run:
#   cone-cone            alice behind cone NAT A, bob behind cone NAT B
#   same-nat             both behind cone NAT A, on one LAN (NAT A does not hairpin)
#   public-cone          alice behind cone NAT A, bob on a public address
#   symmetric-cone       alice behind symmetric NAT A, bob behind cone NAT B
#   symmetric-symmetric  both behind symmetric NATs
lab_topology() {
	local typea=cone typeb=cone
	NL_HOST_A=hostA NL_HOST_B=hostB
	case $1 in
	symmetric-cone) typea=symmetric ;;
	symmetric-symmetric) typea=symmetric typeb=symmetric ;;
	esac
	lab_nat natA a "$typea" 10.0.1 && lab_host hostA natA 2 || return 1
	case $1 in
	same-nat) NL_HOST_B=hostA2; lab_host hostA2 natA 3 ;;
	public-cone) NL_HOST_B=pubB; lab_public_host pubB b ;;
	*) lab_nat natB b "$typeb" 10.0.2 && lab_host hostB natB 2 ;;
	esac
}

# chat_test TOPOLOGY KIND N [DELAY_MS [LOSS]]: alice and bob in TOPOLOGY connect on a KIND
# path (both sides), and N lines each way arrive in order, once.
chat_test() {
	lab_topology "$1" && lab_delay "${4:-0}" "${5:-0}" || return 1
	lab_pair alice "$NL_HOST_A" bob "$NL_HOST_B" || return 1
	expect_path alice bob "$2" && expect_path bob alice "$2" || return 1
	lab_exchange alice bob "$3" chat 60 || return 1
	NL_NOTE="alice connected in $NL_CONNECT_MS ms"
}

test_cone_cone() {
	chat_test cone-cone public 20 &&
		expect_mapping natA "${NL_IP[hostA]}" independent &&
		expect_mapping natB "${NL_IP[hostB]}" independent
}

test_same_nat() {
	chat_test same-nat private 20 || return 1
	# NAT A does not hairpin: nothing sent to its public address came back in.
	if grep -q "recv PROBE.* from ${SIDE_NET[a]}.2:" "$NL_DIR/alice.err" "$NL_DIR/bob.err"; then
		echo "  NAT A hairpinned a probe" >&2
		return 1
	fi
}

test_public_cone() { chat_test public-cone public 20; }
test_symmetric_cone() { chat_test symmetric-cone relay 20; }
test_symmetric_symmetric() { chat_test symmetric-symmetric relay 20; }
test_delay_loss_relay() { chat_test symmetric-cone relay 100 25 0.05; }

# NAT A turns from symmetric into cone mid-chat (its rule replaced and its state flushed, as a
# router's new firmware might): the relayed chat looks for a direct path every 30 s, finds it,
# moves there on both sides, and no line is lost on the way.
test_relay_upgrade() {
	local t0
	chat_test symmetric-cone relay 10 || return 1
	t0=$(now_us)
	lab_in natA bash -c 'iptables -t nat -F POSTROUTING &&
		iptables -t nat -A POSTROUTING -o pub -j MASQUERADE && conntrack -F' \
		>/dev/null 2>&1 || return 1
	lab_exchange alice bob 10 after-change 40 || return 1
	wait_for "$NL_DIR/alice.out" \
		"^\* connected to bob via ${SIDE_NET[b]}\.2:[0-9]* (public)\$" 40 &&
		wait_for "$NL_DIR/bob.out" \
		"^\* connected to alice via ${SIDE_NET[a]}\.2:[0-9]* (public)\$" 5 || return 1
	NL_NOTE="direct $(( ($(now_us) - t0) / 1000 )) ms after NAT A turned cone"
	lab_exchange alice bob 10 direct 20
}
test_delay_cone_cone() { chat_test cone-cone public 20 25; }
test_delay_same_nat() { chat_test same-nat private 20 25; }
test_delay_public_cone() { chat_test public-cone public 20 25; }

# 25 ms per link and 5% of the packets crossing the internet lost: still direct, nothing lost.
test_delay_loss() {
	chat_test cone-cone public 100 25 0.05 || return 1
	# /peers: the round trip crosses four delayed links (4 x 25 ms).
	local rtt
	lab_type alice /peers
	wait_for "$NL_DIR/alice.out" "^\* peer bob connected" 5 || return 1
	rtt=$(sed -n 's/^\* peer bob connected .* rtt \([0-9]*\) ms$/\1/p' "$NL_DIR/alice.out")
	[ -n "$rtt" ] && [ "$rtt" -ge 90 ] ||
		{ echo "  /peers rtt '$rtt' ms, want >= 90" >&2; return 1; }
	NL_NOTE="$NL_NOTE; /peers rtt $rtt ms"
}

# The lossy link: 20% of the packets between the peers lost, 10% duplicated, every one held
# 0..30 ms at random (so reordered), both ways. Alice and bob still punch a direct path, and
# 1000 lines from alice arrive at bob exactly once, in order. The faults must really have
# happened: every fault rule and both nfdelays count more than 0.
test_lossy_link() {
	local n=1000 t0 ms dir from to drops copies reord pid figures=""
	lab_topology cone-cone && lab_lossy_path 0.2 0.1 30 || return 1
	lab_pair alice hostA bob hostB || return 1
	expect_path alice bob public && expect_path bob alice public || return 1
	t0=$(now_us)
	seq 1 "$n" | sed 's/^/lossy /' >&"${NL_FD[alice]}"
	wait_until 60 lossy_done "$n" ||
		{ echo "  bob did not get line $n within 60 s" >&2; return 1; }
	ms=$(( ($(now_us) - t0) / 1000 ))
	# Stop reordering (nfdelay lets go of all it holds), then one more line: once it is
	# there, bob has had every packet that was held back, and a late duplicate line
	# would show among the ones checked below.
	for pid in $NL_JITTER_PIDS; do lab_stop "$pid"; done
	lab_type alice "end of the lossy lines"
	wait_for "$NL_DIR/bob.out" "^<alice> end of the lossy lines\$" 10 || return 1
	in_order "$NL_DIR/bob.out" "<alice> lossy" "$n" || return 1
	if [ "$(count "$NL_DIR/alice.out" "^\* connected to bob")" -ne 1 ] ||
	   [ "$(count "$NL_DIR/bob.out" "^\* connected to alice")" -ne 1 ]; then
		echo "  the peers left their direct path:" >&2
		grep -h "^\* connected" "$NL_DIR/alice.out" "$NL_DIR/bob.out" >&2
		return 1
	fi
	for dir in a2b b2a; do
		from=${dir:0:1} to=${dir:2:1}
		drops=$(fault_count DROP "$from" "$to")
		copies=$(fault_count TEE "$from" "$to")
		reord=$(sed -n 's/.* \([0-9]*\) reordered,.*/\1/p' "$NL_DIR/nfdelay-$dir.log")
		figures="$figures; $from to $to: $drops dropped, $copies duplicated, $reord reordered"
		[ "${drops:-0}" -gt 0 ] && [ "${copies:-0}" -gt 0 ] && [ "${reord:-0}" -gt 0 ] ||
			{ echo "  not every fault happened${figures}" >&2; return 1; }
	done
	NL_NOTE="$n lines in $ms ms$figures"
}

# lossy_done N: bob has alice's line N, or alice gave up on a line or on bob.
lossy_done() {
	grep -q "^<alice> lossy $1\$" "$NL_DIR/bob.out" ||
		grep -q "^\* message to bob not delivered\|^\* bob is offline" "$NL_DIR/alice.out"
}

# ping_min BOX ADDR: the smallest round trip of three pings, in whole ms.
ping_min() {
	lab_in "$1" ping -n -q -c 3 -i 0.2 -W 2 "$2" |
		sed -n 's|^rtt [^=]*= \([0-9]*\)[.0-9]*/.*|\1|p'
}

# The delay helper: 25 ms on each of the four links a ping from NAT A to the server and back
# crosses; without it the rules let traffic pass; it stops by itself after -t.
test_lab_delay() {
	local before during after
	lab_topology cone-cone || return 1
	before=$(ping_min natA "$SRV_IP")
	lab_delay 25 || return 1
	during=$(ping_min natA "$SRV_IP")
	lab_stop "${PIDS##* }"
	after=$(ping_min natA "$SRV_IP")
	NL_NOTE="ping NAT A to server: $before ms, $during ms with the delay, $after ms after it"
	[ -n "$before" ] && [ "$before" -lt 50 ] ||
		{ echo "  ping before the delay: '$before' ms" >&2; return 1; }
	[ -n "$during" ] && [ "$during" -ge 96 ] ||
		{ echo "  ping with 4 x 25 ms: '$during' ms, want >= 96" >&2; return 1; }
	[ -n "$after" ] && [ "$after" -lt 50 ] ||
		{ echo "  ping after nfdelay stopped: '$after' ms" >&2; return 1; }
	lab_spawn /dev/null /dev/null "$NL_DIR/nfdelay2.log" \
		ip netns exec "$NL_P"inet "$BIN/nfdelay" -q 1 -d 5 -t 1
	wait_until 5 grep -q "packets delayed" "$NL_DIR/nfdelay2.log" ||
		{ echo "  nfdelay -t 1 did not stop by itself within 5 s" >&2; return 1; }
}

# The lab's NAT types are what they say: the symmetric NAT gives each destination its own
# port, the cone NAT one port for all (whatever the clients make of it).
test_lab_nat_types() {
	lab_topology symmetric-cone || return 1
	# alice asks for bob once: he must be registered by then, or she is told he is not online.
	lab_client hostB bob - && wait_for "$NL_DIR/bob.out" "^\* registered as bob " 10 &&
		lab_client hostA alice bob || return 1
	# Wait until each has probed the other's public endpoint through its NAT.
	wait_until 10 nat_has_flow natA "${NL_IP[hostA]}" "${SIDE_NET[b]}.2" &&
		wait_until 10 nat_has_flow natB "${NL_IP[hostB]}" "${SIDE_NET[a]}.2" ||
		{ echo "  no probes went out" >&2; return 1; }
	expect_mapping natA "${NL_IP[hostA]}" dependent &&
		expect_mapping natB "${NL_IP[hostB]}" independent
}

# keepalive_test NAT_TIMEOUT IDLE [OPTIONS...]: alice and bob (cone NATs that forget an idle
# flow after NAT_TIMEOUT s) connect, stay idle IDLE s while both NATs keep their flows to the
# other's NAT all along, then chat on the same connection (no reconnection).
keepalive_test() {
	local timeout=$1 idle=$2
	shift 2
	lab_topology cone-cone && lab_nat_timeout natA "$timeout" &&
		lab_nat_timeout natB "$timeout" && lab_pair alice hostA bob hostB "$@" || return 1
	nat_keeps_flows "$idle" natA "${NL_IP[hostA]}" "${SIDE_NET[b]}.2" \
		natB "${NL_IP[hostB]}" "${SIDE_NET[a]}.2" || return 1
	lab_exchange alice bob 5 after-idle 5 || return 1
	if [ "$(count "$NL_DIR/alice.out" "^\* connected to bob")" -ne 1 ] ||
	   [ "$(count "$NL_DIR/bob.out" "^\* connected to alice")" -ne 1 ] ||
	   grep -q "is offline" "$NL_DIR/alice.out" "$NL_DIR/bob.out"; then
		echo "  the connection did not survive the idle time" >&2
		return 1
	fi
}

# Without keepalives under its timeout, a NAT does forget: the check above can fail.
test_nat_timeout_forgets() {
	lab_topology cone-cone && lab_nat_timeout natA 3 && lab_nat_timeout natB 3 &&
		lab_pair alice hostA bob hostB || return 1
	wait_until 10 nat_lacks_flow natA "${NL_IP[hostA]}" "${SIDE_NET[b]}.2" ||
		{ echo "  NAT A kept an idle flow 10 s with a 3 s timeout" >&2; return 1; }
}

test_keepalive_short() { keepalive_test 5 12 --keepalive 2; }
test_keepalive_default() { keepalive_test 30 40; }

# NAT A loses its state (conntrack flushed) mid-chat: it maps alice anew (here to the same
# port, as MASQUERADE prefers); the chat goes on and nothing is lost.
test_nat_flush() {
	local t0
	chat_test cone-cone public 10 || return 1
	t0=$(now_us)
	lab_in natA conntrack -F 2>/dev/null || return 1
	lab_exchange alice bob 20 after-flush 40 || return 1
	NL_NOTE="all lines arrived $(( ($(now_us) - t0) / 1000 )) ms after the flush; connections:"
	NL_NOTE="$NL_NOTE $(count "$NL_DIR/alice.out" "^\* connected to bob")"
}

# NAT A loses its state and maps alice to a new port from then on (as a rebooted router
# may): alice and bob notice, reconnect through the new mapping, and nothing is lost;
# alice's next refresh learns her new public endpoint.
test_nat_new_mapping() {
	local t0
	chat_test cone-cone public 10 || return 1
	t0=$(now_us)
	lab_in natA iptables -t nat -I POSTROUTING 1 -o pub -p udp -j MASQUERADE \
		--to-ports 20000-20999 && lab_in natA conntrack -F 2>/dev/null || return 1
	lab_exchange alice bob 20 after-remap 40 || return 1
	local new_ep="${SIDE_NET[a]}.2:20[0-9][0-9][0-9]"
	wait_for "$NL_DIR/bob.out" "^\* connected to alice via $new_ep " 5 || return 1
	NL_NOTE="all lines arrived $(( ($(now_us) - t0) / 1000 )) ms after the NAT forgot"
	wait_for "$NL_DIR/alice.out" "^\* registered as alice (public $new_ep)" 25 || return 1
	NL_NOTE="$NL_NOTE; alice re-registered after $(( ($(now_us) - t0) / 1000 )) ms"
}

natlab_main() {
	if ! lab_init; then
		echo "natlab: skipped: the lab needs root (network namespaces, iptables)"
		exit 0
	fi
	local why
	if ! why=$(lab_preflight 2>&1); then
		echo "FAIL the lab can be built here: ${why#  }"
		echo "natlab: 0 passed, 1 failed"
		exit 1
	fi
	check "lab: the delay helper holds every link 25 ms, and stops" test_lab_delay
	check "lab: symmetric NAT maps each destination apart, cone NAT alike" test_lab_nat_types
	check "cone NAT and cone NAT: direct, public" test_cone_cone
	check "one NAT without hairpin: direct, private" test_same_nat
	check "public host and cone NAT: direct, public" test_public_cone
	check "symmetric NAT and cone NAT: relayed, all delivered" test_symmetric_cone
	check "symmetric NAT and symmetric NAT: relayed, all delivered" test_symmetric_symmetric
	check "25 ms per link and 5% loss, symmetric and cone: relayed, 100 lines each way" \
		test_delay_loss_relay
	check "a symmetric NAT turns cone: the relayed chat moves to a direct path" \
		test_relay_upgrade
	check "25 ms per link: cone and cone, direct, public" test_delay_cone_cone
	check "25 ms per link: one NAT, direct, private" test_delay_same_nat
	check "25 ms per link: public and cone, direct, public" test_delay_public_cone
	check "25 ms per link and 5% loss: 100 lines each way, /peers rtt" test_delay_loss
	check "20% loss, duplication and reordering between peers: 1000 lines once, in order" \
		test_lossy_link
	check "a 3 s NAT timeout forgets an idle flow" test_nat_timeout_forgets
	check "keepalive 2 s holds 5 s NAT timeouts open over 12 s idle" test_keepalive_short
	check "the default keepalive holds 30 s NAT timeouts open over 40 s idle" \
		test_keepalive_default
	check "conntrack flushed mid-chat: nothing lost" test_nat_flush
	check "NAT maps anew mid-chat: reconnect, re-register, nothing lost" test_nat_new_mapping
	echo "natlab: $passed passed, $failed failed"
	[ "$failed" -eq 0 ]
}

# Run, unless sourced (examples/demo-nat.sh uses the lab_* functions).
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	natlab_main "$@"
fi
