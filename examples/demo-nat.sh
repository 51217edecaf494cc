#!/usr/bin/env bash
# examples/demo-nat.sh - the NAT lab's topologies, each watched: NAT tables, the punch's ladder, the table.
# `make demo-nat` runs every topology, then the birthday method's runs (TOPO=birthday: those
# alone, DEMO_BIRTHDAY_RUNS of them); `TOPO=NAME make demo-nat` (or --topology NAME) one,
# slowly, with DEMO_PAUSE seconds (default 4) between its steps, to talk over. LADDER_MAX
# lines of each ladder are shown (default 40; 0: all). It builds small internets out of
# network namespaces (tests/natlab.sh draws them) with real Linux NATs and removes them at
# the end. As root it runs as it is; as another user it runs inside a user namespace of its
# own (with its network and mount namespaces), where the kernel allows that.
set -u
BIN=${BIN:-build}
TOPO=${TOPO:-}
while [ $# -gt 0 ]; do
	case $1 in
	--topology) TOPO=${2:-}; shift 2 ;;
	--topology=*) TOPO=${1#*=}; shift ;;
	*) echo "usage: $0 [--topology NAME]" >&2; exit 2 ;;
	esac
done

# Not root: the whole lab goes inside one new user namespace, where this user is root, with a
# network namespace (so nothing touches the machine's network) and a mount namespace (so
# `ip netns` can keep its names in a private /run).
if [ "$(id -u)" -ne 0 ] && [ -z "${DEMO_NAT_USERNS:-}" ]; then
	if ! err=$(unshare --user --map-root-user --net --mount true 2>&1); then
		cat >&2 <<EOF
demo-nat: not root, and this kernel does not let users make namespaces:
  $err
Run it as root (sudo make demo-nat), or allow unprivileged user namespaces:
  Debian 11 and older:  sudo sysctl kernel.unprivileged_userns_clone=1
  Ubuntu 23.10 and later (AppArmor):  sudo sysctl kernel.apparmor_restrict_unprivileged_userns=0
  any kernel:  sysctl user.max_user_namespaces must be above 0
EOF
		exit 1
	fi
	export DEMO_NAT_USERNS=1 BIN TOPO PATH="$PATH:/usr/sbin:/sbin"
	exec unshare --user --map-root-user --net --mount bash "$0"
fi
if [ -n "${DEMO_NAT_USERNS:-}" ]; then
	# A tmpfs on /run, seen only in this mount namespace: `ip netns` writes /run/netns there.
	mount -t tmpfs lab-run /run && mkdir -p /run/netns || exit 1
fi

. "$(dirname "$0")/../tests/natlab.sh"   # the lab_* functions; sourcing it runs no test
if ! lab_init; then
	echo "demo-nat: the lab needs root (network namespaces, iptables): sudo make demo-nat" >&2
	exit 1
fi
lab_preflight || { echo "demo-nat: the lab cannot be built here (see above)" >&2; exit 1; }

LINES_EACH_WAY=10
NL_CONNECT_WAIT=8   # a pair not connected by then has no path
ROWS=()
ROW_FORMAT='%-20s %-18s %-18s %-13s %-7s %-9s %s\n'
if [ -n "$TOPO" ] && [ "$TOPO" != birthday ]; then
	topology_field "$TOPO" 2 | grep -q . ||
		{ echo "demo-nat: no topology '$TOPO'; there are: $(lab_topologies | tr '\n' ' ')" >&2
		  exit 2; }
	PAUSE=${DEMO_PAUSE:-4}
else
	PAUSE=${DEMO_PAUSE:-0}
fi

# step TEXT: a step's heading, after the pause.
step() {
	[ "$PAUSE" = 0 ] || sleep "$PAUSE"
	printf '\n-- %s\n' "$*"
}

# nat_boxes: the NATs of the current lab, the carrier's first.
nat_boxes() {
	local box
	for box in cgn natA natB; do
		[ -n "${NL_PUB[$box]:-}" ] && echo "$box"
	done
}

# show_tables: every NAT's UDP mappings (conntrack), as nat_table prints them.
show_tables() {
	local box table
	for box in $(nat_boxes); do
		table=$(nat_table "$box")
		echo "  $(box_label "$box") (${NL_PUB[$box]}):"
		echo "${table:-(none)}" | sed 's/^/    /'
	done
}

