# Cairn - top-level Makefile.
#
#   make              build build/libcairn.a, build/cairnd and build/cairn
#   make test         unit tests (cmocka) then integration tests (real binaries)
#   make unit         unit tests only
#   make demo         install deps, build and start a local demo chain (README)
#   make install PREFIX=/usr/local
#   make deps         install missing Debian packages (apt-get; needs root/sudo)
#   make clean
#
# BUILD=dir puts every object and binary under dir (default build/), so
# several builds (e.g. SANITIZE=1) can live side by side.

CC      ?= cc
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

ifeq ($(SANITIZE),1)
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=address,undefined
endif

LIB_SRC    := $(sort $(wildcard ledger/*.c))
NODE_SRC   := $(sort $(filter-out node/main.c,$(wildcard node/*.c)))
WALLET_SRC := $(sort $(filter-out wallet/main.c,$(wildcard wallet/*.c)))
TEST_SRC   := $(sort $(wildcard tests/test_*.c))

LIB_OBJ    := $(LIB_SRC:%.c=$(BUILD)/%.o)
NODE_OBJ   := $(NODE_SRC:%.c=$(BUILD)/%.o)
WALLET_OBJ := $(WALLET_SRC:%.c=$(BUILD)/%.o)
TEST_BIN   := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)

LIB        := $(BUILD)/libcairn.a
NODE_LIB   := $(BUILD)/libcairnd.a
WALLET_LIB := $(BUILD)/libcairnwallet.a
CAIRND     := $(BUILD)/cairnd
CAIRN      := $(BUILD)/cairn

.PHONY: all test unit integration demo install deps clean
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

unit: $(TEST_BIN)
	@BUILD=$(BUILD) sh tests/run_unit.sh $(TEST_BIN)

integration: all
	@BUILD=$(BUILD) sh tests/integration/run.sh

test: all $(TEST_BIN)
	@BUILD=$(BUILD) sh tests/run_unit.sh $(TEST_BIN)
	@BUILD=$(BUILD) sh tests/integration/run.sh

demo:
	sh scripts/demo.sh

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
