# tpurank: learn which compiler configuration makes a tensor program fastest.
# `make` builds every filter into bin/; `make test` runs every suite;
# `make demo` runs the whole pipeline on the embedded synthetic dataset.

PREFIX  ?= /usr/local
CC      ?= cc
OPT     ?= -O2
CFLAGS_BASE = -std=c11 $(OPT) -g -Wall -Wextra -Wshadow -Wstrict-prototypes \
	-Wno-unused-parameter -D_DEFAULT_SOURCE -D_FILE_OFFSET_BITS=64 -fopenmp -ffp-contract=off -Ilib
ifeq ($(CI),true)
CFLAGS_BASE += -Werror
endif
ifeq ($(NATIVE),1)
CFLAGS_BASE += -march=native
endif
# Sanitizer build: `make SAN=1` (or `make asan`) builds into build-asan/ bin-asan/.
ifeq ($(SAN),1)
CFLAGS_BASE += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDSAN = -fsanitize=address,undefined
BUILD ?= build-asan
BINDIR ?= bin-asan
else
BUILD ?= build
BINDIR ?= bin
endif
# ISA-L (libisal-dev, tests/deps.sh) inflates and checks CRC-32 for lib/npz
# about twice as fast as zlib (docs/bench/npz2mp.md); without it, or with
# ISAL=0, lib/npz uses zlib alone.
ISAL ?= $(shell test -f /usr/include/isa-l/igzip_lib.h && echo 1 || echo 0)
ifeq ($(ISAL),1)
CFLAGS_BASE += -DNPZ_ISAL
LDISAL = -lisal
endif
CFLAGS  ?=
ALL_CFLAGS = $(CFLAGS_BASE) $(CFLAGS)
LDLIBS  = -lmsgpackc $(LDISAL) -lz -lopenblas -lm -fopenmp $(LDSAN)