# show_ports NAME PEER: the endpoint the server saw for NAME beside the one PEER's packets from
# NAME came from (the NAT's port toward PEER).
show_ports() {
	local seen peer_saw
	seen=$(registered_ep "$1")
	peer_saw=$(grep -E " $1 +-> $2 .* arrived from " <<<"$LADDER" | head -n 1 |
		sed 's/.* arrived from //')
	printf '  the server saw %-5s at %-21s %-5s saw %s at %s\n' "$1" "$seen" "$2" "$1" \
		"${peer_saw:-(nothing arrived directly)}"
}

# demo_row TOPOLOGY [DELAY_MS LOSS]: builds the lab for TOPOLOGY; bob and alice register;
# alice types /chat bob; shows the NATs' tables before and after, the ladder of the punch and
# the ports; sends lines both ways; adds a row to the table.
demo_row() {
	local topo=$1 path connect why want ladder_n deaths
	why=$(topology_field "$topo" 3)
	want=$(topology_field "$topo" 2)
	printf '\n== %s%s\n   (%s)\n' "$topo" "${2:+, $2 ms a link, loss $3}" "$why"
	lab_start && lab_topology "$topo" && lab_delay "${2:-0}" "${3:-0}" ||
		{ echo "demo-nat: cannot build the lab" >&2; exit 1; }
	lab_watch_start alice "$NL_HOST_A" bob "$NL_HOST_B" ||
		{ echo "demo-nat: the clients did not register" >&2; exit 1; }
	step "bob and alice registered: each NAT holds a mapping toward the server"
	show_tables
	step "alice types /chat bob: lookup, introduction, punch"
	if lab_watch_punch alice bob; then
		path=${NL_PATH_A##* }
		[ "${NL_PATH_B##* }" = "$path" ] || path="$path/${NL_PATH_B##* }"
		connect="$NL_CONNECT_MS ms"
	else
		path=none connect=-
	fi
	grep -h '^\* connected' "$NL_DIR/alice.out" | sed 's/^/  alice | /'
	grep -h '^\* connected' "$NL_DIR/bob.out" | sed 's/^/  bob   | /'
	LADDER="" deaths=""
	if [ -n "$NL_CAPTURED" ]; then
		LADDER=$(lab_ladder "$NL_T0")
		deaths=$(grep '^deaths ' <<<"$LADDER")
		LADDER=$(grep -v '^deaths ' <<<"$LADDER")
		ladder_n=$(grep -c . <<<"$LADDER")
		step "the ladder: every datagram from /chat on (ms), and where it went or died"
		if [ "${LADDER_MAX:-40}" -gt 0 ] && [ "$ladder_n" -gt "${LADDER_MAX:-40}" ]; then
			head -n "${LADDER_MAX:-40}" <<<"$LADDER"
			echo "  ... and $((ladder_n - ${LADDER_MAX:-40})) more (LADDER_MAX=0 shows all)"
		else
			echo "$LADDER"
		fi
		if [ "${3:-0}" = 0 ]; then
			echo "  died, by the ladder:" \
			     "$(awk '{ printf "%s%s %s %s", s, $2, $3, $4; s = ", " }' <<<"$deaths")" \
			     "$(lab_check_deaths "$NL_DROPS0" "$NL_DROPS1" "$deaths" 2>&1 &&
				echo "(the NATs' DROP counters agree)")"
		else
			echo "  died, by the NATs' DROP counters:" \
			     "$(awk 'FNR == 1 { f++ } f == 1 { n[$1 " " $2] = $3 }
				f == 2 && $3 - n[$1 " " $2] > 0 { printf "%s%s %s %d", s, $1, $2,
					$3 - n[$1 " " $2]; s = ", " }' <(echo "$NL_DROPS0") <(echo "$NL_DROPS1"))"
			echo "  (the internet lost some at random: the ladder cannot tell those from the" \
			     "filtered ones, and puts them at the NAT they were addressed to)"
		fi
		show_ports alice bob
		show_ports bob alice
	fi
	step "after the punch: the mappings toward the peer (and what conntrack keeps)"
	show_tables
	step "they send $LINES_EACH_WAY lines each way"
	lab_exchange alice bob "$LINES_EACH_WAY" demo 15 2>/dev/null
	echo "  alice received $(count "$NL_DIR/alice.out" '^<bob> demo ') lines," \
	     "bob $(count "$NL_DIR/bob.out" '^<alice> demo ') lines"
	[ "${path%%/*}" = "$want" ] && [ "${path#*/}" = "$want" ] || why="(want $want) $why"
	ROWS+=("$(printf "$ROW_FORMAT" "$topo${2:+ ${2}ms/$3}" "$(nats_above "$NL_HOST_A")" \
		"$(nats_above "$NL_HOST_B")" "$path" "$connect" \
		"$NL_DELIVERED/$((2 * LINES_EACH_WAY))" "$why")")
	lab_teardown
}

