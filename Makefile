# Makefile - builds p2pchatd and p2pchat, runs the tests, installs.

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
DESTDIR ?=

CC ?= cc
CFLAGS ?= -O2 -g
WARNINGS = -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes
ifeq ($(WERROR),1)
WARNINGS += -Werror
endif
# _DEFAULT_SOURCE: POSIX.1-2008 plus getifaddrs(3), which Linux and the BSDs share.
CPPFLAGS += -D_DEFAULT_SOURCE
# -MMD -MP: each object also writes the headers it read (a .d file beside it), so a change to
# a header rebuilds exactly the objects that include it.
ALL_CFLAGS = -std=c11 $(WARNINGS) $(CPPFLAGS) $(CFLAGS) -MMD -MP

# SAN=1: AddressSanitizer and UndefinedBehaviorSanitizer, built apart in build-san/.
ifeq ($(SAN),1)
BUILD ?= build-san
ALL_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=address,undefined
else
BUILD ?= build
endif

CHECK_LIBS = $(shell pkg-config --libs check 2>/dev/null || echo -lcheck -lsubunit -lm -lrt -pthread)
CHECK_CFLAGS = $(shell pkg-config --cflags check 2>/dev/null)

# The wire (protocol.h): the layout table and decoding, encoding, the sealed forms.
PROTO_OBJS = $(BUILD)/protocol.o $(BUILD)/protocol_encode.o $(BUILD)/protocol_sealed.o
# UDP sockets and addresses (net.c), and many datagrams a system call (net_batch.c).
NET_OBJS = $(BUILD)/net.o $(BUILD)/net_batch.o
# Modules: one job each. SERVER_OBJS and CLIENT_OBJS are the logic, which the programs,
# the tests and the fuzz targets link as they are; p2pchatd.o and p2pchat.o hold main().
SERVER_OBJS = $(BUILD)/server.o $(BUILD)/server_register.o $(BUILD)/server_auth.o $(BUILD)/server_presence.o $(BUILD)/server_stats.o $(BUILD)/cli.o $(PROTO_OBJS) $(BUILD)/stun.o $(BUILD)/siphash.o $(BUILD)/table.o $(BUILD)/guard.o $(NET_OBJS) $(BUILD)/log.o $(AUTH_OBJS)
SERVER_OBJS += $(BUILD)/server_nat.o $(BUILD)/server_other.o
CLIENT_OBJS = $(BUILD)/client.o $(BUILD)/peer.o $(BUILD)/peer_lines.o $(BUILD)/peer_session.o $(BUILD)/peer_stream.o $(BUILD)/transfer.o $(BUILD)/transfer_send.o $(BUILD)/transfer_recv.o $(BUILD)/transfer_wire.o $(BUILD)/registration.o $(BUILD)/servers.o $(BUILD)/punch.o $(BUILD)/commands.o $(BUILD)/cli.o $(PROTO_OBJS) $(BUILD)/term.o $(BUILD)/edit.o $(BUILD)/screen.o $(BUILD)/utf8.o $(NET_OBJS) $(BUILD)/log.o $(IDENTITY_OBJS) $(AUTH_OBJS) $(SESSION_OBJS) $(STREAM_OBJS)
CLIENT_OBJS += $(BUILD)/nat_check.o $(BUILD)/birthday.o $(BUILD)/punch_birthday.o
# The chat program's own console (the print path above the input line) and command line, beside main().
CONSOLE_OBJS = $(BUILD)/console.o $(BUILD)/p2pchat_options.o
# Port forwarding (--forward, --serve): the logic, and its sockets.
FORWARD_OBJS = $(BUILD)/forward.o $(BUILD)/forward_net.o
# SHA-256 and its compression function on the x86 SHA extensions, chosen at run time.
SHA256_OBJS = $(BUILD)/sha256.o $(BUILD)/sha256_x86.o
# A name's identity key (identity.c), the known peers' keys (trust.c), and the primitives they stand on.
IDENTITY_OBJS = $(BUILD)/identity.o $(BUILD)/trust.o $(SHA256_OBJS) $(BUILD)/x25519.o
# Client <-> server authentication (auth.c) and the primitives it stands on.
AUTH_OBJS = $(BUILD)/auth.o $(BUILD)/chachapoly.o $(BUILD)/x25519.o $(SHA256_OBJS)
# The peer sessions (session.c) and the AEAD they seal with; x25519.o and sha256.o come with IDENTITY_OBJS.
SESSION_OBJS = $(BUILD)/session.o $(BUILD)/chachapoly.o
# The stream layer (streams, sending, their wire, range sets) and its congestion control.
STREAM_OBJS = $(BUILD)/stream.o $(BUILD)/stream_send.o $(BUILD)/stream_frame.o $(BUILD)/stream_rset.o $(BUILD)/cc.o $(BUILD)/cc_loss.o

