# file-thp-race: kselftest-style build.  make [O=DIR|OUTPUT=DIR] [SANITIZE=address|undefined|thread]
#   all        the selftests and tools
#   run_tests  run the suite on the built-in scratch filesystems (root)
#   soak       DURATION=S: run_tests.sh --soak S, the selection over and over for S
#              seconds with fresh seeds, failures kept in a results dir (root)
#   check      the suite's own tests: unit tests, detector proofs, a --quick run (root);
#              it waives the known kernel issues ./known-issues lists (KNOWN_ISSUES=FILE
#              for another list, KNOWN_ISSUES= for none); run_tests waives none
#   check-vm   the --quick profile inside a VM: make check-vm KERNEL=bzImage;
#              REPRO=NAME [REPRO_FS=xfs|ext4|btrfs|tmpfs] [REPRO_ARGS=...] runs
#              tools/repro/NAME there instead (tools/vm-run --repro; its status is
#              the reproducer's, which make turns into 2: use vm-run to bisect)
#   install    INSTALL_PATH=DIR: a tree that runs without the sources
#   bench      the benchmark (tools/bench)

ifneq ($(O),)
OUTPUT ?= $(abspath $(O))
endif
OUTPUT ?= $(CURDIR)/build
override OUTPUT := $(abspath $(OUTPUT))

CC ?= gcc
CFLAGS ?= -O2 -g
override CFLAGS += -std=gnu11 -Wall -Wextra -Werror -pthread -D_GNU_SOURCE -Ilib
LDLIBS += -luring -lnuma -lpthread

ifneq ($(SANITIZE),)
ifeq ($(filter $(SANITIZE),address undefined thread),)
$(error SANITIZE must be address, undefined or thread)
endif
override CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=$(SANITIZE)
endif

LIB_SRCS   := $(wildcard lib/*.c)
LIB_HDRS   := $(wildcard lib/*.h)
LIB_OBJS   := $(LIB_SRCS:lib/%.c=$(OUTPUT)/lib/%.o)
LIBFTR     := $(OUTPUT)/lib/libftr.a
TESTS      := $(sort $(basename $(notdir $(wildcard selftests/*.c))))
TEST_BINS  := $(TESTS:%=$(OUTPUT)/selftests/%)
TOOL_SRCS  := $(wildcard tools/*.c)
TOOL_BINS  := $(TOOL_SRCS:tools/%.c=$(OUTPUT)/tools/%)
REPRO_SRCS := $(wildcard tools/repro/*.c)
REPRO_BINS := $(REPRO_SRCS:tools/repro/%.c=$(OUTPUT)/tools/repro/%)
UNIT_SRCS  := $(wildcard lib/tests/*.c)
UNIT_BINS  := $(UNIT_SRCS:lib/tests/%.c=$(OUTPUT)/lib/tests/%)

.PHONY: all run_tests soak check check-vm install clean bench emit_tests unit
all: $(TEST_BINS) $(TOOL_BINS) $(REPRO_BINS)

$(OUTPUT)/lib/%.o: lib/%.c $(LIB_HDRS) Makefile
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c -o $@ $<

# Made anew: a module removed from lib/ must not live on in the archive.
$(LIBFTR): $(LIB_OBJS)
	rm -f $@
	$(AR) rcs $@ $^

$(OUTPUT)/selftests/%: selftests/%.c $(LIBFTR) $(LIB_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIBFTR) $(LDLIBS)

$(OUTPUT)/tools/%: tools/%.c $(LIBFTR) $(LIB_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIBFTR) $(LDLIBS)

# The reproducers stand alone: no lib/, libc and pthreads only.
$(OUTPUT)/tools/repro/%: tools/repro/%.c tools/repro/repro.h Makefile
	@mkdir -p $(@D)
	$(CC) $(filter-out -Ilib,$(CFLAGS)) $(LDFLAGS) -o $@ $< -lpthread

$(OUTPUT)/lib/tests/%: lib/tests/%.c $(LIBFTR) $(LIB_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIBFTR) $(LDLIBS)

unit: $(UNIT_BINS)

run_tests: all
	FTR_BUILD=$(OUTPUT) ./run_tests.sh $(RUN_ARGS)

# No default length: a soak left running for the night is the one run whose length matters.
soak: all
	@test -n "$(DURATION)" || { echo "soak: DURATION=SECONDS is required" >&2; exit 2; }
	FTR_BUILD=$(OUTPUT) ./run_tests.sh --soak $(DURATION) $(RUN_ARGS)

KNOWN_ISSUES ?= $(CURDIR)/known-issues
check: all unit
	FTR_BUILD=$(OUTPUT) FTR_KNOWN_ISSUES=$(KNOWN_ISSUES) lib/tests/check.sh $(CHECK_ARGS)

check-vm: all
	@test -n "$(KERNEL)" || { echo "check-vm: KERNEL=IMAGE is required" >&2; exit 2; }
ifeq ($(REPRO),)
	FTR_BUILD=$(OUTPUT) tools/vm-run --kernel $(KERNEL) $(VM_ARGS) -- --quick $(RUN_ARGS)
else
	FTR_BUILD=$(OUTPUT) tools/vm-run --kernel $(KERNEL) --repro $(REPRO) \
		$(if $(REPRO_FS),--repro-fs $(REPRO_FS)) $(VM_ARGS) -- $(REPRO_ARGS)
endif

bench: all
	FTR_BUILD=$(OUTPUT) tools/bench $(BENCH_ARGS)

# kselftest lib.mk convention: one "collection:test" line per test.
emit_tests:
	@for t in $(TESTS); do echo "file-thp-race:$$t"; done

install: all
	@test -n "$(INSTALL_PATH)" || { echo "install: INSTALL_PATH=DIR is required" >&2; exit 2; }
	mkdir -p $(INSTALL_PATH)/selftests $(INSTALL_PATH)/tools $(INSTALL_PATH)/tools/repro $(INSTALL_PATH)/runner
	install -m 0755 run_tests.sh $(INSTALL_PATH)/
	install -m 0644 runner/*.sh $(INSTALL_PATH)/runner/
	install -m 0644 settings config known-issues $(INSTALL_PATH)/
	install -m 0755 $(TEST_BINS) $(INSTALL_PATH)/selftests/
	$(if $(TOOL_BINS),install -m 0755 $(TOOL_BINS) $(INSTALL_PATH)/tools/)
	install -m 0644 tools/*.awk $(INSTALL_PATH)/tools/
	$(if $(REPRO_BINS),install -m 0755 $(REPRO_BINS) $(INSTALL_PATH)/tools/repro/)
	$(MAKE) -s --no-print-directory emit_tests > $(INSTALL_PATH)/kselftest-list.txt

clean:
	rm -rf $(OUTPUT)
