# registry.bash: real registries on loopback for the image tests and the
# pull benchmark: Debian's docker-registry (distribution v2.8), without auth,
# with htpasswd Basic auth, or with Bearer tokens from token_server.py.
#
# A registry is named by its directory, which holds everything it has:
#   config.yml  storage/  registry.log (its own log)  access.log (one line
#   per request, Apache combined format)  port  registry.pid
#   users ("user<TAB>password<TAB>rw|ro" lines)  htpasswd  token/ (the token server:
#   cert.pem, port, requests.log, token.pid)  proxy/ (slowproxy.py)
#
#   reg_start DIR [--auth none|htpasswd|token] [--user USER:PASS]...
#             [--ro-user USER:PASS]... [--storage-from DIR2]
#                                        start one; DIR must not exist yet.
#                                        Passwords may hold any character
#                                        but newline and tab; --ro-user may
#                                        only pull (token auth)
#   reg_addr DIR / reg_url DIR           127.0.0.1:PORT / http://127.0.0.1:PORT
#   reg_kill DIR                         SIGKILL the registry (not its token server)
#   reg_restart DIR                      start it again on the same port and storage
#   reg_stop DIR                         stop the registry, token server, proxy
#   reg_stop_all BASE                    stop every one of ours under BASE
#   reg_sync DIR                         wait until the access log has every
#                                        request made so far
#   reg_count DIR METHOD_ERE PATH_ERE    requests in the access log (since
#                                        reg_mark DIR, if called)
#   reg_blob_data DIR DIGEST             the file a blob is stored in
#   reg_proxy_start DIR [RATE]           a slow relay in front of it (slowproxy.py);
#                                        reg_proxy_addr DIR; reg_proxy_bytes DIR;
#                                        reg_proxy_rate DIR RATE
#
# Every process is started with stdio on files and fd 3 closed (so bats
# never waits on it), and recorded as "pid starttime" in a .pid file: the
# stop functions only ever signal that very process, never a reused pid.
# Ports: a new registry binds 127.0.0.1:0 and we read the port it got from
# its log, so two test runs never race for a port.

REG_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REG_PYTHON=/usr/bin/python3 # Debian's, which has python3-jwt (not a pyenv one)
REG_TIMEOUT=${REG_TIMEOUT:-20}

reg_err() { echo "registry: $*" >&2; }

# reg_proc_start PID: the process's start time (field 22 of /proc/PID/stat).
reg_proc_start() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	set -- $stat
	echo "${20}"
}

# reg_record PIDFILE PID
reg_record() {
	local st
	st=$(reg_proc_start "$2") || st=0
	echo "$2 $st" >"$1"
}

# reg_alive PIDFILE: whether the recorded process is still that process.
reg_alive() {
	local pid st
	[ -f "$1" ] || return 1
	read -r pid st <"$1" || return 1
	[ -n "$pid" ] && [ "$(reg_proc_start "$pid" 2>/dev/null)" = "$st" ] || return 1
	# a zombie is as good as gone
	[ "$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null)" != Z ]
}

reg_dead() { ! reg_alive "$1"; }

# reg_signal PIDFILE SIG: signal the recorded process if it is still it.
reg_signal() {
	local pid st
	reg_alive "$1" || return 1
	read -r pid st <"$1"
	kill -"$2" "$pid" 2>/dev/null
}

# reg_end PIDFILE: TERM, up to 5 s, then KILL; removes the pid file.
reg_end() {
	[ -f "$1" ] || return 0
	if reg_signal "$1" TERM; then
		for _ in $(seq 100); do
			reg_alive "$1" || break
			sleep 0.05
		done
		if reg_alive "$1"; then
			reg_signal "$1" KILL
			for _ in $(seq 40); do
				reg_alive "$1" || break
				sleep 0.05
			done
		fi
	fi
	rm -f "$1"
}

# reg_wait SECONDS CMD...: poll CMD every 50 ms.
reg_wait() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		[ $SECONDS -lt $deadline ] || return 1
		sleep 0.05
	done
}

reg_addr() { echo "127.0.0.1:$(cat "$1/port")"; }
reg_url() { echo "http://$(reg_addr "$1")"; }

# reg_creds DIR: "user:pass" of the first user (for skopeo --dest-creds).
reg_creds() { head -n1 "$1/users" | awk -F'\t' '{ print $1 ":" $2 }'; }

