#!/usr/bin/env bats
# The barge client (src/cli) against a private barged: every command's main
# behaviour, output laid out as docker's, exit codes (125 barge/daemon
# errors, 126/127 start errors, else the container's), one-line errors,
# and the interactive -it flow through a pseudo-terminal.

load cli_helpers
load ../lib/registry/registry

setup() {
	engine_setup
}

teardown() {
	[ -n "${E_TMP:-}" ] && reg_stop_all "$E_TMP"
	engine_teardown
}

# ---- global options ----

@test "cli: --version, --help list the command groups" {
	b_run --version
	[ "$status" -eq 0 ]
	[[ "$output" == "barge version "* ]]
	b_run --help
	[ "$status" -eq 0 ]
	for c in run ps exec logs images pull version system container image; do
		grep -q "^  $c " <<<"$output"
	done
}

@test "cli: daemon options are refused with a pointer to barged" {
	b_run --root /tmp/x images
	[ "$status" -eq 125 ]
	[[ "$stderr" == *"--root is a daemon option now: give it to barged"* ]]
	b_run --insecure-registry 127.0.0.1:5000 images
	[ "$status" -eq 125 ]
	[[ "$stderr" == *"--insecure-registry is a daemon option"* ]]
	b_run nosuchcommand
	[ "$status" -eq 125 ]
	[[ "$stderr" == *"'nosuchcommand' is not a barge command"* ]]
}

@test "cli: no daemon: one line naming the address; BARGE_HOST and DOCKER_HOST pick it" {
	run --separate-stderr timeout 20 "$BARGE" -H unix://$E_TMP/none.sock ps
	[ "$status" -eq 1 ]
	[ "$stderr" = "Cannot connect to the barge daemon at unix://$E_TMP/none.sock. Is barged running?" ]
	run env -u BARGE_HOST DOCKER_HOST=$E_HOST timeout 20 "$BARGE" ps -q
	[ "$status" -eq 0 ]
	run env BARGE_HOST=$E_HOST DOCKER_HOST=unix:///nonexistent timeout 20 "$BARGE" ps -q
	[ "$status" -eq 0 ]
}

# ---- run ----

@test "cli: run: stdout and stderr apart, the container's exit code" {
	b_run run --rm busybox sh -c 'echo out; echo err >&2; exit 3'
	[ "$status" -eq 3 ]
	[ "$output" = out ]
	[ "$stderr" = err ]
	b_run run --rm busybox true
	[ "$status" -eq 0 ]
	[ -z "$(b ps -aq)" ]
}

@test "cli: run: 127 for a missing command, 126 for a non-executable, 125 for bad flags" {
	b_run_status 127 run --rm busybox nosuchcmd
	[[ "$stderr" == "Error response from daemon: "*nosuchcmd* ]]
	[ "$(wc -l <<<"$stderr")" -eq 1 ]
	b_run run --rm busybox /etc/passwd
	[ "$status" -eq 126 ]
	b_run run --bogus busybox true
	[ "$status" -eq 125 ]
	b_run run -m 12x busybox true
	[ "$status" -eq 125 ]
	[[ "$stderr" == *'invalid argument "12x" for "--memory" flag'* ]]
	b_run run --restart sometimes busybox true
	[ "$status" -eq 125 ]
	b_run run
	[ "$status" -eq 125 ]
	b_run run --rm nosuchimage:1 true
	[ "$status" -eq 125 ]
	[[ "$stderr" == *"Unable to find image 'nosuchimage:1' locally"* ]]
	b_run run --rm --pull never nosuchimage:1 true
	[ "$status" -eq 125 ]
	[[ "$stderr" != *"Unable to find image"* ]]
	[ -z "$(b ps -aq)" ]
}