# lib/ in layers, bottom to top (lib/README.md): a module uses its own
# layer and the layers before it, never a later one
# (tests/cli/lib-layers.bats checks every #include; `make lib-layers`
# prints them).
LIB_BASE    = err progress rng strset outfile
LIB_IO      = stream npz npzw pb hlo csv json history
LIB_GRAPH   = graph base7
LIB_MODEL   = nn gnn_msg gnn_global model model_data model_layers model_forward train
LIB_METRICS = metrics truth
LIB_GEN     = tpugen_graph tpugen_cost
LIB_LAYERS  = BASE IO GRAPH MODEL METRICS GEN
LIB_SRC  = $(foreach l,$(LIB_LAYERS),$(LIB_$(l):%=lib/%.c))
ifneq ($(sort $(LIB_SRC)),$(sort $(wildcard lib/*.c)))
$(error lib/*.c and the layers of the Makefile differ: $(filter-out $(LIB_SRC),$(wildcard lib/*.c)) $(filter-out $(wildcard lib/*.c),$(LIB_SRC)))
endif
LIB_OBJ  = $(LIB_SRC:lib/%.c=$(BUILD)/lib/%.o)
LIB_A    = $(BUILD)/libtpu.a
FILTERS  = $(sort $(basename $(notdir $(wildcard filters/*.c))))
BINS     = $(FILTERS:%=$(BINDIR)/%)
UNIT_SRC = $(sort $(wildcard tests/unit/test_*.c))
UNITS    = $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
SCRIPTS  = $(sort $(wildcard pipelines/*.sh))

.PHONY: lib-layers
lib-layers:
	@$(foreach l,$(LIB_LAYERS),echo "$(l): $(LIB_$(l))";)

.PHONY: all deps test test-unit test-cli demo clean asan test-asan install uninstall bench fuzz valgrind
all: $(BINS) $(UNITS)

$(BUILD)/lib/%.o: lib/%.c $(wildcard lib/*.h)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIB_A): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BINDIR)/%: filters/%.c $(LIB_A) $(wildcard lib/*.h)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LIB_A) $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c tests/unit/ut.h tests/unit/ut_num.h tests/unit/ut_files.h $(LIB_A)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Itests/unit -o $@ $< $(LIB_A) $(LDLIBS)

deps:
	@sh tests/deps.sh

# deps first, then a fresh make: what deps installed (libisal-dev) is seen
test: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) BINDIR=$(BINDIR) bash tests/run.sh

test-unit: all
	@BUILD=$(BUILD) BINDIR=$(BINDIR) SUITES=unit bash tests/run.sh

test-cli: all
	@BUILD=$(BUILD) BINDIR=$(BINDIR) SUITES=cli bash tests/run.sh

asan:
	@$(MAKE) --no-print-directory SAN=1 all

test-asan: deps
	@$(MAKE) --no-print-directory SAN=1 all
	@ASAN_OPTIONS=detect_leaks=0 BUILD=build-asan BINDIR=bin-asan bash tests/run.sh

demo: deps
	@$(MAKE) --no-print-directory all
	@bash pipelines/demo.sh

bench: all
	@bash pipelines/bench.sh

# Filters in PREFIX/bin, man pages in PREFIX/share/man/man1, the pipeline
# scripts in PREFIX/share/tpurank/pipelines with tpurank-NAME links in
# PREFIX/bin (pipelines/lib.sh finds the filters at ../../../bin from the
# scripts, so a DESTDIR staged install works once moved to PREFIX).  Paths
# are quoted: PREFIX may contain spaces.
PIPE_SCRIPTS = all collection demo plot predict replay
INSTDIR = $(DESTDIR)$(PREFIX)
install: all
	install -d "$(INSTDIR)/bin" "$(INSTDIR)/share/man/man1" "$(INSTDIR)/share/tpurank/pipelines/conf"
	install -m 755 $(BINS) "$(INSTDIR)/bin"
	install -m 644 docs/man/*.1 "$(INSTDIR)/share/man/man1"
	install -m 755 pipelines/*.sh "$(INSTDIR)/share/tpurank/pipelines"
	install -m 644 pipelines/conf/*.conf "$(INSTDIR)/share/tpurank/pipelines/conf"
	for s in $(PIPE_SCRIPTS); do \
		ln -sf "../share/tpurank/pipelines/$$s.sh" "$(INSTDIR)/bin/tpurank-$$s"; done

uninstall:
	for f in $(FILTERS) $(PIPE_SCRIPTS:%=tpurank-%); do rm -f "$(INSTDIR)/bin/$$f"; done
	for f in docs/man/*.1; do rm -f "$(INSTDIR)/share/man/man1/$$(basename "$$f")"; done
	rm -rf "$(INSTDIR)/share/tpurank"

clean:
	rm -rf build build-asan bin-asan build-fuzz $(BINS)

# ---- hardening: fuzzing (tests/fuzz) and valgrind ----
# `make fuzz [FUZZ_SECONDS=N]` builds each libFuzzer harness tests/fuzz/fuzz_NAME.c
# with clang (ASan+UBSan) into build-fuzz/fuzz-NAME and runs it N seconds;
# `make fuzz-smoke` runs each a few seconds (CI); `make valgrind` runs the
# corpus replays and a tiny pipeline of the built filters under memcheck.
.PHONY: fuzz-smoke
FUZZ_CC       ?= clang-14
FUZZ_SECONDS  ?= 60
FUZZ_SMOKE_SECONDS ?= 5
FUZZ_NAMES    = $(sort $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c)))
FUZZ_LIBOBJ   = $(patsubst %,build-fuzz/lib/%.o,err progress outfile stream strset npz csv pb hlo)
FUZZ_CFLAGS   = -std=c11 -g -O1 -D_DEFAULT_SOURCE -D_FILE_OFFSET_BITS=64 -Ilib -Itests/fuzz $(if $(LDISAL),-DNPZ_ISAL) \
	-fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all

build-fuzz/lib/%.o: lib/%.c $(wildcard lib/*.h)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

build-fuzz/fuzz-%: tests/fuzz/fuzz_%.c tests/fuzz/util.c $(wildcard tests/fuzz/*.h) $(FUZZ_LIBOBJ)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< tests/fuzz/util.c $(FUZZ_LIBOBJ) -lmsgpackc $(LDISAL) -lz -lm

fuzz: $(FUZZ_NAMES:%=build-fuzz/fuzz-%)
	@bash tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_NAMES)

fuzz-smoke: $(FUZZ_NAMES:%=build-fuzz/fuzz-%)
	@bash tests/fuzz/run.sh $(FUZZ_SMOKE_SECONDS) $(FUZZ_NAMES)

valgrind: all
	@bash tests/tools/valgrind.sh
