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