@test "cli: run: -e, --env-file, -w, -u, --entrypoint, --hostname, -l, --name" {
	printf 'A=1\n# comment\n\nFROMHOST\n' >"$E_TMP/env"
	FROMHOST=yes b_run run --rm -e X=y -e FROMHOST --env-file "$E_TMP/env" -w /tmp -u 1:2 \
		--hostname hh busybox sh -c 'echo $X $A $FROMHOST; pwd; id -u; id -g; hostname'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "y 1 yes" ]
	[ "${lines[1]}" = /tmp ]
	[ "${lines[2]}" = 1 ]
	[ "${lines[3]}" = 2 ]
	[ "${lines[4]}" = hh ]
	b_run run --rm --entrypoint echo busybox a b
	[ "$output" = "a b" ]
	b run -d --name named -l k=v -l flag busybox sleep 100 >/dev/null
	[ "$(b inspect -f '{{.Name}} {{index .Config.Labels "k"}}' named)" = "/named v" ]
	b_run run --name named busybox true
	[ "$status" -eq 125 ]
	[[ "$stderr" == "Error response from daemon: "*named* ]]
	b rm -f named
}

@test "cli: run: resource and security flags reach the container's config" {
	b create --name res -m 64m --cpus 1.5 --pids-limit 20 --cap-add NET_ADMIN --cap-drop MKNOD \
		--read-only --init --restart on-failure:3 --security-opt no-new-privileges \
		--ulimit nofile=100:200 --tmpfs /scratch:size=1m -v /tmp:/host:ro --network none \
		--stop-signal SIGUSR1 --stop-timeout 7 --log-opt max-size=1m \
		--health-cmd 'true' --health-interval 5s --health-retries 2 busybox sleep 10 >/dev/null
	run b inspect -f '{{json .HostConfig}}' res
	[ "$status" -eq 0 ]
	jq -e '.Memory == 67108864 and .NanoCpus == 1500000000 and .PidsLimit == 20 and
		.CapAdd == ["NET_ADMIN"] and .CapDrop == ["MKNOD"] and .ReadonlyRootfs and .Init and
		.RestartPolicy.Name == "on-failure" and .RestartPolicy.MaximumRetryCount == 3 and
		.SecurityOpt == ["no-new-privileges"] and .Ulimits[0].Name == "nofile" and
		.Ulimits[0].Soft == 100 and .Ulimits[0].Hard == 200 and .Tmpfs["/scratch"] == "size=1m" and
		.Binds == ["/tmp:/host:ro"] and .NetworkMode == "none" and
		.LogConfig.Config["max-size"] == "1m"' <<<"$output"
	run b inspect -f '{{json .Config}}' res
	jq -e '.StopSignal == "SIGUSR1" and .StopTimeout == 7 and
		.Healthcheck.Test == ["CMD-SHELL", "true"] and .Healthcheck.Interval == 5000000000 and
		.Healthcheck.Retries == 2' <<<"$output"
	b rm res >/dev/null
}

@test "cli: run -i passes stdin and closes it at its end; -d prints the id" {
	run bash -c "printf 'a\nb\n' | timeout 30 '$BARGE' -H '$E_HOST' run -i --rm busybox sh -c 'cat; echo done' 3>&-"
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 'a\nb\ndone')" ]
	b_run run -d busybox sleep 100
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^[0-9a-f]{64}$ ]]
	id=$output
	[ "$(b inspect -f '{{.State.Running}}' "${id:0:12}")" = true ]
	b rm -f "$id"
}

@test "cli: run -t without a terminal on stdin is refused" {
	b_run run -it --rm busybox true
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"not a TTY"* ]]
}

# ---- ps ----

