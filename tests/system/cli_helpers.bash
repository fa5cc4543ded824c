# cli_helpers.bash: the barge client's system tests (cli.bats) run against a
# private barged from engine_helpers.bash; `b` is the client (timeout, no
# stdin), `bi` the same with stdin.  Also the pseudo-terminal driver for
# the interactive tests.

load engine_helpers

# b_run ARGS: `run` with stdout and stderr apart ($output / $stderr)
b_run() {
	run --separate-stderr timeout -k 5 "$E_TIMEOUT" "$BARGE" -H "$E_HOST" "$@" </dev/null 3>&-
}

# b_run_status N ARGS: b_run that expects exit status N (bats' `run -N`;
# needed for 127, which plain `run` treats as "command not found")
b_run_status() {
	local n=$1
	shift
	run "-$n" --separate-stderr timeout -k 5 "$E_TIMEOUT" "$BARGE" -H "$E_HOST" "$@" </dev/null 3>&-
}

# wait_for CMD...: retry CMD for up to 10 s
wait_for() {
	local i
	for i in $(seq 1 100); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

# pty_script: writes the pseudo-terminal driver to $E_TMP/clipty.py and echoes
# its path.  Usage: python3 clipty.py SCRIPT -- COMMAND...; SCRIPT is a list
# of steps separated by ';;':
#   send TEXT      type TEXT (\r \x10 escapes as in Python)
#   expect TEXT    wait up to 15 s for TEXT in the output
#   size ROWS COLS set the window size (SIGWINCH to the client)
#   sleep SECS
#   exit CODE      wait up to 15 s for the command to exit with CODE
pty_script() {
	cat >"$E_TMP/clipty.py" <<'PY'
import codecs, fcntl, os, pty, select, struct, sys, termios, time
sep = sys.argv.index("--")
steps = [s.strip() for s in " ".join(sys.argv[1:sep]).split(";;") if s.strip()]
cmd = sys.argv[sep + 1:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(cmd[0], cmd)
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
buf = b""
def pump(t):
    global buf
    r, _, _ = select.select([fd], [], [], t)
    if r:
        try:
            d = os.read(fd, 4096)
        except OSError:
            d = b""
        buf += d
        return len(d) > 0
    return True
for step in steps:
    op, _, arg = step.partition(" ")
    if op == "send":
        os.write(fd, codecs.decode(arg, "unicode_escape").encode("latin-1"))
    elif op == "expect":
        end = time.time() + 15
        while arg.encode() not in buf:
            if time.time() > end or not pump(0.2):
                sys.exit("expected %r, got %r" % (arg, buf))
        buf = buf[buf.index(arg.encode()) + len(arg):]
    elif op == "size":
        rows, cols = map(int, arg.split())
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    elif op == "sleep":
        time.sleep(float(arg))
    elif op == "exit":
        end = time.time() + 15
        while True:
            p, st = os.waitpid(pid, os.WNOHANG)
            if p:
                code = os.waitstatus_to_exitcode(st)
                if code != int(arg):
                    sys.exit("exit code %d, wanted %s; output %r" % (code, arg, buf))
                break
            if time.time() > end:
                os.kill(pid, 9)
                sys.exit("the command did not exit; output %r" % buf)
            pump(0.1)
print("pty ok")
PY
	echo "$E_TMP/clipty.py"
}