# The libcheck suites, one tests/test_NAME.c each.
UNIT_NAMES = protocol table server term client stun guard \
	     sha256 chachapoly x25519 identity session trust \
	     cc stream auth birthday transfer forward net
UNIT_TESTS = $(UNIT_NAMES:%=$(BUILD)/tests/test_%)

# Every target that names no file, in one place.
.PHONY: all check test unit integration servers tty stun-interop faults natlab demo-nat bench flood amplify \
	fuzz fuzz-seeds deps demo install uninstall clean crypto-slow crypto-diff ctgrind bench-crypto attack

# The suites `make test` runs, in this order. The NAT lab and the attacker suite build network
# namespaces (and the attacker sniffs and spoofs), so they run only as root (tests/natlab.sh
# and tests/attack.sh say so and skip otherwise).
SUITES = unit integration servers tty stun-interop faults flood amplify crypto-diff ctgrind
ifeq ($(shell id -u),0)
SUITES += natlab
SUITES += attack
endif

all: $(BUILD)/p2pchatd $(BUILD)/p2pchat
ifeq ($(BUILD),build)
all: p2pchatd p2pchat
p2pchatd: $(BUILD)/p2pchatd
	cp $< $@
p2pchat: $(BUILD)/p2pchat
	cp $< $@
endif

$(BUILD)/%.o: %.c | $(BUILD)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/p2pchatd: $(BUILD)/p2pchatd.o $(sort $(SERVER_OBJS) $(IDENTITY_OBJS))
	$(CC) $(LDFLAGS) -o $@ $^