@test "cli: ps: docker's table, -a, -q, -n, -l, --no-trunc, --filter, --format" {
	b run -d --name one -l tier=web busybox sleep 100 >/dev/null
	b create --name two busybox echo hello world >/dev/null
	b_run ps
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" =~ ^CONTAINER\ ID\ +IMAGE\ +COMMAND\ +CREATED\ +STATUS\ +PORTS\ +NAMES$ ]]
	[ "${#lines[@]}" -eq 2 ]
	[[ "${lines[1]}" =~ ^[0-9a-f]{12}\ +busybox\ +\"sleep\ 100\"\ +.*\ +Up\ .*\ one$ ]]
	b_run ps -a
	[ "${#lines[@]}" -eq 3 ]
	b_run ps -aq
	[ "${#lines[@]}" -eq 2 ]
	[[ "${lines[0]}" =~ ^[0-9a-f]{12}$ ]]
	b_run ps -q --no-trunc
	[[ "$output" =~ ^[0-9a-f]{64}$ ]]
	b_run ps -l --format '{{.Names}}'
	[ "$output" = two ]
	b_run ps -n 2 --format '{{.Names}}'
	[ "${#lines[@]}" -eq 2 ]
	b_run ps -a --filter name=two --format '{{.Names}} {{.State}} {{.Command}}'
	[ "$output" = 'two created "echo hello world"' ]
	b_run ps -a --filter label=tier=web --filter status=running -q
	[ "${#lines[@]}" -eq 1 ]
	b_run ps --format 'table {{.Names}}\t{{.Label "tier"}}\t{{.Image}}'
	[[ "${lines[0]}" =~ ^NAMES\ +LABEL\ +IMAGE$ ]]
	[[ "${lines[1]}" =~ ^one\ +web\ +busybox$ ]]
	b_run ps --format '{{.Nope'
	[ "$status" -ne 0 ]
	b rm -f one two
}

# ---- lifecycle ----

@test "cli: start, stop, restart, kill, wait, pause, unpause, rename, rm print the names" {
	b create --name lc busybox sleep 100 >/dev/null
	[ "$(b start lc)" = lc ]
	[ "$(b inspect -f '{{.State.Status}}' lc)" = running ]
	[ "$(b pause lc)" = lc ]
	[ "$(b inspect -f '{{.State.Status}}' lc)" = paused ]
	[ "$(b unpause lc)" = lc ]
	[ "$(b restart -t 1 lc)" = lc ]
	[ "$(b inspect -f '{{.State.Running}}' lc)" = true ]
	[ "$(b stop -t 1 lc)" = lc ]
	# sleep as pid 1 ignores SIGTERM: stop ends it with SIGKILL
	[ "$(b wait lc)" = 137 ]
	b start lc >/dev/null
	[ "$(b kill -s KILL lc)" = lc ]
	[ "$(b wait lc)" = 137 ]
	b rename lc lc2
	[ "$(b inspect -f '{{.Name}}' lc2)" = /lc2 ]
	[ "$(b rm lc2)" = lc2 ]
	b_run rm lc2
	[ "$status" -eq 1 ]
	[ "$stderr" = "Error response from daemon: No such container: lc2" ]
	b run -d --name busy busybox sleep 100 >/dev/null
	b_run rm busy
	[ "$status" -eq 1 ]
	[[ "$stderr" == "Error response from daemon: "* ]]
	[ "$(b rm -f busy)" = busy ]
}

@test "cli: errors name the object, one line, exit 1" {
	for cmd in "stop nope" "kill nope" "start nope" "logs nope" "exec nope true" "top nope" \
		"pause nope" "wait nope" "restart nope" "diff nope" "port nope"; do
		b_run $cmd
		[ "$status" -eq 1 ]
		[ "$stderr" = "Error response from daemon: No such container: nope" ]
	done
	b_run inspect nope
	[ "$status" -eq 1 ]
	[ "$stderr" = "Error: No such object: nope" ]
	b_run rmi nope
	[ "$status" -eq 1 ]
	[[ "$stderr" == "Error response from daemon: No such image: nope"* ]]
}

@test "cli: start -a attaches and exits with the container's code" {
	b create --name sa busybox sh -c 'echo from-start; exit 4' >/dev/null
	b_run start -a sa
	[ "$status" -eq 4 ]
	[ "$output" = from-start ]
	b rm sa >/dev/null
}

# ---- logs ----

@test "cli: logs: all, --tail, -t, --since, -f follows until the container exits" {
	b run --name lg busybox sh -c 'echo one; echo two >&2; echo three' >/dev/null 2>&1
	b_run logs lg
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 'one\nthree')" ]
	[ "$stderr" = two ]
	b run --name lt busybox sh -c 'echo one; echo two; echo three' >/dev/null
	b_run logs --tail 1 lt
	[ "$output" = three ]
	b_run logs --tail 2 lt
	[ "$output" = "$(printf 'two\nthree')" ]
	b_run logs -t lg
	[[ "${lines[0]}" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z\ one$ ]]
	b_run logs --since 2030-01-01T00:00:00Z lg
	[ -z "$output" ]
	b_run logs --since 10m lg
	[ "${#lines[@]}" -eq 2 ]
	b_run logs --since nonsense lg
	[ "$status" -ne 0 ]
	b run -d --name lf busybox sh -c 'echo a; sleep 1; echo b' >/dev/null
	b_run logs -f lf
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 'a\nb')" ]
	b rm lg lt lf >/dev/null
}

