/*
 * hello: the program in barge's built-in hello-world image.  It prints a
 * greeting that says what just happened, then exits 0.
 *
 * Built by mkimage.sh as a tiny static binary: on x86_64 and aarch64 with
 * -DHELLO_NOLIBC, without any C library (raw write/exit system calls, its
 * own _start), which keeps the image a few KiB; elsewhere against the C
 * library's static archive.
 */
#define MESSAGE                                                                                    \
        "\n"                                                                                       \
        "Hello from barge!\n"                                                                      \
        "This message shows that your installation appears to be working.\n"                       \
        "\n"                                                                                       \
        "What barge did to show it:\n"                                                             \
        " 1. It found the \"hello-world\" image in its local image store (or\n"                    \
        "    loaded it from an archive; pulling works too, from any registry).\n"                  \
        " 2. It unpacked the image's single layer and made a container from it.\n"                 \
        " 3. The container ran /hello, this program, which wrote these lines.\n"                   \
        " 4. barge passed the output on to your terminal.\n"                                       \
        "\n"                                                                                       \
        "Something more ambitious: a shell in a busybox container:\n"                              \
        " $ barge run -it busybox sh\n"                                                            \
        "\n"

#if defined(HELLO_NOLIBC)

#if defined(__x86_64__)
static long sys3(long n, long a, long b, long c)
{
        long r;
        __asm__ volatile("syscall"
                         : "=a"(r)
                         : "a"(n), "D"(a), "S"(b), "d"(c)
                         : "rcx", "r11", "memory");
        return r;
}
#define SYS_WRITE 1
#define SYS_EXIT_GROUP 231
#elif defined(__aarch64__)
static long sys3(long n, long a, long b, long c)
{
        register long x8 __asm__("x8") = n;
        register long x0 __asm__("x0") = a;
        register long x1 __asm__("x1") = b;
        register long x2 __asm__("x2") = c;
        __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2) : "memory");
        return x0;
}
#define SYS_WRITE 64
#define SYS_EXIT_GROUP 94
#else
#error "HELLO_NOLIBC needs x86_64 or aarch64; build without it"
#endif

void _start(void) __attribute__((noreturn));

void _start(void)
{
        static const char msg[] = MESSAGE;
        const char *p = msg;
        long left = sizeof(msg) - 1;
        int status = 0;

        while (left > 0) {
                long n = sys3(SYS_WRITE, 1, (long)p, left);
                if (n == -4) /* EINTR */
                        continue;
                if (n <= 0) {
                        status = 1;
                        break;
                }
                p += n;
                left -= n;
        }
        for (;;)
                sys3(SYS_EXIT_GROUP, status, 0, 0);
}

#else

#include <stdio.h>

int main(void)
{
        return fputs(MESSAGE, stdout) == EOF || fflush(stdout) == EOF;
}

#endif
