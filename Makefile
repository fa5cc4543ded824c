# barge: plain Makefile (see README.md).  `make` builds everything into build/.
PREFIX ?= /usr/local
BUILD  ?= build
CC     ?= cc

# barge-runtime needs only RT_PKGS (it is linked statically, see below)
RT_PKGS := jansson libseccomp libcap
PKGS    := $(RT_PKGS) libcurl libarchive sqlite3 libcrypto libmicrohttpd
OPT     ?= -O2 -g
WARN    := -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow -Wformat=2 -Wno-format-nonliteral
CFLAGS  += $(OPT) $(WARN) -std=gnu11 -D_GNU_SOURCE -fno-strict-aliasing -MMD -MP \
           $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS  += $(shell pkg-config --libs $(PKGS) 2>/dev/null)
RT_LIBS := $(shell pkg-config --libs $(RT_PKGS) 2>/dev/null)
# -S: no debug info in binaries: create/run/exec copy the binary into a sealed
# memfd (selfclone.c), so its size is paid on every container start.
LDFLAGS += -Wl,-O1 -Wl,--as-needed -Wl,-S

COMMON_SRC  := $(wildcard src/common/*.c)
RUNTIME_SRC := $(wildcard src/runtime/*.c)
RTCLI_SRC   := $(wildcard src/runtime/cli/*.c)
STORE_SRC   := $(wildcard src/store/*.c)
REGISTRY_SRC:= $(wildcard src/registry/*.c)
CLI_SRC     := $(wildcard src/cli/*.c)
ENGINE_SRC  := $(wildcard src/engine/*.c)
API_SRC     := $(wildcard src/api/*.c)
DAEMON_SRC  := $(wildcard src/daemon/*.c)
SHIM_SRC    := $(wildcard src/shim/*.c)
INIT_SRC    := $(wildcard src/init/*.c)
UNIT_SRC    := $(wildcard tests/unit/test_*.c)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

LIBCOMMON  := $(BUILD)/lib/libbarge-common.a
LIBRUNTIME := $(BUILD)/lib/libbarge-runtime.a
LIBSTORE   := $(BUILD)/lib/libbarge-store.a
LIBREGISTRY:= $(BUILD)/lib/libbarge-registry.a
LIBENGINE  := $(if $(ENGINE_SRC),$(BUILD)/lib/libbarge-engine.a)
LIBAPI     := $(if $(API_SRC),$(BUILD)/lib/libbarge-api.a)
ALL_LIBS   := $(LIBAPI) $(LIBENGINE) $(LIBREGISTRY) $(LIBSTORE) $(LIBRUNTIME) $(LIBCOMMON)
BINS       := $(BUILD)/bin/barge-runtime $(if $(CLI_SRC),$(BUILD)/bin/barge) \
              $(if $(DAEMON_SRC),$(BUILD)/bin/barged) $(if $(SHIM_SRC),$(BUILD)/bin/barge-shim) \
              $(if $(INIT_SRC),$(BUILD)/bin/barge-init)
UNIT_BINS  := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))

.PHONY: all install test demo deps test-deps unit-bins asan clean format
# keep object files make would treat as intermediate (unit tests)
.SECONDARY:
all: $(BINS) $(UNIT_BINS)

include mk/hello.mk

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(LIBCOMMON): $(call obj,$(COMMON_SRC))
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

$(LIBRUNTIME): $(call obj,$(RUNTIME_SRC))
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

$(LIBSTORE): $(call obj,$(STORE_SRC))
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

$(LIBREGISTRY): $(call obj,$(REGISTRY_SRC))
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

$(BUILD)/lib/libbarge-engine.a: $(call obj,$(ENGINE_SRC))
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

$(BUILD)/lib/libbarge-api.a: $(call obj,$(API_SRC))
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

# the component libraries call each other (store <-> registry): one group
LINK_LIBS = -Wl,--start-group $(ALL_LIBS) -Wl,--end-group $(LDLIBS)

# the client talks to barged only: common + registry (reference parsing,
# config.json credentials).  Every shared library costs each barge command
# its mapping and relocation, so: no libcurl (src/cli/client.c speaks
# HTTP/1.1 itself), libarchive dlopen'ed by cp only (src/cli/cp.c), and
# jansson and libcrypto (base64, digests via registry/common) linked
# statically when their .a is there (libcrypto.so alone cost ~1 ms): libc only.
CLIENT_LIBS   := $(LIBREGISTRY) $(LIBCOMMON)
client_a       = $(or $(wildcard $(shell pkg-config --variable=libdir $(1) 2>/dev/null)/lib$(2).a),-l$(2))
CLIENT_LDLIBS := $(call client_a,jansson,jansson) $(call client_a,libcrypto,crypto)
$(BUILD)/bin/barge: $(call obj,$(CLI_SRC)) $(CLIENT_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) -Wl,--start-group $(CLIENT_LIBS) -Wl,--end-group $(CLIENT_LDLIBS)

# barged's idle resident set (target: under 8 MiB, docs/engine.md).  Every
# shared library costs its relocations, symbol tables and constructors, and
# touched code is mapped in 64 KiB fault-around blocks, so barged links its
# libraries statically (only libc and libm stay shared) and --gc-sections
# drops what it does not call: libarchive's format table (xar, 7zip, zip,
# iso9660...) and with it libxml2, ICU and libstdc++.  libmicrohttpd comes
# without gnutls (src/daemon/notls.c) and libcurl is loaded on first
# registry use (src/daemon/curl_lazy.c), so neither is on this line.
# pack-relative-relocs (DT_RELR, glibc 2.36) keeps the PIE's relocation
# table small.  ~13.7 -> ~7 MiB; bench/run.sh prints it.
BARGED_LIBS := -Wl,-Bstatic -larchive -lnettle -lacl -llzma -lzstd -llz4 -lbz2 -lz -lsqlite3 \
               -lmicrohttpd -lcrypto -ljansson -lseccomp -lcap -Wl,-Bdynamic -lm
$(BUILD)/bin/barged: $(call obj,$(DAEMON_SRC)) $(ALL_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -Wl,--gc-sections -Wl,-z,pack-relative-relocs -o $@ $(filter %.o,$^) \
		-Wl,--start-group $(ALL_LIBS) -Wl,--end-group $(BARGED_LIBS) -lpthread

# the per-container supervisor and the container init stay small: static,
# libcommon only (shim) or no library at all (init).
$(BUILD)/bin/barge-shim: $(call obj,$(SHIM_SRC)) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $(STATIC) -o $@ $^

$(BUILD)/bin/barge-init: $(call obj,$(INIT_SRC))
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $(STATIC) -o $@ $^

# barge-runtime is linked statically: no dynamic loader or shared-library
# pages per container start (peak RSS ~1.4 MiB instead of ~1.9 MiB, same speed).
# STATIC= builds it dynamically.
STATIC ?= -static
$(BUILD)/bin/barge-runtime: $(call obj,$(RTCLI_SRC)) $(LIBRUNTIME) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $(STATIC) -o $@ $^ $(RT_LIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(ALL_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LINK_LIBS) -lpthread

unit-bins: $(UNIT_BINS)

# The unit tests again, built with AddressSanitizer and UBSan (`make test`
# runs both builds; barge-runtime itself stays static and unsanitized).
SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
asan:
	$(MAKE) BUILD=$(BUILD)/asan OPT="-O1 -g $(SAN)" LDFLAGS="$(SAN)" STATIC= unit-bins

install: all
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BINS) $(DESTDIR)$(PREFIX)/bin/

deps:
	scripts/install-deps.sh build

test-deps:
	scripts/install-deps.sh test

# `make test` and `make demo` do all set-up themselves on a fresh Debian 12.
test: test-deps
	$(MAKE) -j$$(nproc) all asan
	tests/run.sh

demo: deps
	$(MAKE) -j$$(nproc) all
	scripts/demo.sh

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
