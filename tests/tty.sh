#!/usr/bin/env bash
# tests/tty.sh - drives the interactive p2pchat client in a real terminal (tmux).
# Usage: BIN=build bash tests/tty.sh   (the Makefile does this)
# alice runs in a tmux pane, which is a real terminal; bob is a line-mode client that reads
# commands from a FIFO and writes to a file, so the test decides when he speaks and reads
# what he receives. The screen is read with `tmux capture-pane`. Everything is on loopback.
. "$(dirname "$0")/lib.sh"

if ! command -v tmux >/dev/null 2>&1; then
	# CI must run these checks; a developer without tmux is told, not failed.
	if [ -n "${CI:-}" ]; then
		echo "FAIL tmux is missing (apt-get install tmux)"
		echo "tty: 0 passed, 1 failed"
		exit 1
	fi
	echo "tty: skipped (no tmux)"
	exit 0
fi

BIN=$(cd "$BIN" && pwd) || exit 1
lib_setup 'exit 1'

# A private tmux server, so the test never touches the user's sessions, and a known
# environment for it: no user config, a plain shell, a UTF-8 locale for the UTF-8 check.
SOCK=p2pchat-test-$$
SKIPPED=
unset TMUX
export SHELL=/bin/sh
export LC_ALL=C.UTF-8
export XDG_STATE_HOME=$WORK/state
COLS=100
ROWS=30

SOCK_PATH=
finish() {
	local pid
	# The panes' shells first: once the server is gone they would go on writing into WORK.
	for pid in $(tmux -L "$SOCK" list-panes -a -F '#{pane_pid}' 2>/dev/null); do
		kill -KILL "$pid" 2>/dev/null
	done
	tmux -L "$SOCK" kill-server 2>/dev/null
	[ -n "$SOCK_PATH" ] && rm -f "$SOCK_PATH" # the server leaves its socket file behind
	exec 3>&-
	cleanup
}
trap finish EXIT

# After a failed check: see recover.
on_fail() {
	recover
}

# recover: after a failed check, empties alice's line and skips what bob got so far, so
# that the next check starts clean and its own result is not the echo of this one.
recover() {
	[ -n "${PANE:-}" ] && keys C-e C-u 2>/dev/null
	BOB_SEEN=$(grep -c '^<alice> ' "$WORK/bob.out")
}

tm() {
	tmux -L "$SOCK" -f /dev/null "$@"
}

# ---------------------------------------------------------------- the screen

# snap: reads the pane PANE at one instant. Sets CUR_X, CUR_Y (the cursor, from 0), ROW (the
# text of the cursor's row: the input row) and LAST (the number, from 1, of the last row
# with anything on it); the rows, without trailing spaces, go to $WORK/screen.
snap() {
	tm display-message -p -t "$PANE" '#{cursor_x} #{cursor_y}' \; \
		capture-pane -p -t "$PANE" >"$WORK/snap" 2>/dev/null
	read -r CUR_X CUR_Y <"$WORK/snap" || { CUR_X=-1; CUR_Y=-1; } # the pane is gone
	tail -n +2 "$WORK/snap" >"$WORK/screen"
	ROW=$(sed -n "$((CUR_Y + 1))p" "$WORK/screen")
	LAST=$(awk 'length { n = NR } END { print n + 0 }' "$WORK/screen")
}

show_screen() {
	echo "  screen (cursor at column $CUR_X, row $CUR_Y):" >&2
	sed 's/^/    |/' "$WORK/screen" >&2
}

# poll SECONDS CMD...: snaps the screen and runs CMD until it succeeds, for at most SECONDS.
poll() {
	local tries=$(($1 * 20))
	shift
	while :; do
		snap
		"$@" && return 0
		tries=$((tries - 1))
		[ "$tries" -gt 0 ] || break
		sleep 0.05
	done
	echo "  timed out waiting for: $*" >&2
	show_screen
	return 1
}

# Predicates for poll, on the last snap.
shows_line() { grep -qxF -- "$1" "$WORK/screen"; }
# input_is TEXT [X]: the input row is exactly TEXT, it is the last row in use, and the
# cursor is at column X (default: just after TEXT). The screen does not tell a trailing
# space from an erased cell, so TEXT's trailing spaces are told by the cursor alone.
input_is() {
	[ "$ROW" = "$(printf '%s' "$1" | sed 's/ *$//')" ] && [ "$LAST" -eq $((CUR_Y + 1)) ] &&
		[ "$CUR_X" -eq "${2:-${#1}}" ]
}
# exited STATUS: the client is gone with STATUS and the shell recorded the terminal after it.
exited() { shows_line "EXITED:$1" && [ -s "$WORK/$PANE.done" ]; }