reg_write_config() {
	local d=$1 port=$2 auth
	auth=$(cat "$d/auth")
	cat >"$d/config.yml" <<EOF
version: 0.1
log:
  level: info
  formatter: text
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: $d/storage
  delete:
    enabled: true
  redirect:
    disable: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:$port
  secret: $(cat "$d/secret")
  headers:
    X-Content-Type-Options: [nosniff]
EOF
	case $auth in
	htpasswd)
		cat >>"$d/config.yml" <<EOF
auth:
  htpasswd:
    realm: barge-test-basic
    path: $d/htpasswd
EOF
		;;
	token)
		cat >>"$d/config.yml" <<EOF
auth:
  token:
    realm: http://127.0.0.1:$(cat "$d/token/port")/token
    service: barge-test-registry
    issuer: barge-test-issuer
    rootcertbundle: $d/token/cert.pem
EOF
		;;
	esac
}

# reg_launch DIR PORT: start docker-registry (PORT 0: any free one) and wait
# until /v2/ answers.
reg_launch() {
	local d=$1 port=$2 code
	reg_write_config "$d" "$port"
	: >"$d/registry.log"
	docker-registry serve "$d/config.yml" </dev/null >>"$d/access.log" 2>>"$d/registry.log" 3>&- &
	reg_record "$d/registry.pid" $!
	if ! reg_wait "$REG_TIMEOUT" reg_listening "$d"; then
		reg_err "docker-registry in $d did not start; its log:"
		tail -n 20 "$d/registry.log" >&2
		reg_end "$d/registry.pid"
		return 1
	fi
	sed -n 's/.*msg="listening on 127\.0\.0\.1:\([0-9]*\)".*/\1/p' "$d/registry.log" | tail -n1 >"$d/port"
	# ready when /v2/ answers: 200 without auth, 401 with
	if ! reg_wait "$REG_TIMEOUT" reg_answers "$d"; then
		reg_err "docker-registry in $d does not answer on $(reg_addr "$d")"
		tail -n 20 "$d/registry.log" >&2
		reg_end "$d/registry.pid"
		return 1
	fi
}

reg_listening() {
	reg_alive "$1/registry.pid" || return 2
	grep -q 'msg="listening on 127\.0\.0\.1:[0-9]*"' "$1/registry.log"
}

reg_answers() {
	local code
	code=$(curl -s -o /dev/null -w '%{http_code}' -A barge-test-ready "$(reg_url "$1")/v2/") || return 1
	[ "$code" = 200 ] || [ "$code" = 401 ]
}

reg_start() {
	local d=$1 auth=none from='' users=() u
	shift
	while [ $# -gt 0 ]; do
		case $1 in
		--auth) auth=$2; shift 2 ;;
		--user) users+=("${2%%:*}	${2#*:}	rw"); shift 2 ;;
		--ro-user) users+=("${2%%:*}	${2#*:}	ro"); shift 2 ;;
		--storage-from) from=$2; shift 2 ;;
		*) reg_err "reg_start: unknown option $1"; return 1 ;;
		esac
	done
	command -v docker-registry >/dev/null || { reg_err "docker-registry not installed"; return 1; }
	if [ -e "$d" ] && [ -n "$(ls -A "$d" 2>/dev/null)" ]; then
		reg_err "reg_start: $d is not empty"
		return 1
	fi
	mkdir -p "$d/storage"
	echo "$auth" >"$d/auth"
	head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$d/secret"
	: >"$d/access.log"
	if [ -n "$from" ]; then
		cp -a "$from/storage/." "$d/storage/"
	fi
	[ ${#users[@]} -gt 0 ] || users=("barge	barge-test-pw	rw")
	: >"$d/users"
	for u in "${users[@]}"; do echo "$u" >>"$d/users"; done
	case $auth in
	none) ;;
	htpasswd)
		: >"$d/htpasswd"
		while IFS=$'\t' read -r u pw _; do
			htpasswd -Bbn "$u" "$pw" | grep . >>"$d/htpasswd" || return 1
		done <"$d/users"
		;;
	token)
		mkdir -p "$d/token"
		"$REG_PYTHON" "$REG_LIB_DIR/token_server.py" --dir "$d/token" --users "$d/users" \
			</dev/null >"$d/token/server.log" 2>&1 3>&- &
		reg_record "$d/token/token.pid" $!
		if ! reg_wait "$REG_TIMEOUT" test -s "$d/token/port" ||
			! reg_alive "$d/token/token.pid"; then
			reg_err "token server in $d/token did not start:"
			tail -n 20 "$d/token/server.log" >&2
			reg_end "$d/token/token.pid"
			return 1
		fi
		;;
	*) reg_err "reg_start: unknown auth '$auth'"; return 1 ;;
	esac
	reg_launch "$d" 0
}