# nats_above HOST: the kinds of the NATs above HOST, nearest first, joined by "/" ("none").
nats_above() {
	local up=${NL_UP[$1]:-} kinds=""
	while [ -n "$up" ]; do
		kinds="$kinds/$(nat_kind "$up")" up=${NL_UP[$up]:-}
	done
	echo "${kinds:-/none}" | cut -c2-
}

# birthday_demo TOPO: the TOPO room (symmetric-cone, or sequential-cone: NAT A counts its
# ports) again, the server with its second port (--alt-port): both peers learn their NATs'
# kinds, chat on the relay, and the birthday method (birthday.h) finds a direct path, with
# the ports predicted where NAT A counts. DEMO_BIRTHDAY_RUNS runs (default 5); the time to
# the relay and the time to direct, side by side.
birthday_demo() {
	local n=${DEMO_BIRTHDAY_RUNS:-5}
	# shellcheck disable=SC2086 # the lists are words on purpose
	printf '\n== the birthday method: %s, p2pchatd --alt-port, %s runs\n' "$1" "$n"
	NL_SERVER_OPTS="--alt-port 7778" lab_start ||
		{ echo "demo-nat: cannot build the lab" >&2; exit 1; }
	birthday_runs "$n" "$1"
	grep -h "^\* your NAT\|^\* a1: \|^\* connected\|^\* direct path" "$NL_DIR/b1.out" |
		sed 's/^/  bob (run 1) | /'
	printf '  %-22s %8s %8s\n' "" median worst
	printf '  %-22s %8s %8s\n' "relay carries the chat" "$(median $BD_RELAY_MS) ms" \
		"$(largest $BD_RELAY_MS) ms"
	printf '  %-22s %8s %8s\n' "direct (birthday)" "$(median $BD_DIRECT_MS) ms" \
		"$(largest $BD_DIRECT_MS) ms"
	printf '  %-22s %8s %8s\n' "easy side's probes" "$(median $BD_PROBES)" "$(largest $BD_PROBES)"
	echo "  direct in $BD_OK of $n runs (from alice's start; bob had registered)"
	lab_teardown
}

if [ "$TOPO" = birthday ]; then
	birthday_demo symmetric-cone
	birthday_demo sequential-cone
	exit 0
fi
echo "Each row: a fresh lab, p2pchatd on 203.0.113.10; bob and alice register, then alice"
echo "types /chat bob; then each sends the other $LINES_EACH_WAY lines."
if [ -n "$TOPO" ]; then
	demo_row "$TOPO"
else
	for topo in $(lab_topologies); do demo_row "$topo"; done
	demo_row cone-cone 25 0.05
fi

echo
printf "$ROW_FORMAT" topology "alice's" "bob's" path connect delivered why
printf "$ROW_FORMAT" "" NAT NAT "" "" "" ""
printf '%s\n' "${ROWS[@]}"
cat <<'EOF'

cone: RFC 4787's endpoint-independent mapping with address-and-port-dependent filtering
(RFC 3489's port-restricted cone); symmetric: address-and-port-dependent mapping and
filtering. path: what "* connected to PEER via ADDR (PATH)" said (alice/bob when they
differ; none: no connection). connect: from alice's /chat bob to her "connected" line
(lookup, introduction, punching; both had registered before). delivered: lines that
arrived, of those sent both ways. why: the reason, with what the lab expects when it differs.
EOF
birthday_demo symmetric-cone
birthday_demo sequential-cone
