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
#   sequential nft snat from a counter: a new port for every destination, the next one up.
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
declare -A NL_FD NL_IP NL_LAN NL_PUB  # by client; by host; by router: LAN prefix, pub address
declare -A NL_PID NL_HOSTOF NL_UP     # by client: pid, box; by box: the router above it
declare -A NL_HAIRPIN NL_MAPPING NL_FILTERING  # by NAT: nat_hairpin's ranges; its hooks' kinds
declare -A NL_SERVER_OF NL_LAN6   # by client: the server's address it uses, when not NL_SERVER;
				  # by router: its IPv6 LAN prefix (lab6_router)

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

# lab_start: a new lab: the internet router, and the server on 203.0.113.10 (with the options
# in NL_SERVER_OPTS, if set). Sets NL_SERVER.
lab_start() {
	local port
	NL_LABS=$((NL_LABS + 1))
	NL_P="$NL_RUN-$NL_LABS-"
	NL_DIR="$WORK/lab$NL_LABS"
	mkdir -p "$NL_DIR" || return 1
	# The internet carries no private (RFC 1918) or shared (RFC 6598) addresses: a datagram to
	# one dies at its router, counted (lab:no-route), as it would at a real ISP's edge.
	lab_ns inet && lab_in inet sysctl -qw net.ipv4.ip_forward=1 && lab_in inet bash -c '
		for net in 10.0.0.0/8 100.64.0.0/10; do
			iptables -t raw -A PREROUTING -d $net -p udp -m comment \
				--comment lab:no-route -j DROP || exit 1
		done' && lab_ns srv && lab_link inet srv 203.0.113.1/24 srv eth0 "$SRV_IP/24" &&
		ip -n "$NL_P"srv route add default via 203.0.113.1 || return 1
	lab_spawn /dev/null /dev/null "$NL_DIR/server.log" \
		ip netns exec "$NL_P"srv "$BIN/p2pchatd" -b "$SRV_IP" -p 0 -v ${NL_SERVER_OPTS:-}
	wait_for "$NL_DIR/server.log" "listening on" 10 || return 1
	port=$(sed -n 's/.*listening on .*:\([0-9][0-9]*\)$/\1/p' "$NL_DIR/server.log" | head -n 1)
	[ -n "$port" ] || return 1
	NL_SERVER="$SRV_IP:$port"
}

# ---- routers and NATs ----
#
# A NAT here is a router box with two sides: `pub`, toward the internet (or toward a carrier
# NAT above it), and `lan`, a bridge its hosts hang on. What kind of NAT it is comes from two
# hooks, set apart as RFC 4787 sets them apart: one for its mapping (section 4.1: which
# external port an inside endpoint gets, for which destinations) and one for its filtering
# (section 5: which outside packets it lets in to a mapping). Each hook is a few iptables rules
# in the box; every rule that drops a datagram carries a comment (lab:...), so nat_drops can
# say which rule killed how many.

# lab_router BOX LAN: a router box with forwarding on and a LAN bridge at LAN.1/24 (LAN like
# 10.0.1), no uplink yet (lab_uplink or lab_uplink_under), no NAT yet (the hooks below).
lab_router() {
	lab_ns "$1" && lab_in "$1" sysctl -qw net.ipv4.ip_forward=1 \
		net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.default.send_redirects=0 &&
		ip -n "$NL_P$1" link add name lan type bridge &&
		ip -n "$NL_P$1" addr add "$2.1/24" dev lan &&
		ip -n "$NL_P$1" link set dev lan up || return 1
	NL_LAN[$1]=$2
}

# lab_uplink BOX SIDE: BOX's `pub` on SIDE (a or b) of the internet, at SIDE's .2.
lab_uplink() {
	local net=${SIDE_NET[$2]}
	lab_link inet "$2" "$net.1/24" "$1" pub "$net.2/24" &&
		ip -n "$NL_P$1" route add default via "$net.1" || return 1
	NL_PUB[$1]=$net.2
}

# lab_uplink_under BOX PARENT N: BOX's `pub` on PARENT's LAN at LAN.N (a home NAT under a
# carrier's NAT), its default route through PARENT.
lab_uplink_under() {
	local lan=${NL_LAN[$2]}
	lab_link "$2" "l-$1" - "$1" pub "$lan.$3/24" &&
		ip -n "$NL_P$2" link set dev "l-$1" master lan &&
		ip -n "$NL_P$1" route add default via "$lan.1" || return 1
	NL_PUB[$1]=$lan.$3 NL_UP[$1]=$2
}

# nat_eim BOX [LO-HI]: endpoint-independent mapping (RFC 4787, 4.1): one external port for an
# inside endpoint, whatever the destination. Linux's MASQUERADE keeps the inside port when it
# is free, and for a later flow from the same endpoint reuses the port its earlier flows got
# (nf_nat's find_appropriate_src), so every destination sees one port. With LO-HI the
# ports come from that range (a port then names its inside address; nat_hairpin uses that).
nat_eim() {
	NL_MAPPING[$1]=eim
	if [ -n "${2:-}" ]; then
		lab_in "$1" iptables -t nat -A POSTROUTING -o pub -p udp -j MASQUERADE \
			--to-ports "$2" || return 1
	fi
	lab_in "$1" iptables -t nat -A POSTROUTING -o pub -j MASQUERADE
}

# nat_adm BOX: address-dependent mapping (RFC 4787, 4.1): one external port per inside
# endpoint and destination address, whatever the destination port. Linux has no such mode;
# nft makes it: the port is a hash of the inside endpoint and the destination address (nft's
# jhash; its byte order scatters the port over the whole range, which does no harm here).
nat_adm() {
	NL_MAPPING[$1]=adm
	lab_in "$1" nft -f - <<-EOT
	table ip lab_adm {
		chain post {
			type nat hook postrouting priority srcnat; policy accept;
			oifname "pub" meta l4proto udp snat to ${NL_PUB[$1]}:jhash ip saddr . udp sport . ip daddr mod 20000 offset 20000
		}
	}
	EOT
}

# nat_apdm BOX: address- and port-dependent mapping (RFC 4787, 4.1; RFC 3489's "symmetric"):
# a new random external port for every destination address and port (MASQUERADE
# --random-fully).
nat_apdm() {
	NL_MAPPING[$1]=apdm
	lab_in "$1" iptables -t nat -A POSTROUTING -o pub -j MASQUERADE --random-fully
}

# nat_apdf BOX: address- and port-dependent filtering (RFC 4787, 5): from outside only what
# answers a flow from inside, exactly: conntrack's ESTABLISHED. Anything else is new to
# conntrack: sent to one of the NAT's ports, it is addressed to the NAT itself (INPUT), and to
# an inside address it would be forwarded (FORWARD); both drop it (lab:filter). An inside
# packet to the NAT's own public address (hairpinning, RFC 4787, 6) finds no socket there
# either; lab:no-hairpin counts those (nat_hairpin replaces that rule).
nat_apdf() {
	local pub=${NL_PUB[$1]} chain
	NL_FILTERING[$1]=apdf
	for chain in INPUT FORWARD; do
		lab_in "$1" iptables -A "$chain" -i pub -m conntrack --ctstate ESTABLISHED,RELATED \
			-j ACCEPT || return 1
		lab_in "$1" iptables -A "$chain" -i pub -p udp -m comment --comment lab:filter \
			-j DROP || return 1
		lab_in "$1" iptables -A "$chain" -i pub -j DROP || return 1
	done
	lab_in "$1" iptables -I INPUT 1 -i lan -d "$pub" -p udp -m comment \
		--comment lab:no-hairpin -j DROP
}

# nat_eif BOX HOST_IP: endpoint-independent filtering (RFC 4787, 5; with nat_eim, RFC 3489's
# "full cone"): a datagram from anywhere to a NAT port goes in, to HOST_IP at the same port.
# Linux has no such mode; this rule makes it for one host behind a port-keeping mapping (it
# also lets in datagrams to ports no mapping holds; the host's kernel refuses those).
nat_eif() {
	NL_FILTERING[$1]=eif
	lab_in "$1" iptables -t nat -A PREROUTING -i pub -p udp -j DNAT --to-destination "$2" &&
		lab_in "$1" iptables -I FORWARD 1 -i pub -m conntrack --ctstate DNAT -j ACCEPT
}

# nat_hairpin BOX ADDR=LO-HI...: hairpinning (RFC 4787, 6, REQ-9): a datagram from inside to
# the NAT's own public address at port P goes back in to the inside address whose ports
# LO-HI hold P, from the sender's public endpoint ("external source IP address and port").
# Linux hairpins only where a rule says where a port belongs, hence the ranges: each inside
# router maps into its own (nat_eim BOX LO-HI), and this NAT keeps ports.
nat_hairpin() {
	local box=$1 pub=${NL_PUB[$1]} spec ports
	shift
	lab_in "$box" iptables -D INPUT -i lan -d "$pub" -p udp -m comment \
		--comment lab:no-hairpin -j DROP 2>/dev/null
	NL_HAIRPIN[$box]="$*"
	for spec in "$@"; do
		ports=${spec#*=}
		lab_in "$box" iptables -t nat -A PREROUTING -i lan -d "$pub" -p udp \
			--dport "${ports/-/:}" -j DNAT --to-destination "${spec%%=*}" || return 1
	done
	lab_in "$box" iptables -t nat -A POSTROUTING -o lan -m conntrack --ctstate DNAT \
		-s "${NL_LAN[$box]}.0/24" -p udp -j SNAT --to-source "$pub"
}

# lab_nat BOX SIDE KIND LAN: a home NAT router on SIDE (a or b) of the internet with its LAN at
# LAN.1/24. KIND: cone (nat_eim + nat_apdf: RFC 3489's port-restricted cone), symmetric
# (nat_apdm + nat_apdf), or MAPPING-FILTERING of the hooks (like adm-apdf or eim-eif; eif
# needs the one host, at LAN.2).
lab_nat() {
	local kind=$3
	case $kind in
	cone) kind=eim-apdf ;;
	symmetric) kind=apdm-apdf ;;
	esac
	lab_router "$1" "$4" && lab_uplink "$1" "$2" && lab_nat_kind "$1" "$kind"
}

# lab_nat_kind BOX MAPPING-FILTERING: runs the two hooks (nat_eim and nat_apdf for eim-apdf).
lab_nat_kind() {
	local map=${2%-*} filter=${2#*-}
	"nat_$map" "$1" || return 1
	case $filter in
	eif) nat_apdf "$1" && nat_eif "$1" "${NL_LAN[$1]}.2" ;;
	*) "nat_$filter" "$1" ;;
	esac
}

# nat_kind BOX: the NAT's kind by its hooks: cone (eim-apdf), symmetric (apdm-apdf), or
# MAPPING-FILTERING; "+hairpin" when it hairpins.
nat_kind() {
	local kind=${NL_MAPPING[$1]:-?}-${NL_FILTERING[$1]:-?}
	case $kind in
	eim-apdf) kind=cone ;;
	apdm-apdf) kind=symmetric ;;
	esac
	echo "$kind${NL_HAIRPIN[$1]:++hairpin}"
}