# ---- exec ----

@test "cli: exec: output, exit code, -e -w -u, -i stdin, -d" {
	b run -d --name ex busybox sleep 100 >/dev/null
	b_run exec ex sh -c 'echo hi; exit 5'
	[ "$status" -eq 5 ]
	[ "$output" = hi ]
	b_run exec -e K=v -w /tmp -u 3 ex sh -c 'echo $K $(pwd) $(id -u)'
	[ "$output" = "v /tmp 3" ]
	run bash -c "echo piped | timeout 30 '$BARGE' -H '$E_HOST' exec -i ex cat 3>&-"
	[ "$output" = piped ]
	b_run exec -d ex touch /tmp/detached
	[ "$status" -eq 0 ]
	wait_for b exec ex test -f /tmp/detached
	code=0
	b exec ex nosuchcmd >/dev/null 2>&1 || code=$?
	[ "$code" -eq 126 ] || [ "$code" -eq 127 ]
	b stop -t 1 ex >/dev/null
	b_run exec ex true
	[ "$status" -eq 1 ]
	[[ "$stderr" == "Error response from daemon: "*"not running"* ]]
	b rm ex >/dev/null
}

# ---- inspect ----

@test "cli: inspect: containers and images, --type, -f, -s" {
	b create --name ins busybox true >/dev/null
	run b inspect ins
	[ "$status" -eq 0 ]
	jq -e 'length == 1 and .[0].Name == "/ins" and .[0].Config.Image == "busybox"' <<<"$output"
	run b inspect busybox
	jq -e '.[0].RepoTags == ["busybox:latest"]' <<<"$output"
	[ "$(b inspect -f '{{.Config.Image}}' --type container ins)" = busybox ]
	b_run inspect --type image ins
	[ "$status" -eq 1 ]
	[ "$stderr" = "Error: No such image: ins" ]
	b_run inspect --type volume ins
	[ "$status" -eq 125 ]
	b_run inspect -f '{{.Name}}' ins busybox
	[ "${lines[0]}" = /ins ]
	run b inspect -s ins
	jq -e '.[0] | has("SizeRootFs")' <<<"$output"
	[ "$(b container inspect -f '{{.Name}}' ins)" = /ins ]
	[ "$(b image inspect -f '{{index .RepoTags 0}}' busybox)" = busybox:latest ]
	b rm ins >/dev/null
}

# ---- top, stats, diff, export, port, cp ----

