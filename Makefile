# Cairn - top-level Makefile.
#
#   make              build build/libcairn.a, build/cairnd and build/cairn
#   make test         unit tests (cmocka) then integration tests (real binaries)
#   make unit         unit tests only
#   make demo         install deps, build and start a local demo chain (README)
#   make install PREFIX=/usr/local
#   make deps         install missing Debian packages (apt-get; needs root/sudo)
#   make clean
#   make DEBUG=1      -O0 and -DCAIRN_DEBUG (the node checks conservation
#                     after every block)
#   make test SANITIZE=1   everything built with AddressSanitizer and
#                     UndefinedBehaviorSanitizer (in build-san/), whole suite
#   make fuzz [FUZZ_SECONDS=N]   build the libFuzzer targets with clang in
#                     build-fuzz/ and run each for N seconds (FUZZING.md)
#   make lint         cppcheck and clang-tidy (.clang-tidy); fails on findings
#
# BUILD=dir puts every object and binary under dir (default build/, and
# build-san/ with SANITIZE=1 so sanitized objects never mix with plain
# ones), so several builds can live side by side.

CC      ?= cc
ifeq ($(SANITIZE),1)
BUILD   ?= build-san
endif
ifeq ($(FUZZ),1)
BUILD   ?= build-fuzz
endif
BUILD   ?= build
PREFIX  ?= /usr/local
PKGS    := libsodium lmdb libsecp256k1 libevent jansson

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null)

OPT     ?= -O2
CFLAGS  ?= $(OPT) -g
CFLAGS  += -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
           -Wformat=2 -Wno-format-nonliteral -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L \
           -Iinclude $(PKG_CFLAGS) -MMD -MP
LDLIBS  += $(PKG_LIBS) -lpthread

# DEBUG=1: no optimisation, and the node checks point conservation after
# every block (CAIRN_DEBUG; see node/producer.c).
ifeq ($(DEBUG),1)
OPT     := -O0
CFLAGS  += -DCAIRN_DEBUG
endif

# SANITIZE=1: every object, test and binary carries ASan and UBSan; any
# report fails the run. AddressSanitizer and LeakSanitizer reports of every
# process (including cairnd nodes the integration tests start in the
# background, whose exit status no test may look at) go to files under
# $(BUILD)/sanitizer-logs/, which tests/sanitizer_check.sh prints and turns
# into a failure at the end of `make test`. UBSan (gcc) always reports on
# stderr; -fno-sanitize-recover makes the process exit at once, which fails
# the test that ran it (for a node, the report is in its log file).
ifeq ($(SANITIZE),1)
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=address,undefined
SAN_LOG_DIR := $(abspath $(BUILD))/sanitizer-logs
export ASAN_OPTIONS  := detect_leaks=1:halt_on_error=1:abort_on_error=0:log_path=$(SAN_LOG_DIR)/asan
export UBSAN_OPTIONS := print_stacktrace=1:halt_on_error=1
endif

# FUZZ=1 (set by `make fuzz` for its own build dir): clang with libFuzzer's
# coverage instrumentation plus ASan and UBSan on every object.
FUZZ_SANITIZE := -fsanitize=fuzzer-no-link,address,undefined \
                 -fno-sanitize-recover=all -fno-omit-frame-pointer
ifeq ($(FUZZ),1)
CFLAGS  += $(FUZZ_SANITIZE)
endif

