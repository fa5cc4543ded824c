# The built-in hello-world image: $(BUILD)/hello-world.tar, a docker-archive
# (`barge load -i build/hello-world.tar` gives hello-world:latest with no
# network).  src/hello/mkimage.sh compiles src/hello/hello.c as a tiny
# static binary (no libc on x86_64/aarch64) and packs it reproducibly.
# Include this after the `all:` rule, so that it does not become the
# default goal:   include mk/hello.mk
HELLO_TAR := $(BUILD)/hello-world.tar

all: $(HELLO_TAR)

$(HELLO_TAR): src/hello/hello.c src/hello/mkimage.sh
	@mkdir -p $(dir $@)
	CC="$(CC)" sh src/hello/mkimage.sh $@

# busybox:latest (Cmd ["sh"]) from Debian's busybox-static: the image the
# engine's tests, the demo and bench/run.sh run (tests/lib/mkbusybox.sh).
BUSYBOX_TAR := $(BUILD)/busybox.tar
all: $(BUSYBOX_TAR)
$(BUSYBOX_TAR): tests/lib/mkbusybox.sh tests/lib/mkrootfs.sh
	@mkdir -p $(dir $@)
	sh tests/lib/mkbusybox.sh $@