$(BUILD)/p2pchat: $(BUILD)/p2pchat.o $(CONSOLE_OBJS) $(FORWARD_OBJS) $(CLIENT_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^

$(BUILD) $(BUILD)/tests:
	mkdir -p $@

$(BUILD)/tests/%.o: tests/%.c | $(BUILD)/tests
	$(CC) $(ALL_CFLAGS) $(CHECK_CFLAGS) -I. -c -o $@ $<

$(BUILD)/tests/test_protocol: $(BUILD)/tests/test_protocol.o $(PROTO_OBJS)
$(BUILD)/tests/test_table: $(BUILD)/tests/test_table.o $(BUILD)/table.o $(BUILD)/siphash.o $(PROTO_OBJS) $(NET_OBJS)
$(BUILD)/tests/test_server: $(BUILD)/tests/test_server.o $(SERVER_OBJS)
$(BUILD)/tests/test_term: $(BUILD)/tests/test_term.o $(BUILD)/term.o $(BUILD)/edit.o $(BUILD)/utf8.o $(BUILD)/screen.o
$(BUILD)/tests/test_stun: $(BUILD)/tests/test_stun.o $(BUILD)/stun.o $(PROTO_OBJS)
$(BUILD)/tests/test_guard: $(BUILD)/tests/test_guard.o $(BUILD)/guard.o $(BUILD)/siphash.o $(PROTO_OBJS)
$(BUILD)/tests/test_sha256: $(BUILD)/tests/test_sha256.o $(SHA256_OBJS)
$(BUILD)/tests/test_chachapoly: $(BUILD)/tests/test_chachapoly.o $(BUILD)/chachapoly.o
$(BUILD)/tests/test_client: $(BUILD)/tests/test_client.o $(sort $(CLIENT_OBJS) $(SERVER_OBJS))
$(BUILD)/tests/test_x25519: $(BUILD)/tests/test_x25519.o $(BUILD)/x25519.o
$(BUILD)/tests/test_identity: $(BUILD)/tests/test_identity.o $(IDENTITY_OBJS) $(NET_OBJS) $(PROTO_OBJS)
$(BUILD)/tests/test_session: $(BUILD)/tests/test_session.o $(BUILD)/session.o $(BUILD)/chachapoly.o $(BUILD)/x25519.o $(SHA256_OBJS)
$(BUILD)/tests/test_cc: $(BUILD)/tests/test_cc.o $(BUILD)/cc.o $(BUILD)/cc_loss.o
$(BUILD)/tests/test_stream: $(BUILD)/tests/test_stream.o $(STREAM_OBJS)
$(BUILD)/tests/test_forward: $(BUILD)/tests/test_forward.o $(BUILD)/forward.o $(STREAM_OBJS) $(PROTO_OBJS)
$(BUILD)/tests/test_trust: $(BUILD)/tests/test_trust.o $(IDENTITY_OBJS) $(NET_OBJS) $(PROTO_OBJS)
$(BUILD)/tests/test_auth: $(BUILD)/tests/test_auth.o $(AUTH_OBJS)
$(BUILD)/tests/test_birthday: $(BUILD)/tests/test_birthday.o $(BUILD)/birthday.o
$(BUILD)/tests/test_net: $(BUILD)/tests/test_net.o $(NET_OBJS) $(PROTO_OBJS)
$(BUILD)/tests/test_transfer: $(BUILD)/tests/test_transfer.o $(BUILD)/transfer_wire.o $(SHA256_OBJS)
$(UNIT_TESTS):
	$(CC) $(LDFLAGS) -o $@ $^ $(CHECK_LIBS)

# make check: everything, once plainly and once under the sanitizers.
check: deps
	$(MAKE) test
	$(MAKE) test SAN=1
	$(MAKE) fuzz FUZZ_SECONDS=$(FUZZ_CHECK_SECONDS)

# make test: this build's suites (SUITES above), and the benchmark built so that it never rots.
test: $(SUITES) $(BUILD)/tests/bench $(BUILD)/tests/bench_crypto

unit: $(UNIT_TESTS)
	@for t in $(UNIT_TESTS); do echo "== $$t"; CK_DEFAULT_TIMEOUT=60 $$t || exit 1; done

# The crypto tests too slow for check: RFC 7748's million-round X25519 iteration.
crypto-slow: $(BUILD)/tests/test_x25519
	X25519_SLOW=1 $(BUILD)/tests/test_x25519

integration: $(BUILD)/p2pchatd $(BUILD)/p2pchat
	BIN=$(BUILD) bash tests/integration.sh

# Several rendezvous servers: one dies mid-chat and comes back; two disagree on a key.
servers: $(BUILD)/p2pchatd $(BUILD)/p2pchat
	BIN=$(BUILD) bash tests/servers.sh

tty: $(BUILD)/p2pchatd $(BUILD)/p2pchat
	BIN=$(BUILD) bash tests/tty.sh

stun-interop: $(BUILD)/p2pchatd
	BIN=$(BUILD) bash tests/stun-interop.sh

# Faults on loopback: a peer killed, a client paused past its TTL, a full table.
faults: $(BUILD)/p2pchatd $(BUILD)/p2pchat
	BIN=$(BUILD) bash tests/faults.sh

# The NAT lab: real Linux NATs in network namespaces (root only; others skip it).
natlab: $(BUILD)/p2pchatd $(BUILD)/p2pchat $(BUILD)/nfdelay $(BUILD)/udpcap
	BIN=$(BUILD) bash tests/natlab.sh

# make demo-nat: every topology, watched; TOPO=NAME one, slowly (DEMO_PAUSE seconds a step);
# TOPO=birthday the birthday method alone.
# Root, or any user where the kernel allows user namespaces.
demo-nat: $(BUILD)/p2pchatd $(BUILD)/p2pchat $(BUILD)/nfdelay $(BUILD)/udpcap
	BIN=$(BUILD) TOPO=$(TOPO) bash examples/demo-nat.sh

# The lab's link delay: an NFQUEUE program, libc only.
$(BUILD)/nfdelay: tests/nfdelay.c bytes.h | $(BUILD)
	$(CC) $(ALL_CFLAGS) -I. $(LDFLAGS) -o $@ $<
# The lab's capture, for the ladder: a packet socket, libc only.
$(BUILD)/udpcap: tests/udpcap.c bytes.h cli.h $(BUILD)/cli.o | $(BUILD)
	$(CC) $(ALL_CFLAGS) -I. $(LDFLAGS) -o $@ $< $(BUILD)/cli.o

# make bench: the crypto table beside libsodium (bench-crypto, below), then load and latency
# figures for p2pchatd against an echo server and coturn. It takes minutes, so check does not
# run it; check compiles both (test above), so they never rot.
bench: bench-crypto $(BUILD)/p2pchatd $(BUILD)/p2pchat $(BUILD)/tests/bench
	BIN=$(BUILD) bash tests/bench.sh
$(BUILD)/tests/bench: $(BUILD)/tests/bench.o $(PROTO_OBJS) $(AUTH_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^

# The flood: p2pchatd under thousands of garbage datagrams while real clients chat.
flood: $(BUILD)/p2pchatd $(BUILD)/p2pchat $(BUILD)/tests/flood
	BIN=$(BUILD) bash tests/flood.sh
$(BUILD)/tests/flood: $(BUILD)/tests/flood.o $(PROTO_OBJS) $(BUILD)/stun.o $(NET_OBJS) $(BUILD)/guard.o $(BUILD)/siphash.o $(AUTH_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^

# No amplification: every request p2pchatd knows, from an address that never proved itself.
amplify: $(BUILD)/p2pchatd $(BUILD)/tests/amplify
	BIN=$(BUILD) bash tests/amplify.sh
$(BUILD)/tests/amplify: $(BUILD)/tests/amplify.o $(PROTO_OBJS) $(BUILD)/stun.o $(NET_OBJS) $(BUILD)/guard.o $(BUILD)/siphash.o $(AUTH_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^

# The attacker on loopback, in a network namespace of its own (root only): sniff a real chat,
# replay, mutate, forge, and mount the eight attacks of issue 12 (tests/attack.sh says how).
attack: $(BUILD)/p2pchatd $(BUILD)/p2pchat $(BUILD)/tests/attack
	BIN=$(BUILD) bash tests/attack.sh
$(BUILD)/tests/attack: $(BUILD)/tests/attack.o $(BUILD)/cli.o $(PROTO_OBJS) $(AUTH_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^

# The crypto proofs beside the published vectors: ours against libsodium on millions of random
# inputs (crypto-diff), constant time under valgrind with the secrets marked undefined
# (ctgrind), and the speed beside libsodium's (bench-crypto, run by make bench). libsodium is
# linked into these tests and fuzz_crypto only, never into the programs.
SODIUM_LIBS = $(shell pkg-config --libs libsodium 2>/dev/null || echo -lsodium)
CRYPTO_TEST_OBJS = $(BUILD)/x25519.o $(BUILD)/chachapoly.o $(SHA256_OBJS)
crypto-diff: $(BUILD)/tests/crypto_diff
	$(BUILD)/tests/crypto_diff
bench-crypto: $(BUILD)/tests/bench_crypto
	$(BUILD)/tests/bench_crypto
$(BUILD)/tests/crypto_diff: $(BUILD)/tests/crypto_diff.o
$(BUILD)/tests/bench_crypto: $(BUILD)/tests/bench_crypto.o
$(BUILD)/tests/crypto_diff $(BUILD)/tests/bench_crypto: $(CRYPTO_TEST_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(SODIUM_LIBS)
# valgrind cannot run AddressSanitizer's binaries; the plain objects are the programs' own, -O2.
ifeq ($(SAN),1)
ctgrind:
	@echo "ctgrind: skipped under SAN=1 (valgrind cannot run AddressSanitizer binaries)"
else
ctgrind: $(BUILD)/tests/ctgrind
	BIN=$(BUILD) bash tests/ctgrind.sh
endif
# The primitives again, with the same flags plus CT_VALGRIND: ct_declassify (ct.h) tells memcheck
# which derived bytes are public (a tag's verdict); in the programs it is a no-op.
CTGRIND_OBJS = $(CRYPTO_TEST_OBJS:$(BUILD)/%.o=$(BUILD)/ct/%.o)
$(BUILD)/ct/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -DCT_VALGRIND -c -o $@ $<
$(BUILD)/tests/ctgrind: $(BUILD)/tests/ctgrind.o $(CTGRIND_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^

# make fuzz: every libFuzzer target for FUZZ_SECONDS each, from the seeds in tests/fuzz/corpus,
# built by clang with ASan and UBSan in build-fuzz/; check runs a short pass.
# make fuzz-seeds writes the seeds again (after a change to the wire format).
FUZZ_CC ?= clang
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_CHECK_SECONDS ?= 10
FUZZ_TARGETS = proto stun term server client crypto session
FUZZ_BINS = $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz_%)
FUZZ_SAN_CFLAGS = -std=c11 $(WARNINGS) $(CPPFLAGS) -g -O1 -fno-omit-frame-pointer -I. \
	      -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS = $(FUZZ_SAN_CFLAGS) -fsanitize=fuzzer-no-link
# The programs' modules, built for fuzzing; tests/fuzz/fuzz.o brings its own logger instead of log.o.
# The client's and the server's targets take the crypto primitives from nocov/: sanitized but
# without coverage, which guides nothing in code that branches on no data (constant time) and
# was 60% of fuzz_client's time (X25519 in each input's handshake); fuzz_crypto keeps it.
FUZZ_NOCOV_OBJS = $(CRYPTO_TEST_OBJS:$(BUILD)/%=$(FUZZ_BUILD)/nocov/%)
FUZZ_SERVER_OBJS = $(patsubst $(BUILD)/%,$(FUZZ_BUILD)/%,$(filter-out %/log.o $(CRYPTO_TEST_OBJS),$(SERVER_OBJS))) $(FUZZ_NOCOV_OBJS)
FUZZ_PROTO_OBJS = $(patsubst $(BUILD)/%,$(FUZZ_BUILD)/%,$(PROTO_OBJS))
FUZZ_CLIENT_OBJS = $(patsubst $(BUILD)/%,$(FUZZ_BUILD)/%,$(filter-out %/log.o $(CRYPTO_TEST_OBJS),$(CLIENT_OBJS))) $(FUZZ_NOCOV_OBJS)

fuzz: $(FUZZ_BINS)
	bash tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_BUILD) $(FUZZ_TARGETS)
fuzz-seeds: $(FUZZ_BUILD)/mkseeds
	$(FUZZ_BUILD)/mkseeds tests/fuzz/corpus

$(FUZZ_BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c -o $@ $<
$(FUZZ_BUILD)/nocov/%.o: %.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_SAN_CFLAGS) -MMD -MP -c -o $@ $<

$(FUZZ_BUILD)/fuzz_proto: $(FUZZ_BUILD)/tests/fuzz/fuzz_proto.o $(FUZZ_PROTO_OBJS)
$(FUZZ_BUILD)/fuzz_stun: $(FUZZ_BUILD)/tests/fuzz/fuzz_stun.o $(FUZZ_BUILD)/stun.o $(FUZZ_PROTO_OBJS)
$(FUZZ_BUILD)/fuzz_term: $(FUZZ_BUILD)/tests/fuzz/fuzz_term.o $(FUZZ_BUILD)/term.o $(FUZZ_BUILD)/utf8.o
$(FUZZ_BUILD)/fuzz_server: $(FUZZ_BUILD)/tests/fuzz/fuzz_server.o $(FUZZ_SERVER_OBJS)
$(FUZZ_BUILD)/fuzz_client: $(FUZZ_BUILD)/tests/fuzz/fuzz_client.o $(FUZZ_CLIENT_OBJS)
$(FUZZ_BUILD)/fuzz_crypto: $(FUZZ_BUILD)/tests/fuzz/fuzz_crypto.o $(FUZZ_BUILD)/x25519.o $(FUZZ_BUILD)/chachapoly.o $(FUZZ_BUILD)/sha256.o $(FUZZ_BUILD)/sha256_x86.o
$(FUZZ_BUILD)/fuzz_crypto: FUZZ_LIBS = $(SODIUM_LIBS)
$(FUZZ_BUILD)/fuzz_session: $(FUZZ_BUILD)/tests/fuzz/fuzz_session.o $(FUZZ_BUILD)/session.o $(FUZZ_BUILD)/x25519.o $(FUZZ_BUILD)/chachapoly.o $(FUZZ_BUILD)/sha256.o $(FUZZ_BUILD)/sha256_x86.o
$(FUZZ_BINS): $(FUZZ_BUILD)/tests/fuzz/fuzz.o
	$(FUZZ_CC) -fsanitize=fuzzer,address,undefined -o $@ $^ $(FUZZ_LIBS)

MKSEEDS_SRCS = tests/fuzz/mkseeds.c tests/fuzz/fuzz.c $(PROTO_OBJS:$(BUILD)/%.o=%.c) session.c x25519.c chachapoly.c sha256.c sha256_x86.c
$(FUZZ_BUILD)/mkseeds: $(MKSEEDS_SRCS) $(wildcard *.h tests/fuzz/*.h)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -I. -o $@ $(MKSEEDS_SRCS)

deps:
	@bash tests/deps.sh

demo: all
	BIN=$(BUILD) bash examples/demo.sh

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR)
	install -m 755 $(BUILD)/p2pchat $(DESTDIR)$(BINDIR)/p2pchat
	install -m 755 $(BUILD)/p2pchatd $(DESTDIR)$(SBINDIR)/p2pchatd
	install -d $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man8
	install -m 644 man/p2pchat.1 $(DESTDIR)$(MANDIR)/man1/p2pchat.1
	install -m 644 man/p2pchatd.8 $(DESTDIR)$(MANDIR)/man8/p2pchatd.8

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/p2pchat $(DESTDIR)$(SBINDIR)/p2pchatd
	rm -f $(DESTDIR)$(MANDIR)/man1/p2pchat.1 $(DESTDIR)$(MANDIR)/man8/p2pchatd.8

clean:
	rm -rf build build-san build-fuzz p2pchatd p2pchat

# The headers each object read, from -MMD.
-include $(wildcard $(BUILD)/*.d $(BUILD)/ct/*.d $(BUILD)/tests/*.d $(FUZZ_BUILD)/*.d $(FUZZ_BUILD)/nocov/*.d $(FUZZ_BUILD)/tests/fuzz/*.d)
