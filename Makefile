# evt - event sourcing from the shell
VERSION  = 0.1.0
PREFIX  ?= /usr/local
BINDIR   = $(PREFIX)/bin
MANDIR   = $(PREFIX)/share/man
BASHCOMPDIR = $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR  = $(PREFIX)/share/zsh/site-functions
FISHCOMPDIR = $(PREFIX)/share/fish/vendor_completions.d

CC      ?= cc
PKG_CONFIG ?= pkg-config
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -Wall -Wextra -Wshadow -Wstrict-prototypes -Wno-unused-parameter
CPPFLAGS += -D_GNU_SOURCE -DEVT_VERSION='"$(VERSION)"' -Ilib -MMD -MP
ifdef DEVELOPER
CFLAGS  += -Werror
endif
ifdef SANITIZE
CFLAGS  += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=$(SANITIZE)
endif

SQLITE_CFLAGS  := $(shell $(PKG_CONFIG) --cflags sqlite3 2>/dev/null)
SQLITE_LIBS    := $(shell $(PKG_CONFIG) --libs sqlite3 2>/dev/null || echo -lsqlite3)
LIBPQ_CFLAGS   := $(shell $(PKG_CONFIG) --cflags libpq 2>/dev/null)
MARIADB_CFLAGS := $(shell $(PKG_CONFIG) --cflags libmariadb 2>/dev/null || echo -I/usr/include/mariadb)
CPPFLAGS += $(SQLITE_CFLAGS) $(LIBPQ_CFLAGS) $(MARIADB_CFLAGS)

LIB_SRC := $(wildcard lib/*.c)
LIB_OBJ := $(LIB_SRC:.c=.o)
PROGS   := $(patsubst cmd/%.c,bin/%,$(wildcard cmd/*.c))

# What each program links beyond libevt and SQLite.  libpq and libjq are
# never linked: they are loaded with dlopen when a postgres URL or a jq
# reducer is given, so that no other run pays for loading them.
LIBS_COMMON = $(SQLITE_LIBS) -ldl
# The front only runs another program: libc alone (make it 'ldd bin/evt').
bin/evt: LIBS_COMMON =

all: $(PROGS)

lib/libevt.a: $(LIB_OBJ)
	$(AR) rcs $@ $^

bin/%: cmd/%.o lib/libevt.a
	@mkdir -p bin
	$(CC) $(LDFLAGS) -o $@ $< lib/libevt.a $(LIBS_COMMON)

# check, demo and bench first install what they need (tools/deps.sh), then
# build in a sub-make that sees the installed pkg-config files.
deps:
	@sh tools/deps.sh build

# make check VALGRIND=1 runs every program of the suite under memcheck.
check:
	@VALGRIND="$(VALGRIND)" sh tools/deps.sh check
	@$(MAKE) -s all
	VALGRIND="$(VALGRIND)" sh tests/run.sh

demo:
	@sh tools/deps.sh demo
	@$(MAKE) -s all
	@sh tools/demo.sh

bench:
	@sh tools/deps.sh bench
	@$(MAKE) -s all
	sh bench/run.sh
	sh bench/fold.sh
	sh bench/tail.sh
	sh bench/handle.sh
	sh bench/pg.sh
	sh bench/my.sh
	sh bench/group.sh

# Hardening (TESTING.md): libFuzzer targets, FUZZ_RUNS inputs each (default
# 200000; needs clang and libclang-rt-14-dev), and SIGKILL crash loops,
# CRASH_KILLS kills each (default 200).
fuzz:
	@sh tools/deps.sh fuzz
	@$(MAKE) -s -f tests/fuzz/fuzz.mk run

crash:
	@sh tools/deps.sh check
	@$(MAKE) -s all
	bash tests/crash/run.sh

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man7 \
		$(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR) $(DESTDIR)$(FISHCOMPDIR)
	install -m 755 $(PROGS) $(DESTDIR)$(BINDIR)
	install -m 644 man/*.1 $(DESTDIR)$(MANDIR)/man1
	install -m 644 man/*.7 $(DESTDIR)$(MANDIR)/man7
	install -m 644 completions/evt.bash $(DESTDIR)$(BASHCOMPDIR)/evt
	for p in $(notdir $(PROGS)); do [ $$p = evt ] || ln -sf evt $(DESTDIR)$(BASHCOMPDIR)/$$p; done
	install -m 644 completions/_evt $(DESTDIR)$(ZSHCOMPDIR)/_evt
	install -m 644 completions/evt.fish $(DESTDIR)$(FISHCOMPDIR)/evt.fish
	for p in $(notdir $(PROGS)); do [ $$p = evt ] || ln -sf evt.fish $(DESTDIR)$(FISHCOMPDIR)/$$p.fish; done

uninstall:
	for p in $(notdir $(PROGS)); do rm -f $(DESTDIR)$(BINDIR)/$$p $(DESTDIR)$(BASHCOMPDIR)/$$p $(DESTDIR)$(FISHCOMPDIR)/$$p.fish; done
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man1/,$(notdir $(wildcard man/*.1)))
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man7/,$(notdir $(wildcard man/*.7)))
	rm -f $(DESTDIR)$(BASHCOMPDIR)/evt $(DESTDIR)$(ZSHCOMPDIR)/_evt $(DESTDIR)$(FISHCOMPDIR)/evt.fish

clean:
	rm -rf bin lib/*.o lib/*.d lib/libevt.a cmd/*.o cmd/*.d bench/out

.PHONY: all check deps demo bench fuzz crash install uninstall clean
.SECONDARY: $(LIB_OBJ) $(patsubst bin/%,cmd/%.o,$(PROGS))

-include $(LIB_OBJ:.o=.d) $(patsubst bin/%,cmd/%.d,$(PROGS))