# reg_kill DIR: the registry dies at once (SIGKILL), as in a crash.
reg_kill() {
	reg_signal "$1/registry.pid" KILL
	reg_wait 5 reg_dead "$1/registry.pid"
	rm -f "$1/registry.pid"
}

reg_restart() {
	local d=$1
	reg_alive "$d/registry.pid" && { reg_err "reg_restart: $d is running"; return 1; }
	reg_launch "$d" "$(cat "$d/port")"
}

reg_stop() {
	local d=$1
	reg_end "$d/proxy/proxy.pid"
	reg_end "$d/registry.pid"
	reg_end "$d/token/token.pid"
}

# reg_stop_all BASE: every process these functions started under BASE.
reg_stop_all() {
	local f
	[ -n "$1" ] && [ -d "$1" ] || return 0
	while IFS= read -r f; do
		reg_end "$f"
	done < <(find "$1" -maxdepth 4 \( -name registry.pid -o -name token.pid -o -name proxy.pid \) 2>/dev/null)
}

# reg_sync DIR: the access log line is written after a response is sent, so
# a client may be done before its last line is there.  Make one more request
# and wait for its line.
reg_sync() {
	local mark
	mark=barge-test-sync-$RANDOM$RANDOM
	curl -s -o /dev/null -A "$mark" "$(reg_url "$1")/v2/" || return 1
	reg_wait 5 grep -qF "$mark" "$1/access.log"
}

# reg_mark DIR: from now on reg_count and reg_requests look only at requests
# made after this call (a test's own, when a file shares one registry).
reg_mark() {
	reg_sync "$1" >/dev/null 2>&1
	wc -l <"$1/access.log" >"$1/access.mark"
}

# reg_log_since_mark DIR: the access log lines after reg_mark.
reg_log_since_mark() {
	local n=0
	[ -f "$1/access.mark" ] && n=$(cat "$1/access.mark")
	tail -n +"$((n + 1))" "$1/access.log"
}

# reg_count DIR METHOD_ERE PATH_ERE: how many requests with a method
# matching METHOD_ERE (e.g. GET, 'GET|HEAD') for a path matching PATH_ERE
# (both anchored; the query string is ignored) are in the access log (since
# reg_mark).
reg_count() {
	reg_sync "$1" >/dev/null 2>&1
	reg_log_since_mark "$1" | awk -v m="^\"($2)\$" -v re="^($3)(\\?.*)?\$" '
		$6 ~ m && $7 ~ re { n++ } END { print n + 0 }'
}

# reg_requests DIR: the access log (since reg_mark) as "METHOD PATH STATUS"
# lines, without the /v2/ pings.
reg_requests() {
	reg_sync "$1" >/dev/null 2>&1
	reg_log_since_mark "$1" | awk '{ sub(/^"/, "", $6); print $6, $7, $9 }' | grep -v '^GET /v2/ ' || true
}

reg_blob_data() {
	local hex=${2#sha256:}
	echo "$1/storage/docker/registry/v2/blobs/sha256/${hex:0:2}/$hex/data"
}

# reg_proxy_start DIR [RATE]: slowproxy.py relaying to the registry, replies
# at RATE bytes/s (default 2 MiB/s).
reg_proxy_start() {
	local d=$1 rate=${2:-2097152}
	mkdir -p "$d/proxy"
	rm -f "$d/proxy/port"
	"$REG_PYTHON" "$REG_LIB_DIR/slowproxy.py" --dir "$d/proxy" --upstream "$(reg_addr "$d")" \
		--rate "$rate" </dev/null >"$d/proxy/proxy.log" 2>&1 3>&- &
	reg_record "$d/proxy/proxy.pid" $!
	if ! reg_wait "$REG_TIMEOUT" test -s "$d/proxy/port"; then
		reg_err "slowproxy in $d/proxy did not start:"
		tail -n 20 "$d/proxy/proxy.log" >&2
		reg_end "$d/proxy/proxy.pid"
		return 1
	fi
}

reg_proxy_addr() { echo "127.0.0.1:$(cat "$1/proxy/port")"; }
# reg_proxy_rate DIR RATE: change the relay's rate (bytes/s) from now on.
reg_proxy_rate() { echo "$2" >"$1/proxy/rate.tmp" && mv "$1/proxy/rate.tmp" "$1/proxy/rate"; }
reg_proxy_bytes() { cat "$1/proxy/bytes" 2>/dev/null || echo 0; }