# lab_host BOX NAT N: a host at LAN.N on the NAT's LAN, its default route through the NAT.
lab_host() {
	local lan=${NL_LAN[$2]}
	lab_ns "$1" && lab_link "$2" "l-$1" - "$1" eth0 "$lan.$3/24" &&
		ip -n "$NL_P$2" link set dev "l-$1" master lan &&
		ip -n "$NL_P$1" route add default via "$lan.1" || return 1
	NL_IP[$1]=$lan.$3 NL_UP[$1]=$2
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
	NL_DELAY_MS=$ms
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
			-m comment --comment lab:loss -j DROP
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
	NL_FD=() NL_IP=() NL_LAN=() NL_PUB=() NL_PID=() NL_HOSTOF=() NL_UP=() NL_HAIRPIN=()
	NL_MAPPING=() NL_FILTERING=() NL_SERVER_OF=() NL_LAN6=()
	NL_DELAY_MS=0
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
	for cmd in p2pchatd p2pchat nfdelay udpcap; do
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
		"$NL_P$box" "$BIN/p2pchat" -s "${NL_SERVER_OF[$name]:-$NL_SERVER}" -v --stay "$@" \
		"$name" $peer
	NL_PID[$name]=${PIDS##* } NL_HOSTOF[$name]=$box
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

# ---- watching a punch: captures, the ladder, the NATs' tables and counters ----

# lab_capture_start BOX...: a capture of the UDP datagrams on each BOX's eth0 (tests/udpcap.c),
# into $NL_DIR/cap-BOX.txt. Returns when every capture listens. Sets NL_CAPTURED (the boxes)
# and NL_CAP_PIDS.
lab_capture_start() {
	local box
	NL_CAPTURED="" NL_CAP_PIDS=""
	for box in "$@"; do
		lab_spawn /dev/null "$NL_DIR/cap-$box.txt" "$NL_DIR/cap-$box.log" \
			ip netns exec "$NL_P$box" "$BIN/udpcap" -i eth0 -t 600
		NL_CAP_PIDS="$NL_CAP_PIDS ${PIDS##* }"
		NL_CAPTURED="$NL_CAPTURED $box"
		wait_for "$NL_DIR/cap-$box.log" "listening on" 5 || return 1
	done
}

# lab_capture_stop: stops the captures (each writes out what it holds).
lab_capture_stop() {
	local pid
	for pid in $NL_CAP_PIDS; do lab_stop "$pid"; done
	NL_CAP_PIDS=""
}

# lab_drops: the packets every lab:RULE DROP rule of the lab took so far, one "BOX RULE N" a
# line (RULE: filter, no-hairpin, no-route), every rule listed, 0 included.
lab_drops() {
	local ns
	for ns in $NL_NS; do
		ip netns exec "$ns" iptables-save -c 2>/dev/null |
			sed -n 's/^\[\([0-9]*\):[0-9]*\].*--comment "\{0,1\}lab:\([a-z-]*\).*/\2 \1/p' |
			awk -v b="${ns#"$NL_P"}" '{ n[$1] += $2 } END { for (r in n) print b, r, n[r] }'
	done | sort
}

# box_label BOX: how the ladder names a box.
box_label() {
	case $1 in
	natA) echo "NAT A" ;;
	natB) echo "NAT B" ;;
	cgn) echo "the carrier NAT" ;;
	inet) echo "the internet" ;;
	*) echo "$1" ;;
	esac
}

# lab_places: what the ladder needs to know of the lab, one a line: "nat IP BOX LABEL" for each
# router's public address, "hairpin BOX INSIDE_IP LO HI" for each of a NAT's hairpin ranges,
# "who IP NAME BOX CHAIN" for alice, bob and the server (BOX: where each runs; CHAIN: the
# NATs above it, comma-separated, or -).
lab_places() {
	local box name up chain
	local spec
	for box in "${!NL_PUB[@]}"; do
		echo "nat ${NL_PUB[$box]} $box $(box_label "$box" | tr ' ' _)"
		for spec in ${NL_HAIRPIN[$box]:-}; do
			echo "hairpin $box ${spec%%=*} $(tr - ' ' <<<"${spec#*=}")"
		done
	done
	for name in alice bob; do
		[ -n "${NL_HOSTOF[$name]:-}" ] || continue
		chain="" up=${NL_UP[${NL_HOSTOF[$name]}]:-}
		while [ -n "$up" ]; do chain="$chain,$up"; up=${NL_UP[$up]:-}; done
		echo "who ${NL_IP[$name]} $name ${NL_HOSTOF[$name]} ${chain:-,-}"
	done
	echo "who $SRV_IP p2pchatd srv ,-"
}

# lab_ladder T0_US [T1_US]: the ladder of the captures: one line per datagram that alice, bob or
# the server sent from T0_US to T1_US (microseconds of the wall clock; default: to the end):
#   +  612 ms  alice    -> bob       PROBE         10.0.1.2:41000 -> 192.0.2.2:39000  died at NAT B (filter)
#   +  613 ms  bob      -> alice     PROBE         10.0.2.2:39000 -> 198.51.100.2:41000  arrived from 192.0.2.2:39000
# "arrived from": the source the receiver saw, after every NAT on the way (an arrival is matched
# to the send with its bytes: see the END block). A datagram that
# arrived nowhere (within 250 ms, and 4 x the lab_delay more) died at the NAT it was addressed to: by its filter, or, sent
# from inside that NAT, for want of hairpinning; or at the internet's router, when it was
# addressed to a private address (no route). Then, for every datagram captured, one
# "deaths BOX RULE N" line per place and rule: lab_check_deaths holds them against the
# counters of those rules.
lab_ladder() {
	local box
	for box in $NL_CAPTURED; do
		awk -v box="$box" '{ print $1, box, $2, $3, $4 }' "$NL_DIR/cap-$box.txt"
	done | sort -n | awk -v t0="$1" -v t1="${2:-0}" -v places="$(lab_places)" \
		-v window="$(( ${NL_DELAY_MS:-0} * 4 + 250 ))" '
		function ipof(ep) { sub(/\.[0-9]+$/, "", ep); return ep }
		function colon(ep,   p) { p = ep; sub(/.*\./, "", p); return ipof(ep) ":" p }
		function private(ip) {
			return ip ~ /^10\./ || ip ~ /^100\.(6[4-9]|[7-9][0-9]|1[01][0-9]|12[0-7])\./
		}
		function byte(h, i,   hi, lo) {
			hi = index("0123456789abcdef", substr(h, 2 * i + 1, 1)) - 1
			lo = index("0123456789abcdef", substr(h, 2 * i + 2, 1)) - 1
			return 16 * hi + lo
		}
		# typename(h, off): the p2pchat type at byte off of h (hex). What a RELAY or
		# RELAYED carries is sealed (protocol.h), and so is what a SEALED carries.
		function typename(h, off,   b) {
			if (length(h) < 2 * (off + 4)) return "SHORT"
			if (byte(h, off) != 80) return byte(h, off) < 2 ? "STUN" : "OTHER"
			b = byte(h, off + 2)
			return (b in tname) ? tname[b] : "TYPE" b
		}
		# A capture of box B holds what B sent (from its own address) and what it got.
		function sent(i) { return (ipof(sr[i]) in who) && home[who[ipof(sr[i])]] == bx[i] }
		function got_here(j) { return (ipof(ds[j]) in who) && home[who[ipof(ds[j])]] == bx[j] }
		BEGIN {
			split("REGISTER REGISTERED REFRESH LOOKUP PEER ERROR STATS STATS_REPLY WHO " \
			      "WHO_REPLY REPORT RELAY RELAYED COOKIE NOTICE PROBE PROBE_ACK - - - - - " \
			      "SEALED", tn, " ")
			for (i = 1; i <= 23; i++) if (tn[i] != "-") tname[i] = tn[i]
			n = split(places, pl, "\n")
			for (i = 1; i <= n; i++) {
				split(pl[i], f, " ")
				if (f[1] == "nat") { pubbox[f[2]] = f[3]; label[f[3]] = f[4]
					gsub(/_/, " ", label[f[3]]) }
				else if (f[1] == "hairpin") { hp[++H] = f[2]; hpip[H] = f[3]
					hplo[H] = f[4]; hphi[H] = f[5] }
				else { who[f[2]] = f[3]; home[f[3]] = f[4]; chain[f[3]] = "," f[5] "," }
			}
		}
		{
			N++; tm[N] = $1 * 1000; bx[N] = $2; sr[N] = $3; ds[N] = $4
			pay[N] = substr($5, 2 * ((byte($5, 0) % 16) * 4 + 8) + 1)
		}
		END {
			# Each arrival, in time order, is the send it matches: same bytes, within the
			# window, to a private address when it came from one. Several such sends (one
			# datagram sent to several endpoints of the peer, or again 100 ms later): the
			# last one to where the sender last heard the receiver from, else the last.
			for (j = 1; j <= N; j++) {
				if (!got_here(j)) continue
				r = who[ipof(ds[j])]; best = 0
				for (i = j - 1; i >= 1 && tm[j] - tm[i] < window; i--) {
					if (!sent(i) || from[i] || pay[i] != pay[j]) continue
					if (private(ipof(ds[i])) != private(ipof(sr[j]))) continue
					s = who[ipof(sr[i])]
					if (best == 0 || (colon(ds[i]) == heard[s, r] &&
					    colon(ds[best]) != heard[s, r]))
						best = i
				}
				if (best == 0) continue
				from[best] = j
				heard[r, who[ipof(sr[best])]] = colon(sr[j])
			}
			for (i = 1; i <= N; i++) {
				if (!sent(i)) continue
				s = who[ipof(sr[i])]; d = ipof(ds[i]); arrived = from[i]
				if (arrived) {
					to = who[ipof(ds[arrived])]
					fate = "arrived from " colon(sr[arrived])
				} else {
					to = d in who ? who[d] : s == "alice" ? "bob" : s == "bob" ? "alice" : "?"
					if (d in pubbox) {
						b = pubbox[d]
						why = index(chain[s], "," b ",") ? "no-hairpin" : "filter"
						# A hairpinning NAT turned it back in, to the NAT
						# below it that owns the port: that one dropped it.
						dp = ds[i]; sub(/.*\./, "", dp)
						for (h = 1; h <= H; h++)
							if (hp[h] == b && dp + 0 >= hplo[h] && dp + 0 <= hphi[h] &&
							    (hpip[h] in pubbox)) {
								b = pubbox[hpip[h]]; why = "filter"
							}
						fate = "died at " label[b] " (" why ")"
						deaths[b " " why]++
					} else if (private(d)) {
						fate = "died at the internet (no-route)"
						deaths["inet no-route"]++
					} else
						fate = "lost"
				}
				us = tm[i] * 1000
				if (us < t0 || (t1 > 0 && us > t1)) continue
				printf "+%5d ms  %-8s -> %-8s  %-16s %21s -> %-21s  %s\n", \
					(us - t0) / 1000, s, to, typename(pay[i], 0), \
					colon(sr[i]), colon(ds[i]), fate
			}
			for (k in deaths) print "deaths", k, deaths[k]
		}'
}

# LADDER_LINE: the pattern every ladder line matches (tests/natlab.sh checks it).
LADDER_LINE='^\+ *[0-9]+ ms  [a-z0-9]+ +-> [a-z0-9?]+ +[A-Z_]+(\[[A-Z_]+\])? +[0-9.]+:[0-9]+ -> [0-9.]+:[0-9]+ +(arrived from [0-9.]+:[0-9]+|died at (NAT [AB]|the carrier NAT|the internet) \((filter|no-hairpin|no-route)\)|lost)$'

# lab_check_deaths BEFORE AFTER DEATHS [SLACK]: the deaths the ladder inferred (DEATHS, its "deaths"
# lines) are what the lab's DROP rules counted between the lab_drops outputs BEFORE and AFTER,
# rule by rule. Says where they differ. Datagrams the internet lost at random (lab:loss) die
# where the ladder cannot see: it puts them at the NAT they were addressed to, so there the
# ladder may show more, as many as were lost, in all. A difference of at most SLACK (default 0)
# a rule is said, and allowed.
lab_check_deaths() {
	local diff slack=${4:-0}
	diff=$(awk -v slack="$slack" 'FNR == 1 { f++ }
		f == 1 { n[$1 " " $2] -= $3 } f == 2 { n[$1 " " $2] += $3 }
		f == 3 { n[$2 " " $3] -= $4 }
		END {
			lost = n["inet loss"]; delete n["inet loss"]
			for (k in n) if (n[k] < 0 && lost > 0) { over = -n[k] < lost ? -n[k] : lost
				n[k] += over; lost -= over }
			for (k in n) if (n[k] != 0 && k != " ") print "  " k ": the rule counted " \
				(n[k] > 0 ? n[k] " more" : -n[k] " fewer") " than the ladder shows" \
				(n[k] <= slack && -n[k] <= slack ? " (within the slack of " slack ")" : "")
		}' <(echo "$1") <(echo "$2") <(echo "$3"))
	[ -z "$diff" ] && return 0
	echo "$diff" >&2
	grep -qv 'within the slack' <<<"$diff" && return 1
	return 0
}

# nat_table BOX: BOX's UDP conntrack entries (its mappings), one a line:
#   10.0.1.2:41000 -> 203.0.113.10:7777  source mapped to 198.51.100.2:41000  118 s ASSURED
# with the seconds left before the NAT forgets it (the kernel's UDP timers) and its flags.
nat_table() {
	lab_in "$1" conntrack -L -p udp 2>/dev/null | awk '
		{
			n = 0; flags = ""
			for (i = 1; i <= NF; i++) {
				if ($i ~ /^\[/) { f = $i; gsub(/[][]/, "", f); flags = flags " " f; continue }
				split($i, kv, "=")
				if (kv[1] == "src") n++
				v[n, kv[1]] = kv[2]
			}
			o = v[1, "src"] ":" v[1, "sport"]; d = v[1, "dst"] ":" v[1, "dport"]
			rs = v[2, "src"] ":" v[2, "sport"]; rd = v[2, "dst"] ":" v[2, "dport"]
			line = sprintf("%-21s -> %-21s", o, d)
			if (rd != o) line = line "  source mapped to " rd
			if (rs != d) line = line "  destination mapped to " rs
			print line "  " $3 " s" flags
		}' | sort
}

# lab_watch_start A HOSTA B HOSTB: captures on the server's box and both hosts, then B and A
# start, with no peer, and register.
lab_watch_start() {
	lab_capture_start srv "$2" "$4" || return 1
	lab_client "$4" "$3" - -w 5 && wait_for "$NL_DIR/$3.out" "^\* registered as $3 " 10 &&
		lab_client "$2" "$1" - -w 5 && wait_for "$NL_DIR/$1.out" "^\* registered as $1 " 10
}

# lab_watch_punch A B: A types "/chat B": the lookup, the introduction and the punch. Waits
# until both are connected (NL_CONNECT_WAIT s, default 15) and LADDER_SETTLE s more (default
# 0.6: a public path waits 0.5 s for a private one). Then, with both clients stopped a moment
# (SIGSTOP, so nothing is in flight), reads the drop counters and ends the captures. Sets
# NL_T0 (when A typed), NL_CONNECT_MS, NL_PATH_A and NL_PATH_B, NL_DROPS0 and NL_DROPS1.
lab_watch_punch() {
	local a=$1 b=$2 rc=0
	NL_CONNECT_MS="" NL_PATH_A="" NL_PATH_B=""
	NL_DROPS0=$(lab_drops)
	NL_T0=$(now_us)
	lab_type "$a" "/chat $b"
	if wait_for "$NL_DIR/$a.out" "^\* connected to $b " "${NL_CONNECT_WAIT:-15}" 2>/dev/null; then
		NL_CONNECT_MS=$(( ($(now_us) - NL_T0) / 1000 ))
		wait_for "$NL_DIR/$b.out" "^\* connected to $a " "${NL_CONNECT_WAIT:-15}" 2>/dev/null ||
			rc=1
	else
		rc=1
	fi
	sleep "${LADDER_SETTLE:-0.6}"
	kill -STOP "${NL_PID[$a]}" "${NL_PID[$b]}"
	sleep 0.2
	NL_DROPS1=$(lab_drops)
	lab_capture_stop
	kill -CONT "${NL_PID[$a]}" "${NL_PID[$b]}"
	NL_PATH_A=$(connected "$a" "$b")
	NL_PATH_B=$(connected "$b" "$a")
	return "$rc"
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
# path at the endpoint the server saw for PEER, a private one at PEER's own address; reflexive
# is a public path at PEER's NAT's address but another port than the server saw.
expect_path() {
	local line addr kind want
	line=$(connected "$1" "$2")
	# The relay carries the chat while a direct answer is overdue (peer.c): on a lossy lab a
	# side may start there and move once its path check is answered. What counts is the path
	# it moves to: wait for it (10 s at most) and judge the last one.
	if [ "$3" != relay ] && [ "${line##* }" = relay ]; then
		wait_for "$NL_DIR/$1.out" "^\* connected to $2 via .* ($3)\$" 10 >/dev/null 2>&1
		line=$(connected "$1" "$2" '$')
	fi
	addr=${line% *} kind=${line##* }
	case $3 in
	public) want=$(registered_ep "$2") ;;
	reflexive)
		# Peer-reflexive (ICE's word, RFC 8445, 7.2.5.3.1): the address PEER's probes came
		# from, its NAT's address at a port the server never saw (what punch.c calls seen_ep).
		want=$(registered_ep "$2")
		[ "${addr%:*}" = "${want%:*}" ] && [ "$addr" != "$want" ] && want=$addr
		[ "$kind" = public ] && kind=reflexive ;;
	private) want=${NL_IP[$2]}:${addr##*:} ;;
	*) want=$addr ;;
	esac
	[ "$kind" = "$3" ] && [ -n "$addr" ] && [ "$addr" = "$want" ] && return 0
	echo "  $1 connected to $2 via '$line'; want a $3 path, at $want" >&2
	return 1
}

# lab_topology NAME: builds the NATs and hosts of topology NAME in the current lab and sets
# NL_HOST_A and NL_HOST_B, where alice and bob run. Each NAME is a function topo_NAME below
# (LAB_TOPOLOGIES lists them in order, with the path each should get); to add one, write its
# function and add its line there.
lab_topology() {
	declare -F "topo_$1" >/dev/null || { echo "  no topology '$1'" >&2; return 1; }
	NL_HOST_A=hostA NL_HOST_B=hostB
	"topo_$1"
}

# NAME PATH WHY: every topology, the path both peers should connect by, and why.
LAB_TOPOLOGIES="\
cone-cone           public   each NAT keeps one port per host; each side's first probe opens its own NAT for the other's
same-nat            private  both on one LAN; NAT A does not hairpin, the probes to the private addresses answer
public-cone         public   the public host needs no hole; its probes get in once alice's went out
symmetric-cone      relay    NAT A's port toward bob is new, NAT B admits only the port bob sent to; bob's probes die at NAT A
symmetric-symmetric relay    both NATs use new ports toward the peer; neither lets the other in
sequential-cone     relay    NAT A counts its ports up, a new one per destination: to the punch it is symmetric
symmetric-public    public   bob has no NAT: alice's probes reach him from a new port, and he answers there
cgnat               relay    the carrier NAT does not hairpin; probes to private addresses die at the internet
cgnat-hairpin       public   the carrier NAT hairpins: alice's probe to bob's public endpoint turns back inside
cgnat-same-home     private  both behind one home NAT under the carrier: the LAN answers"

# lab_topologies: the names of LAB_TOPOLOGIES, one a line.
lab_topologies() {
	awk '{ print $1 }' <<<"$LAB_TOPOLOGIES"
}

# topology_field NAME N: field N of NAME's line in LAB_TOPOLOGIES (2: the path; 3: why).
topology_field() {
	awk -v t="$1" -v n="$2" '$1 == t { if (n == 3) { $1 = ""; $2 = ""; sub(/^ +/, "") ;
		print; exit } print $n; exit }' <<<"$LAB_TOPOLOGIES"
}

