# tests/fuzz/fuzz.mk - build and run the libFuzzer targets (make fuzz)
#
# Every module of libevt but the backends (store_*.c) is compiled again with
# clang -fsanitize=fuzzer-no-link,address,undefined into build/fuzz/; the
# targets link it with stubs for the backends (common.c), so nothing a
# fuzzer makes up ever reaches a database or the file system.
#
#   make fuzz                      each target, FUZZ_RUNS=200000 inputs
#   make fuzz FUZZ_RUNS=5000000    longer
#   make fuzz FUZZ_TARGETS=fuzz_json FUZZ_SEED=1
#   make fuzz FUZZ_LIB=/tmp/x/lib FUZZ_BUILD=/tmp/x/fuzz   another libevt
#
# Needs clang and libFuzzer (Debian: clang, libclang-rt-14-dev); jq's
# library for fuzz_fold (libjq1, loaded at run time as by evt-fold), and
# jansson (libjansson-dev) for fuzz_json's differential check, which is
# left out without it.
FUZZ_CC      ?= clang
FUZZ_RUNS    ?= 200000
FUZZ_MAX_LEN ?= 4096
FUZZ_SEED    ?= 0
FUZZ_LIB     ?= lib
FUZZ_BUILD   ?= build/fuzz
B            := $(FUZZ_BUILD)
SAN          := -fsanitize=address,undefined -fno-sanitize-recover=all \
		-fno-omit-frame-pointer
FUZZ_CFLAGS  := -g -O1 -std=c11 -Wall -Wextra -Wno-unused-parameter \
		-D_GNU_SOURCE -DEVT_VERSION='"fuzz"' -I$(FUZZ_LIB) $(SAN)

LIB_SRC := $(filter-out $(wildcard $(FUZZ_LIB)/store_*.c),$(wildcard $(FUZZ_LIB)/*.c))
LIB_OBJ := $(patsubst $(FUZZ_LIB)/%.c,$(B)/lib/%.o,$(LIB_SRC))
TARGETS := $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_TARGETS ?= $(TARGETS)
# fuzz_json compares with jansson when it is there (Debian: libjansson-dev).
PKG_CONFIG   ?= pkg-config
JANSSON      := $(shell $(PKG_CONFIG) --exists jansson 2>/dev/null && echo yes)
ifeq ($(JANSSON),yes)
CFLAGS_fuzz_json = -DFUZZ_JANSSON $(shell $(PKG_CONFIG) --cflags jansson)
LIBS_fuzz_json   = $(shell $(PKG_CONFIG) --libs jansson)
endif

all: $(addprefix $(B)/,$(TARGETS))

$(B)/lib/%.o: $(FUZZ_LIB)/%.c $(FUZZ_LIB)/*.h
	@mkdir -p $(B)/lib
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(B)/libevt.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

$(B)/common.o: tests/fuzz/common.c tests/fuzz/fuzz.h $(FUZZ_LIB)/*.h
	@mkdir -p $(B)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(B)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(B)/common.o $(B)/libevt.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(CFLAGS_fuzz_$*) -fsanitize=fuzzer -o $@ $< \
		$(B)/common.o $(B)/libevt.a $(LIBS_fuzz_$*) -ldl

run: all
	@FUZZ_BUILD=$(B) FUZZ_RUNS=$(FUZZ_RUNS) FUZZ_MAX_LEN=$(FUZZ_MAX_LEN) \
		FUZZ_SEED=$(FUZZ_SEED) sh tests/fuzz/run.sh $(FUZZ_TARGETS)

.PHONY: all run