LIB_SRC    := $(sort $(wildcard ledger/*.c))
NODE_SRC   := $(sort $(filter-out node/main.c,$(wildcard node/*.c)))
WALLET_SRC := $(sort $(filter-out wallet/main.c,$(wildcard wallet/*.c)))
TEST_SRC   := $(sort $(wildcard tests/test_*.c))
FUZZ_SRC   := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_NAMES := $(FUZZ_SRC:tests/fuzz/fuzz_%.c=%)

LIB_OBJ    := $(LIB_SRC:%.c=$(BUILD)/%.o)
NODE_OBJ   := $(NODE_SRC:%.c=$(BUILD)/%.o)
WALLET_OBJ := $(WALLET_SRC:%.c=$(BUILD)/%.o)
TEST_BIN   := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
REPLAY_BIN := $(FUZZ_NAMES:%=$(BUILD)/fuzz/replay_%)
FUZZ_BIN   := $(FUZZ_NAMES:%=$(BUILD)/fuzz/fuzz_%)

LIB        := $(BUILD)/libcairn.a
NODE_LIB   := $(BUILD)/libcairnd.a
WALLET_LIB := $(BUILD)/libcairnwallet.a
CAIRND     := $(BUILD)/cairnd
CAIRN      := $(BUILD)/cairn

.PHONY: all test unit integration demo testnet testnet-stop install deps clean fuzz fuzz-bins \
        fuzz-seeds fuzz-merge replay lint
all: $(LIB) $(CAIRND) $(CAIRN)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(NODE_LIB): $(NODE_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(WALLET_LIB): $(WALLET_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(CAIRND): $(BUILD)/node/main.o $(NODE_LIB) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(CAIRN): $(BUILD)/wallet/main.o $(WALLET_LIB) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Unit tests may reach into node/ and wallet/ modules (mempool, client).
$(BUILD)/tests/%: tests/%.c $(NODE_LIB) $(WALLET_LIB) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(NODE_LIB) $(WALLET_LIB) $(LIB) $(CMOCKA_LIBS) $(LDLIBS)

# Fuzz targets linked with a replay main (normal compiler, any SANITIZE):
# every corpus file is replayed as a regression test by `make test`.
$(BUILD)/fuzz/replay_%: tests/fuzz/fuzz_%.c $(BUILD)/tests/fuzz/replay_main.o \
                        $(NODE_LIB) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/tests/fuzz/replay_main.o \
	  $(NODE_LIB) $(LIB) $(LDLIBS)

# Each step runs even if an earlier one failed (and the sanitizer reports
# are always shown); the target fails if any step did.
unit: $(TEST_BIN) $(REPLAY_BIN)
	@$(SAN_CLEAN)
	@rc=0; \
	  BUILD=$(BUILD) sh tests/run_unit.sh $(TEST_BIN) || rc=1; \
	  sh tests/fuzz/replay.sh $(REPLAY_BIN) || rc=1; \
	  $(SAN_CHECK) || rc=1; \
	  exit $$rc

replay: $(REPLAY_BIN)
	@$(SAN_CLEAN)
	@rc=0; sh tests/fuzz/replay.sh $(REPLAY_BIN) || rc=1; \
	  $(SAN_CHECK) || rc=1; exit $$rc

# Shared by every replay binary: keep it (make would delete it as an
# intermediate file and relink everything next time).
.SECONDARY: $(BUILD)/tests/fuzz/replay_main.o

integration: all
	@$(SAN_CLEAN)
	@rc=0; BUILD=$(BUILD) sh tests/integration/run.sh || rc=1; \
	  $(SAN_CHECK) || rc=1; exit $$rc

test: all $(TEST_BIN) $(REPLAY_BIN)
	@$(SAN_CLEAN)
	@rc=0; \
	  BUILD=$(BUILD) sh tests/run_unit.sh $(TEST_BIN) || rc=1; \
	  sh tests/fuzz/replay.sh $(REPLAY_BIN) || rc=1; \
	  BUILD=$(BUILD) sh tests/integration/run.sh || rc=1; \
	  $(SAN_CHECK) || rc=1; \
	  exit $$rc

ifeq ($(SANITIZE),1)
SAN_CLEAN = rm -rf $(SAN_LOG_DIR) && mkdir -p $(SAN_LOG_DIR)
SAN_CHECK = sh tests/sanitizer_check.sh $(SAN_LOG_DIR)
else
SAN_CLEAN = true
SAN_CHECK = true
endif

# ---- fuzzing (FUZZING.md) ----
# `make fuzz` installs clang if missing (optional packages, not needed by
# `make test`), builds every target with libFuzzer into $(FUZZ_BUILD) and
# runs each in turn for FUZZ_SECONDS (FUZZ_RUNS caps executions; 0 = no
# cap). New inputs go to $(FUZZ_BUILD)/corpus/<name>/ (not to git), crashes
# to $(FUZZ_BUILD)/crashes/; the summary to $(FUZZ_BUILD)/fuzz-report.md.
FUZZ_BUILD   ?= build-fuzz
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_RUNS    ?= 0

fuzz:
	sh scripts/install-deps.sh --fuzz
	$(MAKE) BUILD=$(FUZZ_BUILD) CC=$(FUZZ_CC) FUZZ=1 SANITIZE= fuzz-bins
	sh tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_RUNS) $(FUZZ_NAMES)

fuzz-bins: $(FUZZ_BIN)

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(NODE_LIB) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fsanitize=fuzzer,address,undefined -o $@ $< \
	  $(NODE_LIB) $(LIB) $(LDLIBS)

# Add the inputs of each working corpus that bring coverage the git corpus
# lacks to tests/fuzz/corpus/<name>/ (libFuzzer -merge=1; existing files,
# seeds and crash reproducers are kept).
fuzz-merge:
	sh tests/fuzz/run.sh --merge $(FUZZ_BUILD) $(FUZZ_NAMES)

# Regenerate the seed inputs (valid encodings signed with the test keys,
# plus malformed variants) into tests/fuzz/corpus/<name>/seed-*.
fuzz-seeds: $(BUILD)/tests/fuzz/gen_seeds
	$(BUILD)/tests/fuzz/gen_seeds tests/fuzz/corpus

$(BUILD)/tests/fuzz/gen_seeds: tests/fuzz/gen_seeds.c $(NODE_LIB) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(NODE_LIB) $(LIB) $(LDLIBS)

# ---- static analysis ----
# Production sources and the fuzz targets; the cmocka tests are left out
# (their macros are what the checks would flag). Both tools fail the
# target on any finding.
LINT_SRC   := $(LIB_SRC) $(NODE_SRC) node/main.c $(WALLET_SRC) wallet/main.c \
              $(FUZZ_SRC) tests/fuzz/replay_main.c tests/fuzz/gen_seeds.c
LINT_FLAGS := -std=c11 -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L -Iinclude \
              $(PKG_CFLAGS)

lint:
	sh scripts/install-deps.sh --lint
	cppcheck --enable=warning,performance,portability --error-exitcode=1 \
	  --inline-suppr --suppressions-list=.cppcheck-suppressions \
	  --library=scripts/cppcheck-cairn.cfg --std=c11 -D__GNUC__ -Iinclude \
	  -q $(LINT_SRC)
	@# One file per clang-tidy process: clang-tidy 14 carries analyzer state
	@# from one file to the next and then reports false va_list errors.
	printf '%s\n' $(LINT_SRC) | xargs -P2 -I{} \
	  clang-tidy --quiet {} -- $(LINT_FLAGS)

demo:
	sh scripts/demo.sh

# A local network of four validators (scripts/testnet.sh; README).
testnet:
	BUILD=$(BUILD) sh scripts/testnet.sh start

testnet-stop:
	BUILD=$(BUILD) sh scripts/testnet.sh stop

deps:
	sh scripts/install-deps.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib \
	  $(DESTDIR)$(PREFIX)/include/cairn $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 0755 $(CAIRND) $(CAIRN) $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 $(LIB) $(DESTDIR)$(PREFIX)/lib/
	install -m 0644 include/cairn/*.h $(DESTDIR)$(PREFIX)/include/cairn/
	sed -e 's|@PREFIX@|$(PREFIX)|g' scripts/cairn.pc.in \
	  > $(DESTDIR)$(PREFIX)/lib/pkgconfig/cairn.pc

clean:
	rm -rf $(BUILD)

-include $(LIB_OBJ:.o=.d) $(NODE_OBJ:.o=.d) $(WALLET_OBJ:.o=.d) $(BUILD)/node/main.d $(BUILD)/wallet/main.d
-include $(REPLAY_BIN:=.d) $(FUZZ_BIN:=.d) $(BUILD)/tests/fuzz/replay_main.d

# ---- benchmarks (BENCHMARKS.md) ----
# `make bench` builds the benchmarks with -O2 and no sanitizers in
# $(BENCH_BUILD) and prints one table: Cairn's figures beside this
# machine's limits, all from the same run (bench/run.sh):
#   cairn_bench     limits, single node, audit, growth (bench/*.c);
#   cairn_netbench  four validators on loopback: a `cairnd testnet` of real
#                   cairnd processes driven over HTTP (bench/netbench/);
#   bench/pg/run.sh the PostgreSQL baseline (pgbench; PostgreSQL is
#                   installed with scripts/install-deps.sh --bench if
#                   missing).
# Sizes come from the environment: BENCH_TXS, BENCH_AUDIT_TXS,
# BENCH_MEMBERS, BENCH_MEMBERS_LARGE (bench/bench.c), BENCH_NET_*
# (bench/netbench/main.c), BENCH_PG_* (bench/pg/run.sh).
BENCH_BUILD  ?= build-bench
BENCH_SRC    := $(sort $(wildcard bench/*.c))
NETBENCH_SRC := $(sort $(wildcard bench/netbench/*.c))

.PHONY: bench
bench:
	$(MAKE) BUILD=$(BENCH_BUILD) SANITIZE= FUZZ= DEBUG= OPT=-O2 \
	  $(BENCH_BUILD)/bench/cairn_bench $(BENCH_BUILD)/bench/cairn_netbench \
	  $(BENCH_BUILD)/cairnd
	sh bench/run.sh $(BENCH_BUILD)/bench/cairn_bench

$(BUILD)/bench/cairn_bench: $(BENCH_SRC) bench/bench_limits.h \
                            bench/bench_node.h tests/testutil.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests $(LDFLAGS) -o $@ $(BENCH_SRC) $(LIB) $(LDLIBS)

# Its own program: it starts cairnd processes and talks to them over HTTP.
# bench_limits.c gives it the clock and, when run alone, the BIP-340 limit.
$(BUILD)/bench/cairn_netbench: $(NETBENCH_SRC) bench/netbench/netbench.h \
                               bench/bench_limits.c bench/bench_limits.h \
                               tests/testutil.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests -Ibench $(LDFLAGS) -o $@ $(NETBENCH_SRC) \
	  bench/bench_limits.c $(LIB) $(LDLIBS) -lm