#   cone-cone            alice behind cone NAT A, bob behind cone NAT B
topo_cone-cone() {
	lab_nat natA a cone 10.0.1 && lab_host hostA natA 2 &&
		lab_nat natB b cone 10.0.2 && lab_host hostB natB 2
}

#   same-nat             both behind cone NAT A, on one LAN (NAT A does not hairpin)
topo_same-nat() {
	NL_HOST_B=hostA2
	lab_nat natA a cone 10.0.1 && lab_host hostA natA 2 && lab_host hostA2 natA 3
}

#   public-cone          alice behind cone NAT A, bob on a public address
topo_public-cone() {
	NL_HOST_B=pubB
	lab_nat natA a cone 10.0.1 && lab_host hostA natA 2 && lab_public_host pubB b
}

#   symmetric-cone       alice behind symmetric NAT A, bob behind cone NAT B
topo_symmetric-cone() {
	lab_nat natA a symmetric 10.0.1 && lab_host hostA natA 2 &&
		lab_nat natB b cone 10.0.2 && lab_host hostB natB 2
}

#   symmetric-symmetric  both behind symmetric NATs
topo_symmetric-symmetric() {
	lab_nat natA a symmetric 10.0.1 && lab_host hostA natA 2 &&
		lab_nat natB b symmetric 10.0.2 && lab_host hostB natB 2
}

#   symmetric-public     alice behind symmetric NAT A, bob on a public address
topo_symmetric-public() {
	NL_HOST_B=pubB
	lab_nat natA a symmetric 10.0.1 && lab_host hostA natA 2 && lab_public_host pubB b
}

# lab_cgnat HAIRPIN: a carrier-grade NAT (cone) on side a with the shared address space
# 100.64.0.0/24 inside (RFC 6598), and under it home NAT A (cone, its ports 20000-29999) at
# 100.64.0.2 with hostA, and home NAT B (30000-39999) at 100.64.0.3 with hostB; the carrier
# hairpins when HAIRPIN is yes. Ford, Srisuresh & Kegel, section 3.5.
lab_cgnat() {
	lab_router cgn 100.64.0 && lab_uplink cgn a && lab_nat_kind cgn eim-apdf &&
		lab_router natA 10.0.1 && lab_uplink_under natA cgn 2 &&
		nat_eim natA 20000-29999 && nat_apdf natA && lab_host hostA natA 2 &&
		lab_router natB 10.0.2 && lab_uplink_under natB cgn 3 &&
		nat_eim natB 30000-39999 && nat_apdf natB || return 1
	[ "$1" = yes ] || return 0
	nat_hairpin cgn 100.64.0.2=20000-29999 100.64.0.3=30000-39999
}

#   cgnat                alice and bob behind home NATs A and B, both under one carrier NAT
topo_cgnat() {
	lab_cgnat no && lab_host hostB natB 2
}

#   cgnat-hairpin        the same, and the carrier NAT hairpins
topo_cgnat-hairpin() {
	lab_cgnat yes && lab_host hostB natB 2
}

#   cgnat-same-home      both behind home NAT A under the carrier NAT
topo_cgnat-same-home() {
	NL_HOST_B=hostA2
	lab_cgnat no && lab_host hostA2 natA 3
}

# ---- IPv6: global addresses behind stateful firewalls ----
#
# At home IPv6 usually means no NAT: every host has a global address, and the router only
# filters, as RFC 6092 asks of a home router (REC-11: a UDP datagram from outside passes only
# in answer to one from inside, which is what conntrack's ESTABLISHED is). Punching works as
# between two cone NATs, with the host's own address as its endpoint. The lab's IPv6 lives in
# the documentation prefix 2001:db8::/32 (RFC 3849), inside the global unicast range 2000::/3
# (RFC 4291, 2.4) that the clients take for public:
#
#          inet: 2001:db8:10::1 (srv)     2001:db8:a::1 (a)     2001:db8:b::1 (b)
#          srv   2001:db8:10::10, and 203.0.113.10: p2pchatd on [::], dual-stack
#          router A pub 2001:db8:a::2, LAN 2001:db8:a1::/64; hostA 2001:db8:a1::2
#          router B pub 2001:db8:b::2, LAN 2001:db8:b1::/64; hostB 2001:db8:b1::2
#
# A router may be IPv6 only (lab_router, then lab6_router) or also a NAT for IPv4 (lab_nat,
# then lab6_router): dual-stack, as most homes are.
SRV_IP6=2001:db8:10::10
declare -A SIDE_NET6=([a]=2001:db8:a [b]=2001:db8:b)  # inet ::1 on a side, the router ::2

