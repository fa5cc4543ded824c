/*
 * shim/proto: the wire protocol between barged (src/engine/shim.c) and
 * barge-shim (src/shim/), over the shim's Unix stream socket.  Private to
 * those two; both are built from the same tree, so there is no versioning.
 *
 * Every message is a frame: a 5-byte header (payload length, little-endian
 * u32, then the type byte) and the payload.  Integers in payloads are
 * little-endian.  The shim never blocks on its client: output frames that
 * do not fit its bounded send buffer are dropped (the json-file log is the
 * authoritative copy); control frames (STARTED, START_FAILED, EXIT) are
 * never dropped.
 */
#ifndef BARGE_SHIM_PROTO_H
#define BARGE_SHIM_PROTO_H

#include <stdint.h>
#include <string.h>

#define SHIM_HDR_LEN 5
/* largest payload either side sends; receivers reject bigger frames */
#define SHIM_MAX_PAYLOAD 32768

enum shim_msg {
        /* barged -> shim */
        SHIM_START = 1,       /* create and start the process (no payload) */
        SHIM_STDIN = 2,       /* bytes for the process's stdin */
        SHIM_CLOSE_STDIN = 3, /* EOF on stdin once pending input is written */
        SHIM_RESIZE = 4,      /* u32 width, u32 height: the pty's size */
        SHIM_EXIT_ACK = 5,    /* barged has the EXIT frame: the shim may exit */

        /* shim -> barged */
        SHIM_STARTED = 64,      /* u32 pid */
        SHIM_START_FAILED = 65, /* u32 errno, then the message (no NUL) */
        SHIM_STDOUT = 66,       /* output bytes */
        SHIM_STDERR = 67,       /* output bytes */
        SHIM_EXIT = 68,         /* u32 exit code, u64 finished (unix ns), u32 oom_killed */
};

static inline void shim_put_u32(unsigned char *p, uint32_t v)
{
        p[0] = (unsigned char)v;
        p[1] = (unsigned char)(v >> 8);
        p[2] = (unsigned char)(v >> 16);
        p[3] = (unsigned char)(v >> 24);
}

static inline uint32_t shim_get_u32(const unsigned char *p)
{
        return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void shim_put_u64(unsigned char *p, uint64_t v)
{
        shim_put_u32(p, (uint32_t)v);
        shim_put_u32(p + 4, (uint32_t)(v >> 32));
}

static inline uint64_t shim_get_u64(const unsigned char *p)
{
        return (uint64_t)shim_get_u32(p) | (uint64_t)shim_get_u32(p + 4) << 32;
}

/* Fill a frame header for `len` payload bytes of type `type`. */
static inline void shim_put_hdr(unsigned char *hdr, uint8_t type, uint32_t len)
{
        shim_put_u32(hdr, len);
        hdr[4] = type;
}

#endif
