# api_helpers.bash: Engine API test helpers on top of engine_helpers.bash
# (which starts the private barged and gives api/api_status/api_body).
#
#   apij METHOD PATH [CURL ARGS]   like api, with a JSON body from $BODY
#   hijack PATH [BODY] [-- CMD...] POST PATH with "Upgrade: tcp", run CMD once
#                                  the answer's headers are in, read the
#                                  connection to its end; prints
#                                  {"status", "ctype", "frames": [[stream,
#                                  "data"], ...] (null unless multiplexed),
#                                  "raw": "all bytes after the headers"};
#                                  fails on a malformed 8-byte frame header;
#                                  with HIJACK_STDIN set, sends it and closes
#                                  the write side before CMD runs
#   frames FILE                    the same frame parse for a file (logs)
#   create_ctr JSON                POST /containers/create, prints the id

load engine_helpers

apij() {
	local m=$1 p=$2
	shift 2
	api "$m" "$p" -H 'Content-Type: application/json' --data-binary "${BODY:-}" "$@"
}

create_ctr() {
	local out
	out=$(BODY=$1 apij POST /v1.41/containers/create)
	[ "$(api_status "$out")" = 201 ] || {
		echo "create failed: $out" >&2
		return 1
	}
	api_body "$out" | jq -r .Id
}

# the frame parser both helpers use: a python3 function on bytes
_API_PY_FRAMES='
def parse_frames(b):
    out = []
    i = 0
    while i < len(b):
        if len(b) - i < 8:
            raise SystemExit("short frame header at %d: %r" % (i, b[i:]))
        st, z, n = b[i], b[i + 1:i + 4], int.from_bytes(b[i + 4:i + 8], "big")
        if st not in (0, 1, 2) or z != b"\0\0\0":
            raise SystemExit("bad frame header at %d: %r" % (i, b[i:i + 8]))
        if len(b) - i - 8 < n:
            raise SystemExit("frame at %d is cut short" % i)
        out.append([st, b[i + 8:i + 8 + n].decode("utf-8", "replace")])
        i += 8 + n
    return out
'

frames() {
	python3 -c "$_API_PY_FRAMES
import json, sys
print(json.dumps(parse_frames(open(sys.argv[1], 'rb').read())))" "$1"
}

hijack() {
	local path=$1 body=${2:-}
	shift 2 2>/dev/null || shift $#
	[ "${1:-}" = -- ] && shift
	timeout -k 2 "$E_TIMEOUT" python3 -c "$_API_PY_FRAMES
import json, os, socket, subprocess, sys
sock_path, path, body, cmd = sys.argv[1], sys.argv[2], sys.argv[3].encode(), sys.argv[4:]
s = socket.socket(socket.AF_UNIX)
s.connect(sock_path)
s.sendall(('POST %s HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n'
           'Content-Type: application/json\r\nContent-Length: %d\r\n\r\n' % (path, len(body))).encode() + body)
buf = b''
while b'\r\n\r\n' not in buf:
    d = s.recv(65536)
    if not d:
        raise SystemExit('connection closed before the headers: %r' % buf)
    buf += d
head, rest = buf.split(b'\r\n\r\n', 1)
lines = head.decode().split('\r\n')
status = int(lines[0].split()[1])
hdrs = {l.split(':', 1)[0].lower(): l.split(':', 1)[1].strip() for l in lines[1:] if ':' in l}
stdin = os.environ.get('HIJACK_STDIN')
if stdin is not None:
    s.sendall(stdin.encode())
    s.shutdown(socket.SHUT_WR)
if cmd:
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
while True:
    d = s.recv(65536)
    if not d:
        break
    rest += d
ctype = hdrs.get('content-type', '')
fr = parse_frames(rest) if status < 300 and 'multiplexed' in ctype else None
print(json.dumps({'status': status, 'ctype': ctype, 'frames': fr,
                  'raw': rest.decode('utf-8', 'replace')}))
" "$E_SOCK" "$path" "$body" "$@"
}