# lab6_on BOX: IPv6 on in BOX (lab_ns turns it off), without duplicate address detection on
# any interface, now or later (and addresses are added nodad): it would hold each address,
# the link-local ones too, a second before use, in a lab where none can be a duplicate, and a
# host could not answer its neighbours meanwhile.
lab6_on() {
	lab_in "$1" bash -c '
		for f in /proc/sys/net/ipv6/conf/*/accept_dad; do echo 0 >"$f" || exit 1; done
		sysctl -qw net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.default.disable_ipv6=0'
}

# lab6_start: IPv6 for the lab's internet and server box, and a dual-stack p2pchatd (bound to
# [::], so IPv4 too) in place of the IPv4 one lab_start started. Sets NL_SERVER (by IPv4) and
# NL_SERVER6 (by IPv6), the same server and port.
lab6_start() {
	local port
	lab6_on inet && lab_in inet sysctl -qw net.ipv6.conf.all.forwarding=1 && lab6_on srv &&
		ip -n "$NL_P"inet addr add 2001:db8:10::1/64 dev srv nodad &&
		ip -n "$NL_P"srv addr add "$SRV_IP6/64" dev eth0 nodad &&
		ip -n "$NL_P"srv -6 route add default via 2001:db8:10::1 || return 1
	lab_stop "$(awk '{ print $1 }' <<<"$PIDS")" # lab_start's server, the lab's first process
	lab_spawn /dev/null /dev/null "$NL_DIR/server6.log" \
		ip netns exec "$NL_P"srv "$BIN/p2pchatd" -p 0 -v
	wait_for "$NL_DIR/server6.log" "listening on" 10 || return 1
	port=$(sed -n 's/.*listening on .*:\([0-9][0-9]*\)$/\1/p' "$NL_DIR/server6.log" | head -n 1)
	[ -n "$port" ] || return 1
	NL_SERVER="$SRV_IP:$port" NL_SERVER6="[$SRV_IP6]:$port"
}

# lab6_router BOX SIDE: IPv6 on router BOX (lab_router's or lab_nat's): its pub on SIDE of the
# internet at SIDE's ::2 (a new link if BOX has no IPv4 uplink), its LAN at SIDE1::/64, routed
# by the internet; then its firewall, fw6_filter.
lab6_router() {
	local box=$1 side=$2 net=${SIDE_NET6[$2]}
	lab6_on "$box" && lab_in "$box" sysctl -qw net.ipv6.conf.all.forwarding=1 || return 1
	if ! ip -n "$NL_P$box" link show pub >/dev/null 2>&1; then
		lab_link inet "$side" - "$box" pub - || return 1
	fi
	ip -n "$NL_P"inet addr add "$net::1/64" dev "$side" nodad &&
		ip -n "$NL_P$box" addr add "$net::2/64" dev pub nodad &&
		ip -n "$NL_P$box" addr add "${net}1::1/64" dev lan nodad &&
		ip -n "$NL_P$box" -6 route add default via "$net::1" &&
		ip -n "$NL_P"inet -6 route add "${net}1::/64" via "$net::2" || return 1
	NL_LAN6[$box]=${net}1
	fw6_filter "$box"
}

# fw6_filter BOX: the home router's IPv6 firewall (RFC 6092, REC-11): from outside, only what
# answers a flow from inside (conntrack ESTABLISHED, RELATED), and ICMPv6, which must pass
# (RFC 4890: path MTU discovery); other UDP is dropped and counted (lab:filter6), the rest too.
fw6_filter() {
	lab_in "$1" bash -c '
		ip6tables -A FORWARD -i pub -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT &&
		ip6tables -A FORWARD -i pub -p ipv6-icmp -j ACCEPT &&
		ip6tables -A FORWARD -i pub -p udp -m comment --comment lab:filter6 -j DROP &&
		ip6tables -A FORWARD -i pub -j DROP'
}

# fw6_drops BOX: the UDP datagrams BOX's firewall dropped so far.
fw6_drops() {
	lab_in "$1" ip6tables -L FORWARD -v -n -x | awk '/lab:filter6/ { print $1; exit }'
}

# lab6_host BOX ROUTER N: IPv6 for host BOX (lab_host's: dual-stack) at ROUTER's LAN6::N.
lab6_host() {
	local lan=${NL_LAN6[$2]}
	lab6_on "$1" && ip -n "$NL_P$1" addr add "$lan::$3/64" dev eth0 nodad &&
		ip -n "$NL_P$1" -6 route add default via "$lan::1"
}

# lab6_only_host BOX ROUTER N: a host with only IPv6, at ROUTER's LAN6::N.
lab6_only_host() {
	lab_ns "$1" && lab6_on "$1" && lab_link "$2" "l-$1" - "$1" eth0 - &&
		ip -n "$NL_P$2" link set dev "l-$1" master lan || return 1
	NL_UP[$1]=$2 NL_IP[$1]=${NL_LAN6[$2]}::$3
	lab6_host "$1" "$2" "$3"
}

# Both peers IPv6 only, with global addresses behind stateful firewalls: each side's first
# probe opens its own firewall for the other's, as between two cone NATs: direct, public, at
# the address the server saw. And the firewalls are real: a datagram from outside to bob's
# port, answering nothing he sent, dies at his.
test_v6_firewalls() {
	local port drops
	lab6_start && lab_router fwA 10.0.1 && lab6_router fwA a && lab6_only_host hostA fwA 2 &&
		lab_router fwB 10.0.2 && lab6_router fwB b && lab6_only_host hostB fwB 2 || return 1
	NL_SERVER=$NL_SERVER6
	lab_pair alice hostA bob hostB || return 1
	expect_path alice bob public && expect_path bob alice public || return 1
	lab_exchange alice bob 20 chat 30 || return 1
	NL_NOTE="alice connected in $NL_CONNECT_MS ms via $(connected alice bob)"
	port=$(registered_ep bob) port=${port##*:}
	drops=$(fw6_drops fwB)
	lab_in inet bash -c "echo unsolicited >/dev/udp/${NL_LAN6[fwB]}::2/$port" || return 1
	wait_until 5 fw6_dropped_more fwB "$drops" ||
		{ echo "  firewall B let in a datagram nobody asked for" >&2; return 1; }
}

# fw6_dropped_more BOX N: BOX's firewall dropped more than N UDP datagrams.
fw6_dropped_more() {
	[ "$(fw6_drops "$1")" -gt "$2" ]
}

# alice has only IPv4 (behind cone NAT A), bob only IPv6 (behind firewall B); each registers
# with the dual-stack server by the address it has. No family in common, so no direct path:
# the server relays between the families, and each client says why.
test_v4_v6_relay() {
	lab6_start && lab_nat natA a cone 10.0.1 && lab_host hostA natA 2 &&
		lab_router fwB 10.0.2 && lab6_router fwB b && lab6_only_host hostB fwB 2 || return 1
	NL_SERVER_OF=([alice]=$NL_SERVER [bob]=$NL_SERVER6)
	lab_pair alice hostA bob hostB || return 1
	expect_path alice bob relay && expect_path bob alice relay || return 1
	wait_for "$NL_DIR/alice.out" "^\* no direct path to bob: it has only IPv6 addresses, this host only IPv4; the server relays\$" 5 &&
		wait_for "$NL_DIR/bob.out" "^\* no direct path to alice: it has only IPv4 addresses, this host only IPv6; the server relays\$" 5 ||
		return 1
	lab_exchange alice bob 20 chat 30 || return 1
	NL_NOTE="alice connected in $NL_CONNECT_MS ms"
}

# A dual-stack pair: both peers dual-stack (cone NATs for IPv4 and firewalls for IPv6, on the
# same routers), each given the server's two addresses (-s twice). Each registers in both
# families with one instance (protocol.h, REGISTER), so the server keeps the second family's
# endpoint beside the first (server_other.c), and its PEER carries both: each side probes the
# other's two endpoints at once, and the first to answer carries the chat.

# dual_lab: the dual-stack pair's lab (the server is lab6_start's, dual-stack).
dual_lab() {
	local side
	lab6_start || return 1
	for side in a b; do
		local nat=nat${side^^} host=host${side^^} lan=10.0.$([ "$side" = a ] && echo 1 || echo 2)
		lab_nat "$nat" "$side" cone "$lan" && lab6_router "$nat" "$side" &&
			lab_host "$host" "$nat" 2 && lab6_host "$host" "$nat" 2 || return 1
	done
}

# srv_door FAMILY -A|-D: the server's box drops (-A) every UDP datagram of FAMILY (4 or 6)
# that comes in, or takes them again (-D).
srv_door() {
	local cmd=iptables
	[ "$1" = 6 ] && cmd=ip6tables
	lab_in srv "$cmd" "$2" INPUT -p udp -m comment --comment lab:door -j DROP
}

# registered_in NAME SERVER: the public endpoint SERVER (ADDR:PORT) told NAME, as NAME's client
# says it with several servers.
registered_in() {
	grep -F "* registered as $1 with $2 (public " "$NL_DIR/$1.out" | tail -n 1 |
		sed 's/.*(public \(.*\))$/\1/'
}

# dual_pair FIRST: alice (hostA) and bob (hostB) start with -s FIRST's address of the server,
# then -s the other's; each registers by FIRST first (the other family waits at the server's
# door until both have), then by the other. Then alice asks for bob, and both connect. Sets
# NL_CONNECT_MS (alice's /chat to her "connected" line).
dual_pair() {
	local s1=$NL_SERVER s2=$NL_SERVER6 second=6 name t0
	[ "$1" = ipv6 ] && s1=$NL_SERVER6 s2=$NL_SERVER second=4
	srv_door "$second" -A || return 1
	NL_SERVER_OF=([alice]=$s1 [bob]=$s1)
	lab_client hostB bob - -s "$s2" && lab_client hostA alice - -s "$s2" || return 1
	for name in alice bob; do
		wait_until 10 registered_in_nonempty "$name" "$s1" ||
			{ echo "  $name did not register by $1" >&2; return 1; }
	done
	srv_door "$second" -D || return 1
	for name in alice bob; do
		wait_until 15 registered_in_nonempty "$name" "$s2" ||
			{ echo "  $name did not register in its second family" >&2; return 1; }
	done
	t0=$(now_us)
	lab_type alice "/chat bob"
	wait_for "$NL_DIR/alice.out" "^\* connected to bob via " 15 &&
		wait_for "$NL_DIR/bob.out" "^\* connected to alice via " 15 || return 1
	NL_CONNECT_MS=$(( ($(now_us) - t0) / 1000 ))
}

# registered_in_nonempty NAME SERVER: SERVER told NAME its endpoint.
registered_in_nonempty() {
	[ -n "$(registered_in "$1" "$2")" ]
}

# dual_path NAME PEER FAMILY: NAME's first path to PEER is direct, public, over FAMILY (ipv4 or
# ipv6), at the endpoint the server saw PEER at in that family; and no side was told another
# instance took its name.
dual_path() {
	local line addr want srv=$NL_SERVER
	[ "$3" = ipv6 ] && srv=$NL_SERVER6
	line=$(connected "$1" "$2") addr=${line% *} want=$(registered_in "$2" "$srv")
	if grep -q "took the name" "$NL_DIR/$1.out" "$NL_DIR/$2.out"; then
		echo "  a client was told another instance took its name" >&2
		return 1
	fi
	[ "${line##* }" = public ] && [ -n "$want" ] && [ "$addr" = "$want" ] && return 0
	echo "  $1 reached $2 via '$line'; want public over $3, at $want" >&2
	return 1
}

# lab_block FAMILY: the internet drops every UDP datagram of FAMILY between side a and side b
# (the peers' direct flows); the server's link keeps both families.
lab_block() {
	if [ "$1" = ipv4 ]; then
		lab_in inet bash -c '
			iptables -A FORWARD -i a -o b -p udp -m comment --comment lab:block -j DROP &&
			iptables -A FORWARD -i b -o a -p udp -m comment --comment lab:block -j DROP'
	else
		lab_in inet bash -c '
			ip6tables -A FORWARD -i a -o b -p udp -m comment --comment lab:block -j DROP &&
			ip6tables -A FORWARD -i b -o a -p udp -m comment --comment lab:block -j DROP'
	fi
}

# lab6_delay MS: lab_delay for IPv6 alone (lab_delay's rules are iptables', IPv4's): every IPv6
# packet crossing the internet is held MS ms on the link it comes in by and MS ms on the link
# it leaves by, by an nfdelay of its own (queue 3). Returns when the delay is in force.
lab6_delay() {
	local rule
	lab_spawn /dev/null /dev/null "$NL_DIR/nfdelay6.log" \
		ip netns exec "$NL_P"inet "$BIN/nfdelay" -q 3 -d "$1" -t 600
	wait_for "$NL_DIR/nfdelay6.log" "holding each packet" 5 || return 1
	for rule in PREROUTING POSTROUTING; do
		lab_in inet ip6tables -t mangle -A "$rule" -j NFQUEUE --queue-num 3 \
			--queue-bypass || return 1
	done
}

# dual_blocked FAMILY: a dual-stack pair registered by FAMILY first, whose direct flows in
# FAMILY the internet drops: the other family's endpoints, which the PEER carries beside the
# ones the server saw first, answer, and the chat goes direct over them.
dual_blocked() {
	local other=ipv6
	[ "$1" = ipv6 ] && other=ipv4
	dual_lab && lab_block "$1" && dual_pair "$1" || return 1
	dual_path alice bob "$other" && dual_path bob alice "$other" || return 1
	lab_exchange alice bob 10 chat 30 || return 1
	NL_NOTE="registered by $1 first; alice connected in $NL_CONNECT_MS ms via $(connected alice bob)"
}

# dual_race SLOW: a dual-stack pair, both families open, each link of family SLOW held 25 ms
# (so SLOW's round trip between the peers is 100 ms longer): both families are probed at once,
# and the other one's answer comes first and carries the chat, on both sides. The pair
# registers by SLOW first, so the family the server saw first is the one that loses.
dual_race() {
	local fast=ipv6
	[ "$1" = ipv6 ] && fast=ipv4
	dual_lab || return 1
	if [ "$1" = ipv4 ]; then lab_delay 25; else lab6_delay 25; fi || return 1
	dual_pair "$1" || return 1
	dual_path alice bob "$fast" && dual_path bob alice "$fast" || return 1
	lab_exchange alice bob 10 chat 30 || return 1
	NL_NOTE="$1 25 ms a link slower; alice connected in $NL_CONNECT_MS ms via $(connected alice bob)"
}

test_v6_dual_stack_v4_blocked() { dual_blocked ipv4; }
test_v6_dual_stack_v6_blocked() { dual_blocked ipv6; }
test_v6_dual_stack_race_v6_wins() { dual_race ipv4; }
test_v6_dual_stack_race_v4_wins() { dual_race ipv6; }

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

# A symmetric NAT and a public host: direct. Bob's probes to the port the server saw die at
# NAT A, but alice's reach him from a new port, and he answers there.
test_symmetric_public() {
	lab_topology symmetric-public || return 1
	lab_pair alice hostA bob pubB || return 1
	expect_path alice bob public && expect_path bob alice reflexive || return 1
	lab_exchange alice bob 20 chat 60 || return 1
	NL_NOTE="alice connected in $NL_CONNECT_MS ms; bob reached her at $(connected bob alice)"
	NL_NOTE="$NL_NOTE, the server saw $(registered_ep alice)"
}

# The ladder of a punch between two cone NATs: every line in its format; some datagrams
# arrived, some died at NAT B's filter (alice's first probes, before bob's opened it) or at
# the internet (to bob's private address); and every death it shows is one its rule counted.
test_ladder() {
	local ladder deaths
	lab_topology cone-cone && lab_watch_start alice hostA bob hostB &&
		lab_watch_punch alice bob || return 1
	ladder=$(lab_ladder "$NL_T0")
	deaths=$(grep '^deaths ' <<<"$ladder")
	ladder=$(grep -v '^deaths ' <<<"$ladder")
	if grep -Evq -- "$LADDER_LINE" <<<"$ladder"; then
		echo "  ladder lines not in the format:" >&2
		grep -Ev -- "$LADDER_LINE" <<<"$ladder" | sed 's/^/    /' >&2
		return 1
	fi
	# Her punch: PROBEs, or SEALED ones (PATH_CHALLENGE) when bob's INIT came first by the relay.
	grep -Eq ' alice +-> bob +(PROBE|SEALED) .* arrived from 198\.51\.100\.2:' <<<"$ladder" ||
		{ echo "  no probe from alice arrived; the ladder:" >&2; echo "$ladder" >&2; return 1; }
	grep -Eq ' -> 10\.0\.2\.2:[0-9]+ +died at the internet \(no-route\)$' <<<"$ladder" ||
		{ echo "  no probe to bob's private address died; the ladder:" >&2
		  echo "$ladder" >&2; return 1; }
	# A slack of 1 a rule: on a loaded machine one arrival can come after the ladder's
	# matching window, and the ladder then shows that send as a death (seen once in CI-like
	# runs); more than one is a real disagreement.
	lab_check_deaths "$NL_DROPS0" "$NL_DROPS1" "$deaths" 1 || return 1
	NL_NOTE="$(grep -c . <<<"$ladder") datagrams, $(grep -c ' died at ' <<<"$ladder") died"
}

# Two homes under one carrier NAT that does not hairpin: relayed (Ford et al., 3.5).
test_cgnat() { chat_test cgnat relay 20; }
# The same carrier NAT, hairpinning: direct, through the carrier's public address.
test_cgnat_hairpin() { chat_test cgnat-hairpin public 20; }
# One home NAT under the carrier: the LAN.
test_cgnat_same_home() { chat_test cgnat-same-home private 20; }
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
	# A reading needs a sample: at 5% loss the exchange's last one may still be on its way, so
	# ask again, at most 5 times a second apart (rtt -1 until then).
	local rtt="" tries
	for tries in 1 2 3 4 5; do
		lab_type alice /peers
		wait_for "$NL_DIR/alice.out" "^\* peer bob connected" 5 || return 1
		rtt=$(sed -n 's/^\* peer bob connected .* rtt \([0-9]*\) ms nat [a-z]*\/[a-z]* key [a-z]*$/\1/p' \
			"$NL_DIR/alice.out" | tail -n 1)
		[ -z "$rtt" ] || break
		sleep 1
	done
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
	# Chat rides a stream that packs many lines into a datagram, so a to b carries only some
	# 50 datagrams (and b to a the acknowledgements): each fault must have hit the path,
	# counted over both ways, as one direction alone can miss one at these odds.
	local all_drops=0 all_copies=0 all_reord=0
	for dir in a2b b2a; do
		from=${dir:0:1} to=${dir:2:1}
		drops=$(fault_count DROP "$from" "$to")
		copies=$(fault_count TEE "$from" "$to")
		reord=$(sed -n 's/.* \([0-9]*\) reordered,.*/\1/p' "$NL_DIR/nfdelay-$dir.log")
		figures="$figures; $from to $to: $drops dropped, $copies duplicated, $reord reordered"
		all_drops=$((all_drops + ${drops:-0})) all_copies=$((all_copies + ${copies:-0}))
		all_reord=$((all_reord + ${reord:-0}))
	done
	[ "$all_drops" -gt 0 ] && [ "$all_copies" -gt 0 ] && [ "$all_reord" -gt 0 ] ||
		{ echo "  not every fault happened${figures}" >&2; return 1; }
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

# burst_delay: 3000 pings in flight at once (more than the kernel's 1024 packets an NFQUEUE
# holds by default) are all held, none let through early: a fast stream keeps the lab's delay.
# Adds the burst's least round trip to NL_NOTE.
burst_delay() {
	local min
	lab_delay 25 || return 1
	min=$(lab_in natA ping -n -q -c 3000 -l 3000 -s 1000 -W 5 "$SRV_IP" |
		sed -n 's|^rtt [^=]*= \([0-9]*\)[.0-9]*/.*|\1|p')
	lab_stop "${PIDS##* }"
	NL_NOTE="$NL_NOTE; 3000 pings at once: the least $min ms"
	[ -n "$min" ] && [ "$min" -ge 96 ] ||
		{ echo "  3000 pings at once with 4 x 25 ms: the least '$min' ms, want >= 96" >&2; return 1; }
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
	burst_delay || return 1
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
# may). Neither side gets through any more: alice's datagrams come from a port NAT B never
# saw, bob's go to one NAT A forgot. Lines wait; CLIENT_SUSPECT_MS (2 s) later each side asks
# the server: alice refreshes at once and learns her new endpoint, and her LOOKUP makes the
# server introduce her anew to bob, who punches to it. The chat goes on before the 10 s
# answer timeout would call either side offline (the test fails if one does), nothing lost.
# NL_NOTE: the time to recover (the first line each way, from the change), for the README.
test_nat_new_mapping() {
	local t0 new_ep="${SIDE_NET[a]}.2:20[0-9][0-9][0-9]"
	chat_test cone-cone public 10 || return 1
	t0=$(now_us)
	lab_in natA iptables -t nat -I POSTROUTING 1 -o pub -p udp -j MASQUERADE \
		--to-ports 20000-20999 && lab_in natA conntrack -F 2>/dev/null || return 1
	lab_exchange alice bob 1 first-after-remap 40 || return 1
	NL_NOTE="recovered: the first line each way arrived $(( ($(now_us) - t0) / 1000 )) ms"
	NL_NOTE="$NL_NOTE after the NAT forgot"
	lab_exchange alice bob 20 after-remap 40 || return 1
	wait_for "$NL_DIR/bob.out" "^\* connected to alice via $new_ep " 5 &&
		wait_for "$NL_DIR/alice.out" "^\* registered as alice (public $new_ep)" 5 || return 1
	if grep -q "is offline" "$NL_DIR/alice.out" "$NL_DIR/bob.out"; then
		echo "  a side called the other offline: recovery waited for the answer timeout" >&2
		return 1
	fi
}

# idle_count_start SIDE...: counts the UDP datagrams that come in to the internet from each
# SIDE (a or b: a NAT's or host's uplink) from now on (a rule with no verdict: it only counts;
# not lab:..., which lab_drops reads as a drop).
idle_count_start() {
	local side
	for side in "$@"; do
		lab_in inet iptables -I FORWARD -i "$side" -p udp -m comment \
			--comment "idle:count-$side" || return 1
	done
}

# idle_count SIDE: the datagrams counted from SIDE so far.
idle_count() {
	lab_in inet iptables -L FORWARD -v -n -x |
		awk -v c="idle:count-$1" 'index($0, c) { print $1; exit }'
}

# Two connected peers, idle for IDLE_S (default 30) seconds: the datagrams each side sends
# (keepalives to the peer, refreshes to the server, their answers), per minute. A figure for
# the README; the test fails only above 20 a minute a side (the default keepalive, 15 s,
# and refresh, 20 s, make about 6 to 8), so that a keepalive gone wild is seen.
test_idle_traffic() {
	local idle=${IDLE_S:-30} na nb
	lab_topology cone-cone && lab_pair alice hostA bob hostB || return 1
	lab_exchange alice bob 1 before-idle 10 || return 1
	# Let the punch's stragglers and the first PING settle, then count.
	sleep 1
	idle_count_start a b || return 1
	sleep "$idle"
	na=$(( $(idle_count a) * 60 / idle )) nb=$(( $(idle_count b) * 60 / idle ))
	NL_NOTE="idle ${idle} s: alice's side $na datagrams a minute, bob's $nb"
	[ "$na" -le 20 ] && [ "$nb" -le 20 ] ||
		{ echo "  more than 20 datagrams a minute from an idle side" >&2; return 1; }
}

# ---- the birthday method (birthday.h) ----

# median LIST...: the middle value of numbers (the lower middle of an even count); "-" for none.
median() {
	[ $# -gt 0 ] || { echo -; return; }
	printf '%s\n' "$@" | sort -n | sed -n "$(( ($# + 1) / 2 ))p"
}

# largest LIST...: the largest of numbers; "-" for none.
largest() {
	[ $# -gt 0 ] || { echo -; return; }
	printf '%s\n' "$@" | sort -n | tail -n 1
}

# birthday_run I: one run in the symmetric-cone lab: bob (cone) and alice (symmetric), each
# asking for the other, start afresh (names a$I and b$I, both NATs' state flushed); they chat
# on the relay, learn their NATs' kinds from the server's second port, and play the birthday
# method, then send 3 lines each way on the direct path. Appends to BD_RELAY_MS (alice's start to her relayed connection), BD_DIRECT_MS (her
# start to both sides direct), BD_PROBES (bob's probes to the hit) on success. Returns 0 when
# both went direct within BD_WAIT s.
birthday_run() {
	local a=a$1 b=b$1 t0 line rc=0
	lab_in natA conntrack -F >/dev/null 2>&1
	lab_in natB conntrack -F >/dev/null 2>&1
	lab_client hostB "$b" "$a" && wait_for "$NL_DIR/$b.out" "^\* registered as $b " 10 ||
		return 1
	t0=$(now_us)
	lab_client hostA "$a" "$b" || return 1
	if wait_for "$NL_DIR/$a.out" "^\* connected to $b via .* (relay)\$" 15 2>/dev/null; then
		BD_RELAY_MS="$BD_RELAY_MS $(( ($(now_us) - t0) / 1000 ))"
	fi
	if wait_until "${BD_WAIT:-25}" birthday_direct "$a" "$b"; then
		BD_DIRECT_MS="$BD_DIRECT_MS $(( ($(now_us) - t0) / 1000 ))"
		line=$(grep -h "^\* direct path to $a found by the birthday method" "$NL_DIR/$b.out")
		line=${line#*: } BD_PROBES="$BD_PROBES ${line%% probes*}"
		# The direct path carries the chat both ways (alice's end is a spare socket).
		lab_exchange "$a" "$b" 3 direct 10 || rc=1
		[ "$(count "$NL_DIR/$a.out" "^\* connected to $b")" -eq 2 ] &&
			[ "$(count "$NL_DIR/$b.out" "^\* connected to $a")" -eq 2 ] ||
			{ rc=1; echo "  run $1: the chat left the direct path" >&2; }
	else
		rc=1
		echo "  run $1: no direct path; alice: $(grep -c '' "$NL_DIR/$a.out") lines," \
			"last '$(tail -n 1 "$NL_DIR/$a.out")'" >&2
	fi
	lab_stop "${NL_PID[$a]}"
	lab_stop "${NL_PID[$b]}"
	return $rc
}

# birthday_direct A B: A and B both moved to a direct public path.
birthday_direct() {
	grep -q "^\* connected to $2 via .* (public)\$" "$NL_DIR/$1.out" &&
		grep -q "^\* connected to $1 via .* (public)\$" "$NL_DIR/$2.out"
}

# birthday_runs N [TOPO [CMD...]]: N runs in one TOPO lab (symmetric-cone unless given; lab_start
# with --alt-port first), CMD run once the lab is built (a check of its NAT) and before them.
# Sets BD_OK (runs direct), BD_RELAY_MS, BD_DIRECT_MS, BD_PROBES (lists) and BD_FIGURES.
birthday_runs() {
	local i t0 n=$1
	BD_OK=0 BD_RELAY_MS="" BD_DIRECT_MS="" BD_PROBES=""
	lab_topology "${2:-symmetric-cone}" || return 1
	shift $(( $# < 2 ? $# : 2 ))
	[ $# -eq 0 ] || "$@" || return 1
	t0=$(now_us)
	for i in $(seq 1 "$n"); do
		birthday_run "$i" && BD_OK=$((BD_OK + 1))
	done
	# shellcheck disable=SC2086 # the lists are words on purpose
	BD_FIGURES="direct in $BD_OK of $n runs; relay after $(median $BD_RELAY_MS) ms median,\
 $(largest $BD_RELAY_MS) ms worst; direct after $(median $BD_DIRECT_MS) ms median,\
 $(largest $BD_DIRECT_MS) ms worst; probes to the hit $(median $BD_PROBES) median,\
 $(largest $BD_PROBES) most; $(( ($(now_us) - t0) / 1000000 )) s in all"
}

# know_your_nat TOPO PORTS: in TOPO, NAT A gives one socket's 20 destinations the PORTS it should
# (random or sequential), and the alternate port tells each client its kind: alice hears she is
# symmetric, bob that his NAT keeps his port.
know_your_nat() {
	lab_topology "$1" || return 1
	"expect_${2}_ports" natA hostA || return 1
	lab_client hostB bob - && lab_client hostA alice - || return 1
	wait_for "$NL_DIR/alice.out" "^\* your NAT is symmetric" 10 &&
		wait_for "$NL_DIR/bob.out" "^\* your NAT keeps your port for every destination" 10
}

test_know_your_nat() { know_your_nat symmetric-cone random; }
test_know_your_nat_sequential() { know_your_nat sequential-cone sequential; }

# nat_ports NAT HOST: 20 datagrams from one socket of HOST to ports 40000..40019 of the server;
# prints the port NAT gave each of the 20 flows, in the order they were sent, one a line.
nat_ports() {
	lab_in "$2" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for p in range(20):
    s.sendto(b"x", (sys.argv[1], 40000 + p))' "$SRV_IP" || return 1
	nat_flows "$1" "${NL_IP[$2]}" | awk -v s="$SRV_IP" 'index($1, s ":4") == 1 {
		split($1, d, ":"); print d[2], $2 }' | sort -n | awk '{ print $2 }'
}

# expect_random_ports NAT HOST: HOST's 20 flows go out of NAT from 20 different ports that are
# not in sequence (--random-fully).
expect_random_ports() {
	local sorted
	sorted=$(nat_ports "$1" "$2" | sort -n -u) || return 1
	[ "$(grep -c . <<<"$sorted")" -eq 20 ] ||
		{ echo "  NAT $1 gave $(grep -c . <<<"$sorted") ports for 20 destinations" >&2; return 1; }
	# In sequence, the 19 gaps between sorted ports would add up to 19.
	[ $(( $(tail -n 1 <<<"$sorted") - $(head -n 1 <<<"$sorted") )) -gt 1000 ] ||
		{ echo "  NAT $1's ports are close together: $(echo $sorted)" >&2; return 1; }
	NL_NOTE="NAT A's ports for 20 destinations: $(echo $sorted | cut -d' ' -f1-5) ..."
}

# expect_sequential_ports NAT HOST [STEP]: HOST's 20 flows go out of NAT from 20 ports in
# sequence by STEP (1, or -1 counting down), in the order they were sent (65535 and 1024 are
# neighbours).
expect_sequential_ports() {
	local ports
	ports=$(nat_ports "$1" "$2") || return 1
	awk -v step="${3:-1}" 'NR == 1 { first = $1 }
		{ if (($1 - first - step * (NR - 1) + 2 * 64512) % 64512 != 0) bad = 1 }
		END { exit (NR != 20 || bad) }' <<<"$ports" ||
		{ echo "  NAT $1's ports for 20 destinations, in order: $(echo $ports)" >&2; return 1; }
	NL_NOTE="NAT A's ports for 20 destinations, in order: $(echo $ports | cut -d' ' -f1-5) ..."
}

# Symmetric NAT to cone NAT, 20 runs: the birthday method goes direct in at least 19.
test_birthday() {
	birthday_runs "${BIRTHDAY_RUNS:-20}" || return 1
	NL_NOTE="$BD_FIGURES"
	[ "$BD_OK" -ge $(( ${BIRTHDAY_RUNS:-20} - 1 )) ] ||
		{ echo "  $BD_FIGURES" >&2; return 1; }
}

# nat_seq BOX [STEP]: address- and port-dependent mapping with its ports handed out in sequence,
# as many home routers do: each new flow from inside, whatever its endpoints, takes the port
# STEP (1, or -1) from the last flow's (RFC 4787, 4.1 calls it symmetric all the same; Ford,
# Srisuresh & Kegel, 5.1, predict from it). Linux's own NAT picks ports at random or keeps them;
# here nft's snat takes the port from a map indexed by a counter of flows (numgen inc: the nat
# hook sees only a flow's first packet). A map, not `numgen inc offset P`: the counter is in
# host byte order and a port is read in network order, so that would hand out P, P+256,
# P+512... The count starts at a random port and goes round 1024..65535.
nat_seq() {
	local start=$(( RANDOM % 64512 )) step=${2:-1} map
	NL_MAPPING[$1]=seq
	[ "$step" -eq 1 ] || NL_MAPPING[$1]=seqdown
	map=$(seq 0 64511 | awk -v s="$start" -v d="$step" \
		'{ print $1 " : " 1024 + (s + d * $1 + 64512) % 64512 }' | paste -s -d,)
	lab_in "$1" nft -f - <<-EOT
	table ip lab_seq {
		chain post {
			type nat hook postrouting priority srcnat; policy accept;
			oifname "pub" meta l4proto udp snat to ${NL_PUB[$1]}:numgen inc mod 64512 map { $map }
		}
	}
	EOT
}

# nat_seqdown BOX: nat_seq counting down.
nat_seqdown() { nat_seq "$1" -1; }

#   sequential-cone      alice behind NAT A, symmetric but counting its ports up; bob behind cone NAT B
topo_sequential-cone() {
	lab_nat natA a seq-apdf 10.0.1 && lab_host hostA natA 2 &&
		lab_nat natB b cone 10.0.2 && lab_host hostB natB 2
}

#   sequential-down-cone the same, NAT A counting its ports down
topo_sequential-down-cone() {
	lab_nat natA a seqdown-apdf 10.0.1 && lab_host hostA natA 2 &&
		lab_nat natB b cone 10.0.2 && lab_host hostB natB 2
}

test_sequential_cone() { chat_test sequential-cone relay 20; }

# birthday_predicted TOPO STEP RUNS: NAT A of TOPO counts by STEP (checked first); bob predicts
# alice's ports from the two the server saw, and the birthday method goes direct in every run,
# each within the predicted ports (BDAY_PREDICT, 512 probes), half of them within 16 probes.
# Random ports (test_birthday) take some 175 probes a hit, median.
birthday_predicted() {
	local most half
	birthday_runs "$3" "$1" expect_sequential_ports natA hostA "$2" || return 1
	NL_NOTE="$BD_FIGURES"
	# shellcheck disable=SC2086 # the list is words on purpose
	most=$(largest $BD_PROBES) half=$(median $BD_PROBES)
	[ "$BD_OK" -eq "$3" ] && [ "$most" != - ] && [ "$most" -le 512 ] && [ "$half" -le 16 ] ||
		{ echo "  $BD_FIGURES" >&2; return 1; }
}

test_birthday_sequential() { birthday_predicted sequential-cone 1 "${BIRTHDAY_SEQ_RUNS:-10}"; }
test_birthday_sequential_down() { birthday_predicted sequential-down-cone -1 5; }

# ---- port forwarding (p2pchat --forward, --serve) ----
#
# bob serves ports on his loopback (--serve); alice forwards her own loopback ports to them
# (--forward), as ssh -L does. Nothing in between but the peers' stream over the punched path.

FWD_WEB_PORT=8000        # bob's web server, on bob's 127.0.0.1
FWD_WEB_LPORT=8080       # alice's listener for it
FWD_PERF_PORT=5201       # bob's tcpcopy.py server, on his 127.0.0.1 (and reached plainly over TCP)
FWD_PERF_LPORT=5202      # alice's listener for it
FWD_UNSERVED_LPORT=8022 # alice's listener for bob's port 22, which he does not serve
FWD_ASSET_BYTES=8000000  # the page's large asset
FWD_PERF_BYTES=$((16 << 20)) # the goodput runs' file: 16 MiB
FWD_TCPCOPY=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/tcpcopy.py # the goodput probe

# fwd_web DIR: a page whose text is known and whose script fetches asset.bin, hashes it
# (SHA-256, WebCrypto: http://127.0.0.1 is a secure context) and writes the hash into the page.
# Sets FWD_ASSET_SHA.
fwd_web() {
	mkdir -p "$1" && head -c "$FWD_ASSET_BYTES" /dev/urandom >"$1/asset.bin" || return 1
	FWD_ASSET_SHA=$(sha256sum "$1/asset.bin" | cut -d' ' -f1)
	cat >"$1/index.html" <<-'EOT'
	<!doctype html>
	<html><head><meta charset="utf-8"><title>bob's page</title></head>
	<body><p id="text">served from bob's loopback, across two NATs</p><p id="hash">pending</p>
	<script>
	fetch('/asset.bin').then(r => r.arrayBuffer()).then(b => crypto.subtle.digest('SHA-256', b))
	.then(d => { document.getElementById('hash').textContent = 'sha256 ' +
		Array.from(new Uint8Array(d)).map(x => x.toString(16).padStart(2, '0')).join(''); })
	.catch(e => { document.getElementById('hash').textContent = 'error ' + e; });
	</script></body></html>
	EOT
}

# fwd_pair [DELAY_MS [LOSS]]: cone NAT and cone NAT (and lab_delay's links); bob serves the web
# and goodput ports, alice forwards hers to them. Returns when both are registered.
fwd_pair() {
	lab_topology cone-cone && lab_delay "${1:-0}" "${2:-0}" || return 1
	lab_client hostB bob - --serve "$FWD_WEB_PORT" --serve "$FWD_PERF_PORT" || return 1
	wait_for "$NL_DIR/bob.out" "^\* registered as bob " 10 || return 1
	lab_client hostA alice - --forward "$FWD_WEB_LPORT:bob:$FWD_WEB_PORT" \
		--forward "$FWD_PERF_LPORT:bob:$FWD_PERF_PORT" --forward "$FWD_UNSERVED_LPORT:bob:22" ||
		return 1
	wait_for "$NL_DIR/alice.out" "^\* registered as alice " 10 &&
		wait_for "$NL_DIR/alice.out" "^\* forwarding 127.0.0.1:$FWD_WEB_LPORT to bob:$FWD_WEB_PORT" 5
}

# fwd_chromium URL OUT: headless Chromium in alice's box dumps URL's DOM into OUT once the page's
# fetches are done (a virtual-time budget waits for them; 120 s at most).
fwd_chromium() {
	mkdir -p "$NL_DIR/chromium" || return 1
	timeout 120 ip netns exec "$NL_P$NL_HOST_A" chromium --headless --no-sandbox --disable-gpu \
		--no-first-run --user-data-dir="$NL_DIR/chromium" --virtual-time-budget=60000 \
		--dump-dom "$1" >"$2" 2>"$NL_DIR/chromium.err"
}

# A real browser on alice's side opens http://127.0.0.1:8080/, which alice forwards to bob's
# web server on his loopback: the page's text arrives, and its script's SHA-256 of an 8 MB
# asset matches the file's. A port bob does not serve is refused, and both sides say so.
test_forward_browser() {
	local dom t0 ms
	command -v chromium >/dev/null 2>&1 || { NL_NOTE="skipped: no chromium (tests/deps.sh)"; return 0; }
	fwd_web "$NL_DIR/www" && fwd_pair || return 1
	lab_spawn /dev/null "$NL_DIR/web.log" "$NL_DIR/web.err" ip netns exec "$NL_P$NL_HOST_B" \
		/usr/bin/python3 -m http.server "$FWD_WEB_PORT" --bind 127.0.0.1 --directory "$NL_DIR/www"
	wait_until 10 lab_in "$NL_HOST_B" bash -c "exec 3<>/dev/tcp/127.0.0.1/$FWD_WEB_PORT" 2>/dev/null ||
		{ echo "  bob's web server did not start" >&2; return 1; }
	t0=$(now_us)
	fwd_chromium "http://127.0.0.1:$FWD_WEB_LPORT/" "$NL_DIR/dom.html" ||
		{ echo "  chromium failed:" >&2; tail -5 "$NL_DIR/chromium.err" >&2; return 1; }
	ms=$(( ($(now_us) - t0) / 1000 ))
	dom=$(cat "$NL_DIR/dom.html")
	grep -q "served from bob's loopback, across two NATs" <<<"$dom" ||
		{ echo "  the page's text is not in the DOM: $(head -c 300 <<<"$dom")" >&2; return 1; }
	grep -q "sha256 $FWD_ASSET_SHA" <<<"$dom" ||
		{ echo "  the asset's hash: $(grep -o 'id="hash">[^<]*' <<<"$dom"), want $FWD_ASSET_SHA" >&2
		  return 1; }
	expect_path alice bob public || return 1
	NL_NOTE="page and 8 MB asset in $ms ms, sha256 ${FWD_ASSET_SHA:0:16}..."
	# a port bob does not serve, and one he serves with nothing listening: alice's connection
	# is reset, and both say why
	lab_in "$NL_HOST_A" bash -c "exec 3<>/dev/tcp/127.0.0.1/$FWD_UNSERVED_LPORT; cat <&3" \
		>/dev/null 2>&1
	wait_for "$NL_DIR/alice.out" "bob does not serve port 22; connection reset" 10 &&
		wait_for "$NL_DIR/bob.out" "refused alice's forward to port 22: not served" 5 ||
		return 1
	lab_in "$NL_HOST_A" bash -c "exec 3<>/dev/tcp/127.0.0.1/$FWD_PERF_LPORT; cat <&3" \
		>/dev/null 2>&1
	wait_for "$NL_DIR/alice.out" "bob could not connect to port $FWD_PERF_PORT" 10 &&
		wait_for "$NL_DIR/bob.out" "alice's forward to port $FWD_PERF_PORT: could not connect" 5
}

# fwd_client NAME SEND: in alice's box, a TCP client of alice's web forward sends SEND (may be
# empty) and reads to the end; NAME.out says "open", then "eof BYTES" and the reply, or
# "reset" when the connection was reset.
fwd_client() {
	lab_spawn /dev/null "$NL_DIR/$1.out" "$NL_DIR/$1.err" ip netns exec "$NL_P$NL_HOST_A" \
		/usr/bin/python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
print("open", flush=True)
s.sendall(sys.argv[2].encode())
got = b""
try:
    while True:
        b = s.recv(65536)
        if not b:
            break
        got += b
except ConnectionResetError:
    print("reset", flush=True)
    sys.exit(0)
print("eof", len(got), flush=True)
print(got.decode(errors="replace"), flush=True)' "$FWD_WEB_LPORT" "$2"
}

# bob_serving: bob's box has a connection from his p2pchat to his web server.
bob_serving() {
	lab_in "$NL_HOST_B" ss -Htn state established "( dport = :$FWD_WEB_PORT )" | grep -q .
}

# Bob goes away: alice's open connection through the forward is reset, not ended in order, and
# she is told; a connection made while he is away waits, and bob's page comes through it once
# he is back.
test_forward_peer_drop() {
	fwd_web "$NL_DIR/www" && fwd_pair || return 1
	lab_spawn /dev/null "$NL_DIR/web.log" "$NL_DIR/web.err" ip netns exec "$NL_P$NL_HOST_B" \
		/usr/bin/python3 -m http.server "$FWD_WEB_PORT" --bind 127.0.0.1 --directory "$NL_DIR/www"
	wait_until 10 lab_in "$NL_HOST_B" bash -c "exec 3<>/dev/tcp/127.0.0.1/$FWD_WEB_PORT" 2>/dev/null ||
		{ echo "  bob's web server did not start" >&2; return 1; }
	fwd_client idle ""
	wait_until 15 bob_serving || { echo "  the idle connection never reached bob's server" >&2; return 1; }
	lab_stop "${NL_PID[bob]}"
	wait_for "$NL_DIR/idle.out" "^reset$" 15 &&
		wait_for "$NL_DIR/alice.out" "^\* forward: bob dropped; 1 connection reset$" 5 || return 1
	fwd_client late $'GET / HTTP/1.0\r\n\r\n'
	wait_for "$NL_DIR/late.out" "^open$" 5 || return 1
	rm -f "$NL_DIR/bob.in" && lab_client hostB bob - --serve "$FWD_WEB_PORT" || return 1
	wait_for "$NL_DIR/late.out" "served from bob's loopback, across two NATs" 30 || return 1
	NL_NOTE="the open connection was reset; the one made while bob was away got his page"
}

# fwd_copy LABEL HOST PORT BYTES [CCA]: alice's box copies BYTES over TCP to HOST:PORT (with
# congestion control CCA) and times it until bob's receiver has them all (tests/tcpcopy.py);
# prints the goodput in Mbit/s (one decimal), or fails. The output is kept in copy-LABEL.out.
fwd_copy() {
	local out="$NL_DIR/copy-$1.out"
	timeout 300 ip netns exec "$NL_P$NL_HOST_A" /usr/bin/python3 "$FWD_TCPCOPY" send \
		"$2" "$3" "$4" ${5:+"$5"} >"$out" 2>&1 ||
		{ echo "  the $1 copy failed:" >&2; tail -n 3 "$out" >&2; return 1; }
	cut -d' ' -f1 "$out"
}

# fwd_goodput LOSS TARGET: 16 MiB from alice to bob, plain TCP over the same delayed links (NAT B
# forwards the copy's port to bob, for this test only) and through alice's forward, in one lab;
# /peers' round trip taken twice while the forwarded copy goes. TCP runs twice: with the system's
# congestion control (sysctl net.ipv4.tcp_congestion_control: BBR on this machine) and with
# CUBIC (Linux's and Debian's default); with loss, CUBIC copies 2 MiB (at 5% it is held near the
# Mathis bound, and 16 MiB would take minutes). Sets FWD_TCP, FWD_CUBIC, FWD_FWD (Mbit/s) and
# FWD_RTT (ms).
fwd_goodput() {
	local bob_ip pid cca cubic_bytes=$FWD_PERF_BYTES
	command -v python3 >/dev/null 2>&1 || { NL_NOTE="skipped: no python3"; return 2; }
	cca=$(sysctl -n net.ipv4.tcp_congestion_control 2>/dev/null || echo "?")
	[ "$1" = 0 ] || cubic_bytes=$((2 << 20))
	fwd_pair 25 "$1" || return 1
	bob_ip=${NL_IP[$NL_HOST_B]}
	lab_spawn /dev/null "$NL_DIR/copy-server.log" "$NL_DIR/copy-server.err" \
		ip netns exec "$NL_P$NL_HOST_B" /usr/bin/python3 "$FWD_TCPCOPY" serve "$FWD_PERF_PORT"
	wait_until 10 lab_in "$NL_HOST_B" bash -c "exec 3<>/dev/tcp/127.0.0.1/$FWD_PERF_PORT" 2>/dev/null ||
		{ echo "  tcpcopy.py serve did not start" >&2; return 1; }
	lab_in natB iptables -t nat -A PREROUTING -i pub -p tcp --dport "$FWD_PERF_PORT" \
		-j DNAT --to-destination "$bob_ip" &&
		lab_in natB iptables -I FORWARD 1 -i pub -m conntrack --ctstate DNAT -j ACCEPT || return 1
	FWD_TCP=$(fwd_copy tcp "${NL_PUB[natB]}" "$FWD_PERF_PORT" "$FWD_PERF_BYTES") || return 1
	FWD_CUBIC=$(fwd_copy cubic "${NL_PUB[natB]}" "$FWD_PERF_PORT" "$cubic_bytes" cubic) || return 1
	# twice: the first PING may be lost (5%), and /peers says -1 until one comes back
	(sleep 1; lab_type alice /peers; sleep 1; lab_type alice /peers) &
	pid=$!
	FWD_FWD=$(fwd_copy forward 127.0.0.1 "$FWD_PERF_LPORT" "$FWD_PERF_BYTES") || { wait $pid; return 1; }
	wait $pid
	FWD_RTT=$(sed -n 's/^\* peer bob connected .* rtt \([0-9]*\) ms.*$/\1/p' "$NL_DIR/alice.out" |
		tr '\n' ' ')
	NL_NOTE="16 MiB: TCP ($cca) $FWD_TCP Mbit/s, TCP (cubic$([ "$1" = 0 ] || echo ", 2 MiB"))"
	NL_NOTE="$NL_NOTE $FWD_CUBIC Mbit/s, forwarded"
	NL_NOTE="$NL_NOTE $FWD_FWD Mbit/s = $(fwd_ratio "$FWD_FWD" "$FWD_TCP") x TCP ($cca),"
	NL_NOTE="$NL_NOTE $(fwd_ratio "$FWD_FWD" "$FWD_CUBIC") x TCP (cubic) (target $2 x);"
	NL_NOTE="$NL_NOTE /peers rtt during the transfer: ${FWD_RTT:-?} ms"
}

# fwd_ratio A B: prints A / B with two decimals (0.00 when B is 0).
fwd_ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'
}

# Goodput, reported not asserted (a shared machine's timing): the figures go into the note.
test_forward_goodput() { fwd_goodput 0 0.9; [ $? -ne 1 ]; }
test_forward_goodput_loss() { fwd_goodput 0.05 1.0; [ $? -ne 1 ]; }

# ---- a file (/send) against TCP across the lab ----
#
# alice /sends bob a 16 MiB file of random bytes (he saves with --accept-files) over cone NATs,
# 25 ms a link, and tcpcopy.py copies as many bytes over plain TCP on the same links; rounds
# alternate which goes first (SEND_ROUNDS, NATLAB_SEND_ROUNDS). Chat lines go both ways during
# each /send and before any, timed on one clock (the namespaces share it): the chat's round trip
# is a line's way there plus a line's way back.

SEND_ROUNDS=${NATLAB_SEND_ROUNDS:-3} # rounds of TCP and /send, in turns

# send_stamp FILE: FILE.ts gets each line of FILE as it is written, after the wall-clock time
# (seconds, microseconds) it was seen; polled every 2 ms.
send_stamp() {
	lab_spawn /dev/null "$1.ts" /dev/null /usr/bin/python3 -u -c '
import sys, time
f, rest = open(sys.argv[1], "rb"), b""
while True:
    b = f.read()
    if not b:
        time.sleep(0.002)
        continue
    *lines, rest = (rest + b).split(b"\n")
    t = b"%.6f " % time.time()
    sys.stdout.buffer.write(b"".join(t + l + b"\n" for l in lines))' "$1"
}

# send_at TSFILE REGEX: the time of the first line of TSFILE (send_stamp's) matching REGEX.
send_at() {
	awk -v re="$2" '{ t = $1; sub(/^[^ ]* /, "") } $0 ~ re { print t; exit }' "$1"
}

# send_probe TAG: alice sends bob the chat line "TAG a2b", bob sends alice "TAG b2a", at once;
# the time goes into probes.sent.
send_probe() {
	echo "$EPOCHREALTIME $1" >>"$NL_DIR/probes.sent"
	lab_type alice "/msg bob $1 a2b"
	lab_type bob "/msg alice $1 b2a"
}

# send_delays PREFIX: for each probe whose tag starts with PREFIX, the ms its a2b line took to
# bob plus the ms its b2a line took to alice (its round trip), one a line; none if one is missing.
send_delays() {
	awk -v pre="$1" '
		{ t = $1; sub(/^[^ ]* /, "") }
		FILENAME == ARGV[1] { if (sub(/^<alice> /, "") && !($0 in at)) at[$0] = t; next }
		FILENAME == ARGV[2] { if (sub(/^<bob> /, "") && !($0 in at)) at[$0] = t; next }
		index($0, pre) == 1 && ($0 " a2b") in at && ($0 " b2a") in at {
			printf "%.0f\n", (at[$0 " a2b"] - t + at[$0 " b2a"] - t) * 1000 }' \
		"$NL_DIR/bob.out.ts" "$NL_DIR/alice.out.ts" "$NL_DIR/probes.sent"
}

# send_chat_rtt PREFIX: "MEDIAN (MIN..MAX, N lines)" of send_delays PREFIX, in ms.
send_chat_rtt() {
	local d
	d=$(send_delays "$1" | sort -n)
	[ -n "$d" ] || { echo "-"; return; }
	echo "$(median $d) ($(head -n 1 <<<"$d")..$(tail -n 1 <<<"$d"), $(wc -l <<<"$d") lines)"
}

# send_one R: alice /sends bob file-R.bin (file.bin linked), a chat probe each way every 0.25 s
# and /peers every second meanwhile; checks the SHA-256 of what bob saved. Appends Mbit/s to
# SEND_S (the sender's "in S s": from bob's ACCEPT to his DONE, S cut to a tenth of a second),
# SEND_OFFER (from bob's "alice offers" line to alice's "* sent": the ACCEPT's way, the data and
# the DONE's way, as tcpcopy.py times its handshake, the data and the count's way) and
# SEND_WALL (from typing /send: alice's hashing of the file and the offer's way too).
send_one() {
	local name="file-$1.bin" t0 t1 toff k=0 secs saved got
	ln -f "$NL_DIR/file.bin" "$NL_DIR/$name" || return 1
	t0=$EPOCHREALTIME
	lab_type alice "/send bob $NL_DIR/$name"
	until grep -Eq "^\* (sent|file) $name to bob" "$NL_DIR/alice.out"; do
		k=$((k + 1))
		[ "$k" -le 1200 ] || { echo "  $name: no end in 300 s" >&2; return 1; }
		send_probe "busy-$1-$k"
		[ $((k % 4)) -ne 1 ] || lab_type alice /peers
		sleep 0.25
	done
	secs=$(sed -n "s/^\* sent $name to bob: $FWD_PERF_BYTES bytes in \([0-9.]*\) s\$/\1/p" \
		"$NL_DIR/alice.out")
	[ -n "$secs" ] || { grep "^\* file $name" "$NL_DIR/alice.out" >&2; return 1; }
	wait_until 5 grep -q "^[0-9.]* \\* sent $name " "$NL_DIR/alice.out.ts" || return 1
	t1=$(send_at "$NL_DIR/alice.out.ts" "^\\* sent $name ")
	toff=$(send_at "$NL_DIR/bob.out.ts" "^\\* alice offers $name ")
	wait_for "$NL_DIR/bob.out" "^\* received $name from alice: " 5 || return 1
	saved=$(sed -n "s/^\* received $name from alice: .* saved as \(.*\)\$/\1/p" "$NL_DIR/bob.out")
	got=$(sha256sum <"$saved" | cut -d' ' -f1)
	[ "$got" = "$SEND_SHA" ] ||
		{ echo "  $name arrived as $saved with sha256 $got, want $SEND_SHA" >&2; return 1; }
	rm -f "$saved" "$NL_DIR/$name"
	SEND_S="$SEND_S $(awk -v b="$FWD_PERF_BYTES" -v s="$secs" 'BEGIN { printf "%.1f", b * 8 / s / 1e6 }')"
	SEND_OFFER="$SEND_OFFER $(send_mbit "$toff" "$t1")"
	SEND_WALL="$SEND_WALL $(send_mbit "$t0" "$t1")"
}

# send_mbit T0 T1: FWD_PERF_BYTES from wall-clock second T0 to T1, in Mbit/s.
send_mbit() {
	awk -v b="$FWD_PERF_BYTES" -v a="$1" -v z="$2" 'BEGIN { printf "%.1f", b * 8 / (z - a) / 1e6 }'
}

# send_goodput LOSS: SEND_ROUNDS rounds of a TCP copy and a /send of 16 MiB, in turns, over cone
# NATs, 25 ms a link and LOSS; each file must arrive whole. The figures go into the note, the
# ratios (/send over the same round's TCP) reported, not asserted.
send_goodput() {
	local r tcp="" ratios="" ratios_offer="" ratios_wall="" cca i rate
	command -v python3 >/dev/null 2>&1 || { NL_NOTE="skipped: no python3"; return 2; }
	cca=$(sysctl -n net.ipv4.tcp_congestion_control 2>/dev/null || echo "?")
	SEND_S="" SEND_OFFER="" SEND_WALL=""
	lab_topology cone-cone && lab_delay 25 "$1" && mkdir -p "$NL_DIR/inbox" || return 1
	head -c "$FWD_PERF_BYTES" /dev/urandom >"$NL_DIR/file.bin" || return 1
	SEND_SHA=$(sha256sum <"$NL_DIR/file.bin" | cut -d' ' -f1)
	lab_pair alice hostA bob hostB --accept-files "$NL_DIR/inbox" || return 1
	expect_path alice bob public && expect_path bob alice public || return 1
	lab_spawn /dev/null "$NL_DIR/copy-server.log" "$NL_DIR/copy-server.err" \
		ip netns exec "$NL_P$NL_HOST_B" /usr/bin/python3 "$FWD_TCPCOPY" serve "$FWD_PERF_PORT"
	lab_in natB iptables -t nat -A PREROUTING -i pub -p tcp --dport "$FWD_PERF_PORT" \
		-j DNAT --to-destination "${NL_IP[$NL_HOST_B]}" &&
		lab_in natB iptables -I FORWARD 1 -i pub -m conntrack --ctstate DNAT -j ACCEPT || return 1
	wait_until 10 lab_in "$NL_HOST_B" bash -c "exec 3<>/dev/tcp/127.0.0.1/$FWD_PERF_PORT" 2>/dev/null ||
		{ echo "  tcpcopy.py serve did not start" >&2; return 1; }
	send_stamp "$NL_DIR/alice.out" && send_stamp "$NL_DIR/bob.out" || return 1
	for i in 1 2 3 4 5 6 7 8; do send_probe "idle-$i"; sleep 0.25; done
	wait_until 10 grep -q "^[0-9.]* <bob> idle-8 b2a\$" "$NL_DIR/alice.out.ts" &&
		wait_until 10 grep -q "^[0-9.]* <alice> idle-8 a2b\$" "$NL_DIR/bob.out.ts" || return 1
	for r in $(seq 1 "$SEND_ROUNDS"); do
		if [ $((r % 2)) -eq 1 ]; then
			rate=$(fwd_copy "tcp-$r" "${NL_PUB[natB]}" "$FWD_PERF_PORT" "$FWD_PERF_BYTES") &&
				send_one "$r" || return 1
		else
			send_one "$r" &&
				rate=$(fwd_copy "tcp-$r" "${NL_PUB[natB]}" "$FWD_PERF_PORT" "$FWD_PERF_BYTES") ||
				return 1
		fi
		tcp="$tcp $rate"
		ratios="$ratios $(fwd_ratio "${SEND_S##* }" "$rate")"
		ratios_offer="$ratios_offer $(fwd_ratio "${SEND_OFFER##* }" "$rate")"
		ratios_wall="$ratios_wall $(fwd_ratio "${SEND_WALL##* }" "$rate")"
	done
	# Round 1's /send is the path's first bulk transfer (cold); later ones find the model of
	# the path the one before left (warm), while every TCP copy is a new connection.
	NL_NOTE="16 MiB, $SEND_ROUNDS rounds (the first /send cold, the rest warm): TCP ($cca) Mbit/s:$tcp;"
	NL_NOTE="$NL_NOTE /send (its 'in S s'):$SEND_S = x TCP:$ratios (target $2);"
	NL_NOTE="$NL_NOTE /send (offer at bob to '* sent'):$SEND_OFFER = x TCP:$ratios_offer;"
	NL_NOTE="$NL_NOTE /send (typed to '* sent'):$SEND_WALL = x TCP:$ratios_wall;"
	NL_NOTE="$NL_NOTE chat round trip ms, idle: $(send_chat_rtt idle-),"
	NL_NOTE="$NL_NOTE during /send: $(send_chat_rtt busy-); /peers rtt during /send:"
	NL_NOTE="$NL_NOTE $(sed -n 's/^\* peer bob connected .* rtt \([0-9]*\) ms.*$/\1/p' \
		"$NL_DIR/alice.out" | tr '\n' ' ')"
}

# A file's goodput, reported not asserted (a shared machine's timing): the files must arrive whole.
test_send_goodput() { send_goodput 0 0.9; [ $? -ne 1 ]; }
test_send_goodput_loss() { send_goodput 0.05 1.0; [ $? -ne 1 ]; }

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
	check "symmetric NAT and public host: direct, at the peer-reflexive address" \
		test_symmetric_public
	check "two homes under one carrier NAT, no hairpin: relayed" test_cgnat
	check "the ladder of a cone-cone punch: its format, and its deaths are the NATs' drops" \
		test_ladder
	check "two homes under one hairpinning carrier NAT: direct, public" test_cgnat_hairpin
	check "one home under a carrier NAT: direct, private" test_cgnat_same_home
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
	check "IPv6 only, both behind stateful firewalls: direct, public" test_v6_firewalls
	check "IPv4 only and IPv6 only, through a dual-stack server: relayed, and said why" \
		test_v4_v6_relay
	check "dual-stack pair, IPv4 blocked between them, registered by IPv4 first: direct over IPv6" \
		test_v6_dual_stack_v4_blocked
	check "dual-stack pair, IPv6 blocked between them, registered by IPv6 first: direct over IPv4" \
		test_v6_dual_stack_v6_blocked
	check "dual-stack pair, IPv4 25 ms a link slower: the race goes to IPv6" \
		test_v6_dual_stack_race_v6_wins
	check "dual-stack pair, IPv6 25 ms a link slower: the race goes to IPv4" \
		test_v6_dual_stack_race_v4_wins
	check "conntrack flushed mid-chat: nothing lost" test_nat_flush
	check "NAT maps anew mid-chat: recovered before the answer timeout, re-registered, nothing lost" \
		test_nat_new_mapping
	check "idle peers: datagrams a minute (keepalives and refreshes)" test_idle_traffic
	NL_SERVER_OPTS="--alt-port 7778" check \
		"know your NAT: symmetric NAT A's ports are random; each client is told its kind" \
		test_know_your_nat
	NL_SERVER_OPTS="--alt-port 7778" check \
		"symmetric NAT to cone NAT, 20 runs: the birthday method, direct in at least 19" \
		test_birthday
	check "sequential NAT and cone NAT: relayed, all delivered" test_sequential_cone
	NL_SERVER_OPTS="--alt-port 7778" check \
		"know your NAT: sequential NAT A counts its ports up; alice is told she is symmetric" \
		test_know_your_nat_sequential
	NL_SERVER_OPTS="--alt-port 7778" check \
		"sequential NAT to cone NAT, 10 runs: predicted ports, direct every time" \
		test_birthday_sequential
	NL_SERVER_OPTS="--alt-port 7778" check \
		"sequential NAT counting down to cone NAT, 5 runs: predicted ports, direct every time" \
		test_birthday_sequential_down
	check "forward: headless Chromium gets bob's page and an 8 MB asset across cone NATs" \
		test_forward_browser
	check "forward: bob drops: the open connection is reset, a new one waits for him" \
		test_forward_peer_drop
	check "forward: goodput of 16 MB against TCP, 25 ms per link" test_forward_goodput
	check "forward: goodput of 16 MB against TCP, 25 ms per link and 5% loss" \
		test_forward_goodput_loss
	check "send: a 16 MB file against TCP, 25 ms per link; chat round trip meanwhile" \
		test_send_goodput
	check "send: a 16 MB file against TCP, 25 ms per link and 5% loss; chat round trip" \
		test_send_goodput_loss
	echo "natlab: $passed passed, $failed failed"
	[ "$failed" -eq 0 ]
}

# Run, unless sourced (examples/demo-nat.sh uses the lab_* functions).
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	natlab_main "$@"
fi
