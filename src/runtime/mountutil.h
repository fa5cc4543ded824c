/*
 * mountutil: mount helpers shared by rootfs.c and cgroup.c.
 */
#ifndef BARGE_MOUNTUTIL_H
#define BARGE_MOUNTUTIL_H

/* The MS_* flags of the mount at `path` that a bind remount must keep: in a
 * user namespace the kernel refuses to clear them (they are locked). */
unsigned long mount_locked_flags(const char *path);

#endif