# keys KEY...: tmux key names (Left, BSpace, C-w, ...); type_text TEXT: literal text.
keys() { tm send-keys -t "$PANE" "$@"; }
type_text() { tm send-keys -t "$PANE" -l -- "$1"; }

# press KEY... ROW: presses the keys, then waits for the input row to read ROW, the cursor
# at its end.
press() {
	keys "${@:1:$#-1}"
	poll 2 input_is "${!#}"
}

# ---------------------------------------------------------------- the clients

# start_alice SESSION [color [ARGS...]]: a new tmux session of fixed size whose shell records
# the terminal settings, runs the interactive client (`p2pchat ARGS`, default: alice with bob
# on the test's server), prints its status and records the settings again. The session stays
# (sleep) so its screen can be read after the client left. The client runs with NO_COLOR=1, so
# the screen holds exactly its lines, unless `color` is given. The shell is bash with job
# control (set -m), as at a prompt: the client is a job of its own in the foreground, Ctrl-Z
# stops it (status 148), and then the shell prints STOPPED, records the terminal settings, and
# waits for a line (Enter) before it says `fg`.
start_alice() {
	local no_color=1 args
	PANE=$1
	[ "${2:-}" = color ] && no_color=
	shift $(($# < 2 ? $# : 2))
	[ $# -gt 0 ] || set -- -s "127.0.0.1:$SERVER_PORT" alice bob
	printf -v args '%q ' "$@"
	cat >"$WORK/$PANE.sh" <<-EOF
		set -m
		stty -g >'$WORK/$PANE.before'
		NO_COLOR='$no_color' XDG_STATE_HOME='$WORK/state' '$BIN/p2pchat' $args
		s=\$?
		while [ \$s -eq 148 ]; do
			stty -a >'$WORK/$PANE.stopped'
			echo STOPPED
			read -r _
			fg >/dev/null
			s=\$?
		done
		echo EXITED:\$s
		stty -g >'$WORK/$PANE.after'
		stty -a >'$WORK/$PANE.after-a'
		echo done >'$WORK/$PANE.done'
		exec sleep 600
	EOF
	# 3>&-: the tmux server must not hold bob's FIFO open.
	tm new-session -d -s "$PANE" -x "$COLS" -y "$ROWS" -c "$WORK" "bash $WORK/$PANE.sh" 3>&-
}

# say_bob TEXT: bob sends TEXT (printf format) to alice.
say_bob() {
	# shellcheck disable=SC2059
	printf "/msg alice $1\n" >&3
}

# bob_got TEXT: bob's next line from alice (the next "<alice> " line not yet seen) is exactly
# "<alice> TEXT". Waits for that line to come, not for the right one: a wrong one fails at once.
BOB_SEEN=0
bob_got() {
	local tries=100 got
	while [ "$(grep -c '^<alice> ' "$WORK/bob.out")" -le "$BOB_SEEN" ]; do
		tries=$((tries - 1))
		if [ "$tries" -le 0 ]; then
			echo "  bob received nothing more from alice; want '<alice> $1'" >&2
			return 1
		fi
		sleep 0.05
	done
	BOB_SEEN=$((BOB_SEEN + 1))
	got=$(grep '^<alice> ' "$WORK/bob.out" | sed -n "${BOB_SEEN}p")
	[ "$got" = "<alice> $1" ] && return 0
	echo "  bob received '$got', want '<alice> $1'" >&2
	return 1
}

# send_line TEXT: alice types TEXT and Enter; bob receives it, and alice has an empty line.
send_line() {
	type_text "$1"
	keys Enter
	bob_got "$1" || return 1
	poll 2 input_is "bob> "
}

# raw_now: while the client runs, its terminal is raw: no canonical mode, echo or signals.
raw_now() {
	local tty flag
	tty=$(tm display-message -p -t "$PANE" '#{pane_tty}')
	stty -a -F "$tty" >"$WORK/$PANE.during" || return 1
	for flag in -icanon -echo -isig; do
		grep -qE -- "(^| )$flag( |;|\$)" "$WORK/$PANE.during" && continue
		echo "  while the client runs, the terminal is not $flag:" >&2
		sed 's/^/    /' "$WORK/$PANE.during" >&2
		return 1
	done
}

# restored: the terminal settings after the client are those from before it, in full.
restored() {
	local flag

	if ! cmp -s "$WORK/$PANE.before" "$WORK/$PANE.after"; then
		echo "  stty -g before: $(cat "$WORK/$PANE.before")" >&2
		echo "  stty -g after:  $(cat "$WORK/$PANE.after")" >&2
		return 1
	fi
	for flag in icanon echo isig; do
		grep -qE -- "(^| )$flag( |;|\$)" "$WORK/$PANE.after-a" && continue
		echo "  after the client, the terminal is not $flag again" >&2
		return 1
	done
}

# ---------------------------------------------------------------- the checks

# 1. alice starts with bob as her peer: the prompt names him and the path is found.
test_prompt() {
	poll 5 input_is "bob> " || return 1
	poll 5 shows_line "* type /help for commands" || return 1
	poll 5 grep -qE '^\* connected to bob via 127\.0\.0\.1:[0-9]+ \(public\)$' "$WORK/screen" ||
		return 1
	poll 2 input_is "bob> "
}

# 2. A line arrives while alice is typing: it goes above, her half line is drawn again below.
test_half_line() {
	type_text "half typed"
	poll 5 input_is "bob> half typed" || return 1
	say_bob "interrupting"
	poll 5 shows_line "<bob> interrupting" || return 1
	poll 2 input_is "bob> half typed" || return 1
	if [ "$(grep -c 'half typed' "$WORK/screen")" -ne 1 ]; then
		echo "  the half line shows more than once" >&2
		show_screen
		return 1
	fi
	if [ "$(grep -nxF '<bob> interrupting' "$WORK/screen" | cut -d: -f1)" -ne "$CUR_Y" ]; then
		echo "  '<bob> interrupting' is not on the row just above the input row" >&2
		show_screen
		return 1
	fi
	type_text " done"
	keys Enter
	bob_got "half typed done" || return 1
	# The sent line stays on screen, and a fresh prompt follows it.
	poll 2 own_above "half typed done"
}

# is_own ROW TEXT: ROW shows alice's own line TEXT: as typed ("bob> TEXT", from a client that
# does not report its lines), or as her chat line, "<alice> TEXT", "[HH:MM]" before it in colour.
is_own() {
	[ "$1" = "bob> $2" ] || [ "$1" = "<alice> $2" ] ||
		{ [[ $1 =~ ^\[[0-2][0-9]:[0-5][0-9]\]\  ]] && [ "${1:8}" = "<alice> $2" ]; }
}

# own_above TEXT: the input row is empty and the row above it is alice's own line TEXT
# (delivered: no longer marked pending).
own_above() {
	input_is "bob> " && is_own "$(sed -n "${CUR_Y}p" "$WORK/screen")" "$1"
}

# 3a. Cursor movement and Backspace fix a typo.
test_edit_move() {
	type_text "helo wrldx"
	keys BSpace Left Left Left
	type_text "o"
	poll 2 input_is "bob> helo world" 12 || return 1
	keys Home
	poll 2 input_is "bob> helo world" 5 || return 1
	keys Right Right Right
	type_text "l"
	keys End
	type_text "!"
	poll 2 input_is "bob> hello world!" || return 1
	keys Enter
	bob_got "hello world!"
}

# 3b. Ctrl-W deletes the word before the cursor.
test_edit_word() {
	type_text "one two three"
	press C-w "bob> one two " || return 1
	type_text "four"
	keys Enter
	bob_got "one two four"
}

# 3c. Ctrl-U clears the line.
test_edit_clear() {
	type_text "garbage here"
	press C-u "bob> " || return 1
	type_text "clean"
	keys Enter
	bob_got "clean"
}

# 3d. Delete and Ctrl-K; Ctrl-A, Ctrl-E.
test_edit_delete() {
	type_text "Xtidy junk"
	keys C-a DC
	poll 2 input_is "bob> tidy junk" 5 || return 1
	press C-e Left Left Left Left Left C-k "bob> tidy" || return 1
	keys Enter
	bob_got "tidy"
}

# 3e. A character of two bytes is one step for the cursor.
test_edit_utf8() {
	type_text "café au lai"
	keys Home Right Right Right Right
	type_text "!"
	keys End
	type_text "t"
	poll 2 input_is "bob> café! au lait" || return 1
	keys Enter
	bob_got "café! au lait"
}

# 3f. A line wider than the terminal scrolls sideways on its one row, and is sent whole.
test_edit_long() {
	local long
	long=$(printf 'w%03d ' $(seq 1 30))
	long=${long% } # 149 characters, in a window of 100 columns
	type_text "$long"
	poll 2 long_row_ends "w030" || return 1
	keys Home
	poll 2 long_row_starts "bob> w001 w002 " || return 1
	keys Enter
	bob_got "$long"
}

# long_row_ends TEXT: the input row ends with TEXT, the cursor just after it, fits in the
# window, and the row above is still the line sent before (the long line did not wrap).
long_row_ends() {
	[ "${ROW%"$1"}" != "$ROW" ] && [ "${ROW#bob> }" != "$ROW" ] && [ "${#ROW}" -lt "$COLS" ] &&
		[ "$CUR_X" -eq "${#ROW}" ] && [ "$LAST" -eq $((CUR_Y + 1)) ] &&
		is_own "$(sed -n "${CUR_Y}p" "$WORK/screen")" "café! au lait"
}

# long_row_starts TEXT: the input row starts with TEXT, the cursor after the prompt.
long_row_starts() {
	[ "${ROW#"$1"}" != "$ROW" ] && [ "${#ROW}" -lt "$COLS" ] && [ "$CUR_X" -eq 5 ] &&
		[ "$LAST" -eq $((CUR_Y + 1)) ]
}

# 4. Escape sequences from the network neither clear the screen nor change its colours.
test_escapes() {
	say_bob '\033[2J\033[31mred'
	poll 5 shows_line "<bob> ^[[2J^[[31mred" || return 1
	poll 2 input_is "bob> " || return 1
	if [ "$(head -n 1 "$WORK/screen")" != "* type /help for commands" ] ||
	   ! shows_line "<bob> interrupting"; then
		echo "  earlier lines are gone: the screen was cleared" >&2
		show_screen
		return 1
	fi
	# capture-pane -e writes the colours and attributes of the cells as escape sequences.
	if tm capture-pane -p -e -t "$PANE" | grep -q $'\033'; then
		echo "  the screen has colours or attributes:" >&2
		tm capture-pane -p -e -t "$PANE" | cat -v | sed 's/^/    |/' >&2
		return 1
	fi
}

# 5. Up and Down browse the lines sent before; Enter sends the one shown.
test_history() {
	send_line "older line" || return 1
	send_line "newer line" || return 1
	press Up "bob> newer line" || return 1
	press Up "bob> older line" || return 1
	press Up Down "bob> older line" || return 1
	press Down "bob> newer line" || return 1
	press Down "bob> " || return 1
	press Up Up "bob> older line" || return 1
	keys Enter
	bob_got "older line"
}

# leaves TEXT KEY [STATUS]: alice's terminal is raw; TEXT is typed (may be empty), then KEY
# pressed. alice must then leave with STATUS (default 0) and give the terminal back as it was.
leaves() {
	raw_now || return 1
	[ -z "$1" ] || type_text "$1"
	poll 2 input_is "bob> $1" || return 1
	keys "$2"
	poll 5 exited "${3:-0}" || return 1
	restored
}

# 6. Ctrl-D on an empty line leaves with status 0 and gives the terminal back as it was.
test_ctrl_d() {
	leaves "" C-d
}

# 7. Ctrl-C leaves too, even with a half-typed line, with status 130 (128 + SIGINT, what a
# shell reports for a job Ctrl-C ended), and restores the terminal.
test_ctrl_c() {
	start_alice run2 || return 1
	poll 5 input_is "bob> " || return 1
	leaves "never sent" C-c 130
}

# 8. /quit leaves, with status 0, and restores the terminal.
test_quit() {
	start_alice run3 || return 1
	poll 5 input_is "bob> " || return 1
	leaves "/quit" Enter
}

# 9. A new alice (same name, new process) reaches bob, and the line typed before Ctrl-C
# was never sent: bob's next line from alice is the new one.
test_comes_back() {
	start_alice run4 || return 1
	poll 5 grep -qE '^\* connected to bob via ' "$WORK/screen" || return 1
	send_line "back again"
}

# 10. With colours (NO_COLOR empty): each line starts with a "[HH:MM]" time, the peer's name
# is in a colour (SGR 31..36 or 91..96, or 38;5;N from the 256 where the terminal has them)
# and the text after it is not; what alice types is plain, and bob receives plain text.
STAMP='\[[0-2][0-9]:[0-5][0-9]\] '
test_colors() {
	# One alice at a time: the one of check 9 leaves first.
	keys C-e C-u
	type_text "/quit"
	keys Enter
	poll 5 exited 0 || return 1
	start_alice run5 color || return 1
	poll 5 grep -qE "^$STAMP\\* connected to bob via " "$WORK/screen" || return 1
	poll 2 input_is "bob> " || return 1
	say_bob "in colour"
	poll 5 grep -qxE "$STAMP<bob> in colour" "$WORK/screen" || return 1
	tm capture-pane -p -e -t "$PANE" >"$WORK/colors"
	if ! grep -qE $'\033\\[(3[1-6]|9[1-6]|38;5;[0-9]+)m<bob>\033\\[(0|39)m in colour' "$WORK/colors"; then
		echo "  '<bob>' is not coloured, or the text after it is:" >&2
		cat -v "$WORK/colors" | sed 's/^/    |/' >&2
		return 1
	fi
	if ! grep -qE $'\033\\[2m\\* connected to bob' "$WORK/colors"; then
		echo "  the event line is not dim:" >&2
		cat -v "$WORK/colors" | sed 's/^/    |/' >&2
		return 1
	fi
	send_line "typed in colour"
}

# ---------------------------------------------------------------- the defects of issue 13

# 11. Wide characters: after 你好😀x (7 columns) the cursor is right after the x, at 5 + 7.
# 70 x 中 (140 columns) stays on its one row, scrolled, the prompt shown once; Ctrl-L
# clears the screen and draws the input line again at the top.
test_wide() {
	local han
	type_text "你好😀x"
	poll 2 input_is "bob> 你好😀x" 12 || return 1
	keys Enter
	bob_got "你好😀x" || return 1
	poll 2 input_is "bob> " || return 1
	han=$(printf '中%.0s' $(seq 1 70))
	type_text "$han"
	poll 2 wide_row || return 1
	keys C-l
	poll 2 repainted || return 1
	keys Enter
	bob_got "$han"
}

# wide_row: the input row holds only 中s after the prompt, ends at the cursor, is the last row,
# fits the window; no other row shows a prompt with 中 (no repeated prompts).
wide_row() {
	[ "${ROW#bob> 中}" != "$ROW" ] && [ "$LAST" -eq $((CUR_Y + 1)) ] && [ "$CUR_X" -lt "$COLS" ] &&
		[ "$(grep -c '中' "$WORK/screen")" -eq 1 ] && [ "$(printf '%s' "$ROW" | wc -L)" -eq "$CUR_X" ]
}

# repainted: after Ctrl-L the screen holds the input row alone, at the top.
repainted() {
	wide_row && [ "$CUR_Y" -eq 0 ]
}

# 12. Your line longer than the screen is shown whole, wrapped over rows, not cut to the
# screen's width (tmux joins the wrapped rows back with capture-pane -J).
test_long_own() {
	local long
	long=$(printf 'L%03d.' $(seq 1 64))
	long=${long%?} # 319 characters
	type_text "$long"
	keys Enter
	bob_got "$long" || return 1
	poll 2 input_is "bob> " || return 1
	poll 2 long_own_shown "$long"
}

# long_own_shown TEXT: a row of the screen, its wrapped rows joined again, is alice's own TEXT.
long_own_shown() {
	local row
	tm capture-pane -p -J -t "$PANE" >"$WORK/joined"
	while IFS= read -r row; do
		is_own "$row" "$1" && return 0
	done <"$WORK/joined"
	cp "$WORK/joined" "$WORK/screen" # for poll's report
	return 1
}

# 13. A paste of 4,200 characters (more than the 4,096 bytes a message holds): every word
# arrives, in two lines cut between words, none lost.
test_paste() {
	local paste first second
	paste=$(printf 'p%04d ' $(seq 0 699))
	paste=${paste% }
	first=$(printf 'p%04d ' $(seq 0 681))
	first=${first% }
	second=$(printf 'p%04d ' $(seq 682 699))
	second=${second% }
	type_text "$paste"
	keys Enter
	bob_got "$first" || return 1
	bob_got "$second" || return 1
	poll 2 input_is "bob> "
}

# 14. Ctrl-Z stops the client with the terminal given back (canonical, echo, signals); `fg`
# continues it in raw mode with the half-typed line drawn again, and "fg" is not typed into it.
test_suspend() {
	local flag
	type_text "typed"
	poll 2 input_is "bob> typed" || return 1
	keys C-z
	poll 5 shows_line STOPPED || return 1
	for flag in icanon echo isig; do
		grep -qE -- "(^| )$flag( |;|\$)" "$WORK/$PANE.stopped" && continue
		echo "  stopped, the terminal is not $flag:" >&2
		sed 's/^/    /' "$WORK/$PANE.stopped" >&2
		return 1
	done
	keys Enter # the shell's `read`; then it says fg
	poll 5 input_is "bob> typed" || return 1
	raw_now || return 1
	type_text " more"
	keys Enter
	bob_got "typed more"
}

# 15. The window shrinks under a long input line: the terminal rewraps the row, and the
# client draws the line again with no stale piece of it left above.
test_resize() {
	local zq
	zq=$(printf 'zq%.0s' $(seq 1 45))
	type_text "$zq"
	poll 2 input_is "bob> $zq" || return 1
	tm resize-window -t "$PANE" -x 60
	poll 5 resized_row || { tm resize-window -t "$PANE" -x "$COLS"; return 1; }
	tm resize-window -t "$PANE" -x "$COLS"
	poll 5 input_is "bob> $zq" || return 1
	keys Enter
	bob_got "$zq"
}

# resized_row: one row only shows the line typed, the input row, within 60 columns.
resized_row() {
	[ "$(grep -c 'zqzq' "$WORK/screen")" -eq 1 ] && [ "${ROW#bob> }" != "$ROW" ] &&
		[ "$CUR_X" -lt 60 ] && [ "$LAST" -eq $((CUR_Y + 1)) ]
}

# 16. Your own lines: "/me waves" shows as the action "* alice waves"; a line that cannot be
# delivered (carol to nobody, -w 1) waits in the area, marked "(pending)", then moves up marked
# "(not delivered)". Skipped, and said, with a client that does not report its lines.
test_own_lines() {
	type_text "/me waves"
	keys Enter
	wait_for "$WORK/bob.out" '^\* alice waves$' 5 || return 1
	poll 2 input_is "bob> " || return 1
	if [ "$(sed -n "${CUR_Y}p" "$WORK/screen")" = "bob> /me waves" ]; then
		echo "  skip: this client does not report its lines (client_io.line)" >&2
		SKIPPED="$SKIPPED own-lines"
		return 0
	fi
	poll 2 own_action_above || return 1
	start_alice carol "" -w 1 -s "127.0.0.1:$SERVER_PORT" carol nobody || return 1
	poll 5 input_is "nobody> " || return 1
	type_text "hello?"
	keys Enter
	poll 2 shows_line "<carol> hello? (pending)" || return 1
	poll 2 input_is "nobody> " || return 1
	poll 5 shows_line "<carol> hello? (not delivered)" || return 1
	if shows_line "<carol> hello? (pending)"; then
		echo "  the line is still shown pending" >&2
		show_screen
		return 1
	fi
	poll 2 input_is "nobody> "
}

# own_action_above: the row above the input row is alice's action, "* alice waves".
own_action_above() {
	local row
	row=$(sed -n "${CUR_Y}p" "$WORK/screen")
	[ "$row" = "* alice waves" ] || { [[ $row =~ ^\[[0-2][0-9]:[0-5][0-9]\]\  ]] && [ "${row:8}" = "* alice waves" ]; }
}

# 17. Log lines while typing (kim runs with -v and a server that does not answer, from the
# start of the suite): each on a row of its own, the warning as well, and the half-typed line
# intact below them.
test_log_lines() {
	PANE=kim
	poll 25 shows_line "p2pchat: warning: no answer from the server at 127.0.0.1:9 yet" || return 1
	poll 2 input_is "lee> half typed text" || return 1
	# no log line starts in the middle of a row, and the only prompt is the input row's
	if grep -q '.p2pchat: ' "$WORK/screen" || [ "$(grep -c '^lee> ' "$WORK/screen")" -ne 1 ]; then
		echo "  a log line broke a row:" >&2
		show_screen
		return 1
	fi
}

# kim_starts: kim (see check 17) types half a line; his log lines come while he has it.
kim_starts() {
	start_alice kim "" -v -s 127.0.0.1:9 kim lee
	poll 5 input_is "lee> " || return 1
	type_text "half typed text"
	poll 2 input_is "lee> half typed text"
}

# 17b. Trust: /verify shows the same safety number on both sides; a changed key is refused
# loudly, nothing goes to it, and /trust takes it. On a server of its own with a 2 s TTL,
# so that carol's name, held by her old key, lapses soon after she leaves.
test_trust() {
	local port main_port=$SERVER_PORT main_pid=$SERVER_PID num rc=0
	start_server "$WORK/trust-server.err" -t 2 || return 1
	port=$SERVER_PORT
	SERVER_PORT=$main_port SERVER_PID=$main_pid
	start_carol "$port" || return 1
	start_alice trust "" -s "127.0.0.1:$port" alice carol
	poll 5 grep -q '^\* connected to carol via' "$WORK/screen" || return 1
	printf '/verify alice\n' >&4
	wait_for "$WORK/carol.out" '^\* your safety number with alice: ' 5 || return 1
	num=$(sed -n 's/^\* your safety number with alice: \([0-9 ]*\): compare.*/\1/p' "$WORK/carol.out")
	[ -n "$num" ] || return 1
	type_text "/verify carol"
	keys Enter
	# The line is wider than the screen: read it with its rows joined.
	poll 2 joined_has "* your safety number with carol: $num: compare it with carol's" || return 1
	# carol comes back with a new key: alice refuses it, and what she types goes nowhere.
	stop_carol
	rm -f "$WORK/state/p2pchat/carol.key"
	sleep 3 # her old registration lapses (TTL 2 s)
	start_carol "$port" || return 1
	printf '/msg alice it is me\n' >&4
	poll 10 joined_grep "^\* WARNING: carol's key has changed (was .*, now .*): nothing was sent; /trust carol to accept it$" ||
		rc=1
	type_text "who are you"
	keys Enter
	poll 2 shows_line '* not delivered to carol: "who are you": carol'"'"'s key has changed' || rc=1
	type_text "/trust carol"
	keys Enter
	poll 2 joined_grep "^\* carol's new key is pinned: .*; /verify carol to compare safety numbers$" || rc=1
	type_text "welcome back"
	keys Enter
	wait_for "$WORK/carol.out" "^<alice> welcome back$" 10 || rc=1
	grep -q "who are you" "$WORK/carol.out" && { echo "  carol got a line sent to a changed key" >&2; rc=1; }
	keys C-d
	stop_carol
	return "$rc"
}

# joined_has TEXT: the pane, its wrapped rows joined, has TEXT; joined_grep RE: a line matching RE.
joined_has() { tm capture-pane -p -J -t "$PANE" | grep -qF -- "$1"; }
joined_grep() { tm capture-pane -p -J -t "$PANE" | grep -q -- "$1"; }

# start_carol PORT: carol in line mode on the server at PORT, commands from fd 4, output in carol.out.
start_carol() {
	rm -f "$WORK/carol.in"
	mkfifo "$WORK/carol.in"
	"$BIN/p2pchat" -s "127.0.0.1:$1" --stay carol <"$WORK/carol.in" >"$WORK/carol.out" \
		2>"$WORK/carol.err" 3>&- &
	CAROL=$!
	PIDS="$PIDS $CAROL"
	exec 4>"$WORK/carol.in"
	wait_for "$WORK/carol.out" "registered as carol" 5
}

stop_carol() {
	stop_pid "$CAROL" # --stay: the end of input does not end her
	exec 4>&-
}

# 17b. A file offered at a terminal: asked, /accept saves it in the current directory, a
# progress bar is drawn in place above the input line meanwhile, then the received line.
test_file_accept() {
	local rc
	mkdir -p "$WORK/src"
	head -c 150000000 /dev/zero >"$WORK/src/f.bin"
	start_alice erin "" -s "127.0.0.1:$SERVER_PORT" erin || return 1
	poll 5 input_is "> " || return 1
	echo "/send erin $WORK/src/f.bin" | XDG_STATE_HOME=$WORK/state "$BIN/p2pchat" \
		-s "127.0.0.1:$SERVER_PORT" dave >"$WORK/dave.out" 2>&1 &
	local dave=$!
	poll 15 grep -q '^\* dave offers f\.bin (150000000 bytes, sha256 ' "$WORK/screen" || return 1
	poll 2 shows_line "* /accept dave to save it in this directory, /reject dave to refuse it" || return 1
	type_text "/accept dave"
	keys Enter
	poll 10 grep -qE '^f\.bin from dave \[[#-]{20}\] +[0-9]+%  ' "$WORK/screen" || return 1
	poll 30 grep -q '^\* received f\.bin from dave: 150000000 bytes, sha256 ' "$WORK/screen" || return 1
	if grep -qE '^f\.bin from dave \[' "$WORK/screen"; then
		echo "  the progress bar is still shown" >&2
		show_screen
		return 1
	fi
	wait "$dave"; rc=$?
	[ "$rc" -eq 0 ] && grep -q '^\* sent f\.bin to erin: 150000000 bytes in ' "$WORK/dave.out" ||
		{ echo "  dave: status $rc" >&2; cat "$WORK/dave.out" >&2; return 1; }
	cmp -s "$WORK/src/f.bin" "$WORK/f.bin" || { echo "  the saved file differs" >&2; return 1; }
	rm -f "$WORK/src/f.bin" "$WORK/f.bin"
}

# ---------------------------------------------------------------- the command line

# 18. A peer that is yourself is a usage error that says so (status 2).
test_selfie() {
	local rc
	"$BIN/p2pchat" selfie selfie </dev/null >"$WORK/selfie.out" 2>&1
	rc=$?
	[ "$rc" -eq 2 ] && grep -q "cannot chat with yourself" "$WORK/selfie.out" && return 0
	echo "  status $rc:" >&2
	sed 's/^/    /' "$WORK/selfie.out" >&2
	return 1
}

# 19. No input at all: the client still says whether the server answered. A dead server:
# status 1 and an error naming it; a live one: registered, status 0.
test_no_input() {
	local rc
	XDG_STATE_HOME=$WORK/state "$BIN/p2pchat" -w 1 -s 127.0.0.1:9 dave </dev/null \
		>"$WORK/dave.out" 2>"$WORK/dave.err"
	rc=$?
	if [ "$rc" -ne 1 ] || ! grep -q "no answer from the server at 127.0.0.1:9" "$WORK/dave.err"; then
		echo "  dead server: status $rc:" >&2
		sed 's/^/    /' "$WORK/dave.out" "$WORK/dave.err" >&2
		return 1
	fi
	XDG_STATE_HOME=$WORK/state "$BIN/p2pchat" -s "127.0.0.1:$SERVER_PORT" dave </dev/null \
		>"$WORK/dave.out" 2>"$WORK/dave.err"
	rc=$?
	[ "$rc" -eq 0 ] && grep -q '^\* registered as dave ' "$WORK/dave.out" && return 0
	echo "  live server: status $rc:" >&2
	sed 's/^/    /' "$WORK/dave.out" "$WORK/dave.err" >&2
	return 1
}

if ! start_server "$WORK/server.err"; then
	echo "FAIL the server did not start"
	cat "$WORK/server.err"
	exit 1
fi

# bob: line mode, commands from a FIFO that fd 3 holds open, output to a file.
mkfifo "$WORK/bob.in"
"$BIN/p2pchat" -s "127.0.0.1:$SERVER_PORT" --stay bob <"$WORK/bob.in" >"$WORK/bob.out" \
	2>"$WORK/bob.err" &
PIDS="$PIDS $!"
exec 3>"$WORK/bob.in"
wait_for "$WORK/bob.out" "registered as bob" 5 || { echo "FAIL bob did not register"; exit 1; }

check "a half line typed while the server does not answer" kim_starts
start_alice run1 || { echo "FAIL tmux did not start"; exit 1; }
SOCK_PATH=$(tm display-message -p '#{socket_path}')
check "the prompt names the peer; the path is shown" test_prompt
check "a half-typed line survives an incoming one" test_half_line
check "editing: Left, Right, Home, End, Backspace" test_edit_move
check "editing: Ctrl-W deletes a word" test_edit_word
check "editing: Ctrl-U clears the line" test_edit_clear
check "editing: Delete, Ctrl-A, Ctrl-E, Ctrl-K" test_edit_delete
check "editing: a UTF-8 character is one cursor step" test_edit_utf8
check "editing: a long line scrolls sideways" test_edit_long
check "escape sequences from a peer are shown, not obeyed" test_escapes
check "history: Up and Down recall sent lines" test_history
check "Ctrl-D leaves with status 0 and restores the terminal" test_ctrl_d
check "Ctrl-C leaves and restores the terminal" test_ctrl_c
check "/quit leaves and restores the terminal" test_quit
check "alice comes back; the line cut by Ctrl-C was not sent" test_comes_back
check "colours: a time on each line, names in colour" test_colors
check "wide characters: cursor column, 70 x 中 on one row, Ctrl-L" test_wide
check "your line longer than the screen is shown whole" test_long_own
check "a paste of 4,200 characters arrives whole, in two lines" test_paste
check "Ctrl-Z stops with the terminal restored; fg goes on in raw mode" test_suspend
check "a narrower window leaves no stale piece of the input line" test_resize
check "your lines: /me as the action; pending, then not delivered" test_own_lines
check "log lines while typing: rows of their own, the line intact" test_log_lines
check "/verify: one safety number on both sides; a changed key refused until /trust" test_trust
check "a file offered at a terminal: /accept, a progress bar in place, saved" test_file_accept
check "'p2pchat selfie selfie' is a usage error that says why" test_selfie
check "no input: status 1 when the server never answered, else 0" test_no_input

[ -z "${SKIPPED:-}" ] || echo "tty: skipped parts:$SKIPPED"
summary tty