@test "cli: top, stats --no-stream, diff, export, port" {
	b run -d --name tp busybox sh -c 'touch /made; sleep 100' >/dev/null
	wait_for b exec tp test -f /made
	b_run top tp
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == *PID* ]]
	grep -q 'sleep 100' <<<"$output"
	b_run stats --no-stream tp
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" =~ ^CONTAINER\ ID\ +NAME\ +CPU\ %\ +MEM\ USAGE\ /\ LIMIT\ +MEM\ %\ +NET\ I/O\ +BLOCK\ I/O\ +PIDS$ ]]
	[[ "${lines[1]}" =~ ^[0-9a-f]{12}\ +tp\ +[0-9.]+%\ + ]]
	b_run stats --no-stream --format '{{.Name}} {{.PIDs}}'
	[[ "$output" =~ ^tp\ [0-9]+$ ]]
	b_run diff tp
	grep -qx 'A /made' <<<"$output"
	b export tp >"$E_TMP/fs.tar"
	tar -tf "$E_TMP/fs.tar" | grep -qx made
	b export -o "$E_TMP/fs2.tar" tp
	tar -tf "$E_TMP/fs2.tar" | grep -qx bin/busybox
	b_run port tp
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	b rm -f tp >/dev/null
}

@test "cli: cp: host to container and back, files and directories, renames, errors" {
	b run -d --name cp1 busybox sleep 100 >/dev/null
	mkdir -p "$E_TMP/src/sub"
	echo one >"$E_TMP/src/a"
	echo two >"$E_TMP/src/sub/b"
	echo file >"$E_TMP/f"
	b cp "$E_TMP/f" cp1:/tmp/
	b cp "$E_TMP/f" cp1:/tmp/renamed
	b cp "$E_TMP/src" cp1:/tmp/dir
	[ "$(b exec cp1 cat /tmp/f /tmp/renamed /tmp/dir/a /tmp/dir/sub/b)" = "$(printf 'file\nfile\none\ntwo')" ]
	mkdir "$E_TMP/back"
	b cp cp1:/tmp/dir "$E_TMP/back/"
	[ "$(cat "$E_TMP/back/dir/sub/b")" = two ]
	b cp cp1:/tmp/dir "$E_TMP/copy"
	[ "$(cat "$E_TMP/copy/a")" = one ]
	b cp cp1:/etc/passwd "$E_TMP/pw"
	grep -q ^root: "$E_TMP/pw"
	b cp cp1:/tmp/f - | tar -xO >"$E_TMP/out"
	[ "$(cat "$E_TMP/out")" = file ]
	b_run cp cp1:/nonexistent "$E_TMP/x"
	[ "$status" -eq 1 ]
	[[ "$stderr" == "Error response from daemon: "* ]]
	b_run cp "$E_TMP/f" "$E_TMP/g"
	[ "$status" -eq 125 ]
	b rm -f cp1 >/dev/null
}

# ---- prune, container group ----

@test "cli: container subcommands, container prune" {
	b container create --name g1 busybox true >/dev/null
	[ "$(b container ls -a --format '{{.Names}}')" = g1 ]
	b container start -a g1
	b container run -d --name g2 busybox sleep 100 >/dev/null
	b_run container prune -f
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "Deleted Containers:" ]
	[[ "${lines[1]}" =~ ^[0-9a-f]{64}$ ]]
	[[ "${lines[-1]}" == "Total reclaimed space: "* ]]
	[ "$(b container ls -a --format '{{.Names}}')" = g2 ]
	# without -f: asks, and "n" keeps everything
	b stop -t 1 g2 >/dev/null
	run bash -c "echo n | timeout 30 '$BARGE' -H '$E_HOST' container prune 3>&-"
	[[ "$output" == *"Are you sure you want to continue? [y/N]"* ]]
	[ "$(b container ls -a -q | wc -l)" -eq 1 ]
	b container rm g2 >/dev/null
	b_run container frobnicate
	[ "$status" -eq 125 ]
}

# ---- system ----

