/*
 * selfclone: CVE-2019-5736 defence.  A process that enters a container
 * while executing the runtime binary could be made to execve
 * /proc/self/exe, and the container could then write the host's runtime
 * binary through /proc/<pid>/exe.  So create, run and exec first re-execute
 * themselves from a sealed memfd copy: /proc/<pid>/exe then points at an
 * anonymous file whose contents the kernel refuses to change.
 *
 * The copy costs one sendfile of the binary and one execve (well under a
 * millisecond for our ~200 KiB binary), far less than runc's approach of
 * re-executing itself for every container.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../common/util.h"

#define SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

static int is_cloned(void)
{
        _cleanup_close_ int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return 0;
        int seals = fcntl(fd, F_GET_SEALS);
        return seals >= 0 && (seals & SEALS) == SEALS;
}

int rt_ensure_cloned_binary(char **argv, char **envp, struct err **e)
{
        if (is_cloned())
                return 0;
        _cleanup_close_ int src = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
        if (src < 0)
                return err_sys(e, "open /proc/self/exe");
        struct stat st;
        if (fstat(src, &st) < 0)
                return err_sys(e, "stat /proc/self/exe");
        _cleanup_close_ int mfd = memfd_create("barge-runtime", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (mfd < 0)
                return err_sys(e, "memfd_create");
        off_t left = st.st_size;
        while (left > 0) {
                ssize_t n = sendfile(mfd, src, NULL, (size_t)left);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return err_sys(e, "copy the runtime binary");
                left -= n;
        }
        if (fcntl(mfd, F_ADD_SEALS, SEALS) < 0)
                return err_sys(e, "seal the runtime binary copy");
        syscall(SYS_execveat, mfd, "", argv, envp, AT_EMPTY_PATH);
        return err_sys(e, "re-execute from the sealed copy");
}
