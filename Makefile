# Makefile - builds p2pchatd and p2pchat, runs the tests, installs.

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
SBINDIR ?= $(PREFIX)/sbin
DESTDIR ?=

CC ?= cc
CFLAGS ?= -O2 -g
WARNINGS = -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes
ifeq ($(WERROR),1)
WARNINGS += -Werror
endif
# _DEFAULT_SOURCE: POSIX.1-2008 plus getifaddrs(3), which Linux and the BSDs share.
CPPFLAGS += -D_DEFAULT_SOURCE
ALL_CFLAGS = -std=c11 $(WARNINGS) $(CPPFLAGS) $(CFLAGS)

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

# Modules: one job each.
SERVER_OBJS = $(BUILD)/protocol.o $(BUILD)/siphash.o $(BUILD)/table.o $(BUILD)/net.o $(BUILD)/log.o
CLIENT_OBJS = $(BUILD)/protocol.o $(BUILD)/chan.o $(BUILD)/term.o $(BUILD)/net.o $(BUILD)/log.o

UNIT_TESTS = $(BUILD)/tests/test_protocol $(BUILD)/tests/test_table $(BUILD)/tests/test_server \
	     $(BUILD)/tests/test_chan $(BUILD)/tests/test_term $(BUILD)/tests/test_client

.PHONY: all check test unit integration tty deps demo install uninstall clean

all: $(BUILD)/p2pchatd $(BUILD)/p2pchat
ifeq ($(BUILD),build)
all: p2pchatd p2pchat
p2pchatd: $(BUILD)/p2pchatd
	cp $< $@
p2pchat: $(BUILD)/p2pchat
	cp $< $@
endif

$(BUILD)/%.o: %.c $(wildcard *.h) | $(BUILD)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# The programs' files again, without main(), for the unit tests to drive.
$(BUILD)/%.nomain.o: %.c $(wildcard *.h) | $(BUILD)
	$(CC) $(ALL_CFLAGS) -DP2PCHAT_NO_MAIN -c -o $@ $<

$(BUILD)/p2pchatd: $(BUILD)/server.o $(SERVER_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^
$(BUILD)/p2pchat: $(BUILD)/client.o $(CLIENT_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^

$(BUILD) $(BUILD)/tests:
	mkdir -p $@

$(BUILD)/tests/%.o: tests/%.c $(wildcard *.h) | $(BUILD)/tests
	$(CC) $(ALL_CFLAGS) $(CHECK_CFLAGS) -I. -c -o $@ $<

$(BUILD)/tests/test_protocol: $(BUILD)/tests/test_protocol.o $(BUILD)/protocol.o
$(BUILD)/tests/test_table: $(BUILD)/tests/test_table.o $(BUILD)/table.o $(BUILD)/siphash.o $(BUILD)/protocol.o
$(BUILD)/tests/test_server: $(BUILD)/tests/test_server.o $(BUILD)/server.nomain.o $(SERVER_OBJS)
$(BUILD)/tests/test_chan: $(BUILD)/tests/test_chan.o $(BUILD)/chan.o $(BUILD)/protocol.o
$(BUILD)/tests/test_term: $(BUILD)/tests/test_term.o $(BUILD)/term.o
$(BUILD)/tests/test_client: $(BUILD)/tests/test_client.o $(BUILD)/client.nomain.o $(CLIENT_OBJS) $(BUILD)/server.nomain.o $(BUILD)/table.o $(BUILD)/siphash.o
$(UNIT_TESTS):
	$(CC) $(LDFLAGS) -o $@ $^ $(CHECK_LIBS)

# make check: everything, once plainly and once under the sanitizers.
check: deps
	$(MAKE) test
	$(MAKE) test SAN=1

# make test: this build's unit tests, then the integration tests on loopback,
# then the interactive client in a real terminal (tmux).
test: unit integration tty

unit: $(UNIT_TESTS)
	@for t in $(UNIT_TESTS); do echo "== $$t"; CK_DEFAULT_TIMEOUT=60 $$t || exit 1; done

integration: $(BUILD)/p2pchatd $(BUILD)/p2pchat
	BIN=$(BUILD) bash tests/integration.sh

tty: $(BUILD)/p2pchatd $(BUILD)/p2pchat
	BIN=$(BUILD) bash tests/tty.sh

deps:
	@bash tests/deps.sh

demo: all
	BIN=$(BUILD) bash examples/demo.sh

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR)
	install -m 755 $(BUILD)/p2pchat $(DESTDIR)$(BINDIR)/p2pchat
	install -m 755 $(BUILD)/p2pchatd $(DESTDIR)$(SBINDIR)/p2pchatd

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/p2pchat $(DESTDIR)$(SBINDIR)/p2pchatd

clean:
	rm -rf build build-san p2pchatd p2pchat