@test "cli: version, info, system df, system prune" {
	b_run version
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = Client: ]
	grep -q '^Server:' <<<"$output"
	grep -q '^  API version:      1.41' <<<"$output"
	[ "$(b version --format '{{.Client.ApiVersion}} {{.Server.ApiVersion}}')" = "1.41 1.41" ]
	b_run info
	[ "$status" -eq 0 ]
	grep -q '^ Containers: 0' <<<"$output"
	grep -q '^ Images: 1' <<<"$output"
	[ "$(b info --format '{{.Images}}')" = 1 ]
	b create busybox true >/dev/null
	b_run system df
	[[ "${lines[0]}" =~ ^TYPE\ +TOTAL\ +ACTIVE\ +SIZE\ +RECLAIMABLE$ ]]
	[[ "${lines[1]}" =~ ^Images\ +1\ +1\  ]]
	[[ "${lines[2]}" =~ ^Containers\ +1\ +0\  ]]
	b_run system prune -f
	[ "$status" -eq 0 ]
	grep -q '^Deleted Containers:' <<<"$output"
	[ -z "$(b ps -aq)" ]
	[ "$(b images -q | wc -l)" -eq 1 ]
}

@test "cli: events: --since/--until replay, --filter, --format" {
	b run --rm --name evt busybox true
	b_run events --since 1m --until 0s --filter type=container --filter event=start
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "${lines[0]}" =~ ^[0-9-]+T[0-9:.]+(Z|[+-][0-9:]+)\ container\ start\ [0-9a-f]{64}\ \(.*name=evt.*\)$ ]]
	b_run events --since 1m --until 0s --format '{{.Type}} {{.Action}} {{.Actor.Attributes.name}}' --filter event=die
	[ "$output" = "container die evt" ]
	b_run events --since 1m --until 0s --filter container=nope
	[ -z "$output" ]
	# a stream ends when --until passes
	b_run events --until 2s
	[ "$status" -eq 0 ]
}

# ---- images ----

@test "cli: images, tag, history, rmi, image ls/rm/prune" {
	b_run images
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" =~ ^REPOSITORY\ +TAG\ +IMAGE\ ID\ +CREATED\ +SIZE$ ]]
	[[ "${lines[1]}" =~ ^busybox\ +latest\ +[0-9a-f]{12}\  ]]
	b tag busybox mine/bb:2
	b_run images mine/bb
	[ "${#lines[@]}" -eq 2 ]
	[[ "${lines[1]}" =~ ^mine/bb\ +2\  ]]
	[ "$(b image ls --format '{{.Repository}}:{{.Tag}}' | sort | tr '\n' ' ')" = "busybox:latest mine/bb:2 " ]
	b_run history busybox
	[[ "${lines[0]}" =~ ^IMAGE\ +CREATED\ +CREATED\ BY\ +SIZE\ +COMMENT$ ]]
	b_run rmi mine/bb:2
	[ "$output" = "Untagged: mine/bb:2" ]
	b_run image rm nope:1
	[ "$status" -eq 1 ]
	b_run image prune -f
	[ "$status" -eq 0 ]
	[[ "${lines[-1]}" == "Total reclaimed space: "* ]]
	[ "$(b images -q | wc -l)" -eq 1 ]
}

@test "cli: save, load, import through the daemon" {
	b save -o "$E_TMP/bb.tar" busybox
	tar -tf "$E_TMP/bb.tar" | grep -q manifest.json
	b rmi busybox >/dev/null
	b_run load -i "$E_TMP/bb.tar"
	[ "$status" -eq 0 ]
	[ "$output" = "Loaded image: busybox:latest" ]
	b_run load -q -i "$E_TMP/bb.tar"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	b run --name exp busybox true
	b export exp >"$E_TMP/fs.tar"
	b_run import "$E_TMP/fs.tar" imp:1
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^sha256:[0-9a-f]{64}$ ]]
	[ "$(b run --rm imp:1 echo imported)" = imported ]
	run bash -c "timeout 30 '$BARGE' -H '$E_HOST' import - imp:2 <'$E_TMP/fs.tar' 3>&-"
	[ "$status" -eq 0 ]
	b image inspect imp:2 >/dev/null
	b rm exp >/dev/null
	b_run save busybox
	[ "$status" -eq 0 ] # stdout is not a terminal here: the archive goes to it
	b_run load -i "$E_TMP/nonexistent.tar"
	[ "$status" -eq 1 ]
}

@test "cli: import --change and --message reach the image" {
	b run --name exp busybox true
	b export exp >"$E_TMP/fs.tar"
	b rm exp >/dev/null
	b_run import -c 'CMD ["echo", "imported"]' -m note "$E_TMP/fs.tar" imp:1
	echo "$stderr"
	[ "$status" -eq 0 ]
	[ "$(b run --rm imp:1)" = imported ]
	[ "$(b image inspect -f '{{.Comment}}' imp:1)" = note ]
}

@test "cli: push, pull and run of a missing image through a loopback registry" {
	reg_start "$E_TMP/reg" >/dev/null
	a=$(reg_addr "$E_TMP/reg")
	b tag busybox "$a/bb:1"
	b_run push "$a/bb:1"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "The push refers to repository [$a/bb]" ]
	[[ "${lines[-1]}" =~ ^1:\ digest:\ sha256:[0-9a-f]{64}\ size:\ [0-9]+$ ]]
	b rmi "$a/bb:1" >/dev/null
	b_run run --rm "$a/bb:1" echo ran
	[ "$status" -eq 0 ]
	[ "$output" = ran ]
	[[ "$stderr" == "Unable to find image '$a/bb:1' locally"* ]]
	grep -q "^Status: Downloaded newer image for $a/bb:1" <<<"$stderr"
	b rmi "$a/bb:1" >/dev/null
	b_run pull "$a/bb:1"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "1: Pulling from bb" ]
	grep -q '^Digest: sha256:' <<<"$output"
	[ "${lines[-1]}" = "$a/bb:1" ]
	b_run pull -q "$a/bb:1"
	[ "$output" = "$a/bb:1" ]
	b_run pull "$a/bb"
	[ "$status" -eq 1 ]
	[ "${lines[0]}" = "Using default tag: latest" ]
	[[ "$stderr" == "Error response from daemon: "* ]]
	b_run run --rm --pull always "$a/bb:1" true
	[ "$status" -eq 0 ]
	grep -q "Pulling from bb" <<<"$stderr"
}

# ---- interactive ----

@test "cli: run -it through a pty: shell, resize, ctrl-p ctrl-q detach, attach, exit code" {
	command -v python3 >/dev/null || skip "python3 needed"
	pty=$(pty_script)
	run timeout 60 python3 "$pty" \
		'expect # ;; send echo h""i\r ;; expect hi ;; size 33 111 ;; sleep 0.5 ;;' \
		'send stty size\r ;; expect 33 111 ;; send \x10\x11 ;; exit 0' \
		-- "$BARGE" -H "$E_HOST" run -it --name it busybox sh 3>&-
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(b inspect -f '{{.State.Running}}' it)" = true ]
	run timeout 60 python3 "$pty" \
		'sleep 0.5 ;; send echo ag""ain\r ;; expect again ;; send exit 7\r ;; exit 7' \
		-- "$BARGE" -H "$E_HOST" attach it 3>&-
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(b inspect -f '{{.State.ExitCode}}' it)" = 7 ]
	b rm it >/dev/null
}

@test "cli: exec -it through a pty, custom --detach-keys on run" {
	command -v python3 >/dev/null || skip "python3 needed"
	b run -d --name ei busybox sleep 100 >/dev/null
	pty=$(pty_script)
	run timeout 60 python3 "$pty" \
		'expect # ;; send tty\r ;; expect /dev/pts/ ;; send exit 3\r ;; exit 3' \
		-- "$BARGE" -H "$E_HOST" exec -it ei sh 3>&-
	echo "$output"
	[ "$status" -eq 0 ]
	run timeout 60 python3 "$pty" \
		'expect # ;; send \x01x ;; exit 0' \
		-- "$BARGE" -H "$E_HOST" run -it --detach-keys ctrl-a,x --name dk busybox sh 3>&-
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(b inspect -f '{{.State.Running}}' dk)" = true ]
	b rm -f ei dk >/dev/null
}
