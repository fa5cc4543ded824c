#!/usr/bin/env bats
# The Engine API routes for containers, exec and the system
# (src/api/containers.c exec.c system.c) spoken to directly with curl on a
# private barged: status codes, JSON shapes, framing of logs/attach/exec,
# the wait handshake, events, archives, and bad input.

load api_helpers

setup() {
	engine_setup
}

teardown() {
	engine_teardown
}

V=/v1.41

@test "api: _ping answers OK with Docker's headers, GET and HEAD" {
	run curl -s -i --unix-socket "$E_SOCK" http://x/_ping
	[ "$status" -eq 0 ]
	grep -q '^HTTP/1.1 200' <<<"$output"
	grep -qi '^Api-Version: 1.41' <<<"$output"
	grep -qi '^Cache-Control: no-cache' <<<"$output"
	grep -qi '^Pragma: no-cache' <<<"$output"
	grep -qi '^Content-Type: text/plain' <<<"$output"
	[ "$(curl -s --unix-socket "$E_SOCK" http://x/_ping)" = OK ]
	run curl -s -I --unix-socket "$E_SOCK" http://x$V/_ping
	grep -q '^HTTP/1.1 200' <<<"$output"
	grep -qi '^Api-Version: 1.41' <<<"$output"
}

@test "api: /version and /info have the fields and types clients read" {
	out=$(api GET $V/version)
	[ "$(api_status "$out")" = 200 ]
	api_body "$out" | jq -e '
		.ApiVersion == "1.41" and .MinAPIVersion == "1.24" and .Os == "linux" and
		(.Version | type) == "string" and (.Arch | IN("amd64", "arm64", "386", "arm", "ppc64le", "s390x", "riscv64")) and
		(.KernelVersion | length) > 0 and (.Platform.Name | type) == "string" and
		(.Components[0].Name == "Engine") and (.Components[0].Details.ApiVersion == "1.41") and
		(.GitCommit | type) == "string" and (.BuildTime | type) == "string"'

	out=$(api GET $V/info)
	[ "$(api_status "$out")" = 200 ]
	api_body "$out" | jq -e '
		(.ID | type) == "string" and (.Containers | type) == "number" and
		(.ContainersRunning | type) == "number" and (.ContainersPaused | type) == "number" and
		(.ContainersStopped | type) == "number" and .Images >= 1 and
		.Driver == "overlay2" and (.DriverStatus | type) == "array" and
		(.Plugins.Volume | type) == "array" and (.MemoryLimit | type) == "boolean" and
		(.SwapLimit | type) == "boolean" and (.CpuCfsQuota | type) == "boolean" and
		.LoggingDriver == "json-file" and .CgroupDriver == "cgroupfs" and
		(.CgroupVersion | IN("1", "2")) and .OSType == "linux" and
		(.NCPU | type) == "number" and .NCPU > 0 and .MemTotal > 0 and
		(.DockerRootDir | type) == "string" and (.Name | length) > 0 and
		(.ServerVersion | type) == "string" and (.Runtimes["barge-runtime"].path | type) == "string" and
		.DefaultRuntime == "barge-runtime" and .Swarm.LocalNodeState == "inactive" and
		(.SecurityOptions | index("name=seccomp,profile=default")) != null and
		(.RegistryConfig.IndexConfigs["docker.io"].Secure == true) and
		(.RegistryConfig.InsecureRegistryCIDRs | type) == "array" and
		(.Warnings | type) == "array" and (.Labels | type) == "array" and
		(.OperatingSystem | type) == "string" and (.KernelVersion | length) > 0 and
		(.Architecture | length) > 0 and (.SystemTime | type) == "string"'
	[ "$(api_body "$out" | jq -r .DockerRootDir)" = "$E_ROOT" ]

	out=$(api GET $V/system/df)
	[ "$(api_status "$out")" = 200 ]
	api_body "$out" | jq -e '(.LayersSize | type) == "number" and (.Images | length) >= 1 and
		(.Images[0] | has("Id") and has("RepoTags") and has("Size") and has("Containers")) and
		(.Containers | type) == "array" and .Volumes == [] and .BuildCache == []'
}

@test "api: unknown paths and containers are 404 with a message" {
	out=$(api GET $V/no/such/path)
	[ "$(api_status "$out")" = 404 ]
	api_body "$out" | jq -e '.message | type == "string"'
	for r in "GET $V/containers/nope/json" "POST $V/containers/nope/start" \
		"POST $V/containers/nope/stop" "POST $V/containers/nope/kill" \
		"DELETE $V/containers/nope" "GET $V/containers/nope/logs?stdout=1" \
		"POST $V/containers/nope/wait" "GET $V/containers/nope/top" \
		"GET $V/containers/nope/archive?path=/" "GET $V/containers/nope/export"; do
		out=$(api $r)
		[ "$(api_status "$out")" = 404 ] || { echo "$r: $out"; false; }
		[ "$(api_body "$out" | jq -r .message)" = "No such container: nope" ] || { echo "$r: $out"; false; }
	done
	out=$(api GET $V/exec/nope/json)
	[ "$(api_status "$out")" = 404 ]
	out=$(BODY='{"Image":"nosuch"}' apij POST $V/containers/create)
	[ "$(api_status "$out")" = 404 ]
	[ "$(api_body "$out" | jq -r .message)" = "No such image: nosuch:latest" ]
}

@test "api: bad parameters and bodies are 400 and never crash barged" {
	id=$(create_ctr '{"Image":"busybox","Cmd":["true"]}')
	expect400() {
		local out
		out=$(api "$@")
		[ "$(api_status "$out")" = 400 ] || { echo "$* -> $out"; return 1; }
		api_body "$out" | jq -e '.message | length > 0' >/dev/null
	}
	expect400 GET "$V/containers/json?limit=abc"
	api_body "$(api GET "$V/containers/json?limit=abc")" | grep -q limit
	expect400 GET "$V/containers/json?filters=%7Bbad"
	expect400 POST "$V/containers/$id/stop?t=abc"
	expect400 POST "$V/containers/$id/stop?t=99999999999999999999999"
	expect400 POST "$V/containers/$id/restart?t=x"
	expect400 POST "$V/containers/$id/resize"
	expect400 POST "$V/containers/$id/resize?h=10&w=-5"
	expect400 GET "$V/containers/$id/logs"
	expect400 GET "$V/containers/$id/logs?stdout=1&since=yesterday"
	expect400 GET "$V/containers/$id/logs?stdout=1&tail=lots"
	expect400 POST "$V/containers/$id/wait?condition=bogus"
	expect400 GET "$V/containers/$id/archive"
	expect400 POST "$V/containers/$id/rename"
	expect400 GET "$V/events?since=notatime"
	expect400 POST $V/containers/create -H 'Content-Type: application/json' --data-binary '{bad'
	expect400 POST $V/containers/create -H 'Content-Type: application/json'
	expect400 POST $V/containers/create -H 'Content-Type: application/json' --data-binary '[1,2]'
	expect400 POST $V/containers/$id/update -H 'Content-Type: application/json' --data-binary '"x"'
	expect400 POST $V/containers/$id/exec -H 'Content-Type: application/json' --data-binary '{bad'
	# wrong types and huge numbers: any 4xx, and barged keeps serving
	for b in '{"Image":"busybox","Cmd":5}' '{"Image":5}' '{"Image":"busybox","Env":"x"}' \
		'{"Image":"busybox","HostConfig":{"Memory":"lots"}}' \
		'{"Image":"busybox","HostConfig":{"Memory":1e300}}' \
		'{"Image":"busybox","Cmd":[1,{}]}' '{"Image":"busybox","HostConfig":5}' \
		'{"Image":"busybox","Labels":[1]}' '{"Image":"busybox","ExposedPorts":7}'; do
		out=$(BODY=$b apij POST $V/containers/create)
		s=$(api_status "$out")
		[ "$s" -ge 400 ] && [ "$s" -lt 500 ] || { echo "$b -> $out"; false; }
	done
	out=$(api POST "$V/containers/$id/kill?signal=NOSUCHSIG")
	s=$(api_status "$out")
	[ "$s" -ge 400 ] && [ "$s" -lt 500 ]
	out=$(api GET "$V/containers/json?limit=99999999999999999999")
	[ "$(api_status "$out")" = 400 ]
	[ "$(api_status "$(api GET $V/_ping)")" = 200 ]
}

@test "api: container lifecycle: create, inspect, list, start, 304, stop, kill, rename, pause, remove" {
	out=$(BODY='{"Image":"busybox","Cmd":["sleep","300"]}' apij POST "$V/containers/create?name=api1")
	[ "$(api_status "$out")" = 201 ]
	api_body "$out" | jq -e '(.Id | test("^[0-9a-f]{64}$")) and .Warnings == []'
	id=$(api_body "$out" | jq -r .Id)
	out=$(api GET $V/containers/api1/json)
	[ "$(api_status "$out")" = 200 ]
	api_body "$out" | jq -e --arg id "$id" '.Id == $id and .Name == "/api1" and
		.State.Status == "created" and .Config.Cmd == ["sleep", "300"] and (.HostConfig | type) == "object"'
	out=$(api GET "$V/containers/json")
	api_body "$out" | jq -e --arg id "$id" 'map(select(.Id == $id)) | length == 0'
	out=$(api GET "$V/containers/json?all=1")
	api_body "$out" | jq -e --arg id "$id" 'map(select(.Id == $id)) | length == 1'
	out=$(api GET "$V/containers/json?all=1&filters=%7B%22name%22%3A%5B%22api1%22%5D%7D")
	[ "$(api_status "$out")" = 200 ]
	api_body "$out" | jq -e '.[0].Names == ["/api1"]'

	[ "$(api_status "$(api POST $V/containers/api1/start)")" = 204 ]
	[ "$(api_status "$(api POST $V/containers/api1/start)")" = 304 ]
	api_body "$(api GET $V/containers/api1/json)" | jq -e '.State.Running == true and .State.Pid > 0'
	api_body "$(api GET "$V/containers/json")" | jq -e --arg id "$id" 'map(select(.Id == $id)) | length == 1'
	out=$(api GET "$V/containers/api1/top")
	[ "$(api_status "$out")" = 200 ]
	api_body "$out" | jq -e '(.Titles | length) > 0 and (.Processes | map(join(" ")) | any(test("sleep")))'
	[ "$(api_status "$(api POST $V/containers/api1/pause)")" = 204 ]
	api_body "$(api GET $V/containers/api1/json)" | jq -e '.State.Paused == true'
	[ "$(api_status "$(api POST $V/containers/api1/unpause)")" = 204 ]
	[ "$(api_status "$(api POST "$V/containers/api1/rename?name=api2")")" = 204 ]
	api_body "$(api GET $V/containers/api2/json)" | jq -e '.Name == "/api2"'
	[ "$(api_status "$(api POST "$V/containers/api2/resize?h=40&w=100")")" = 200 ]
	out=$(api DELETE $V/containers/api2)
	[ "$(api_status "$out")" = 409 ]
	[ "$(api_status "$(api POST "$V/containers/api2/stop?t=1")")" = 204 ]
	[ "$(api_status "$(api POST "$V/containers/api2/stop?t=1")")" = 304 ]
	[ "$(api_status "$(api POST "$V/containers/api2/kill")")" = 409 ]
	[ "$(api_status "$(api POST "$V/containers/api2/restart?t=1")")" = 204 ]
	[ "$(api_status "$(api POST "$V/containers/api2/kill?signal=KILL")")" = 204 ]
	[ "$(api_status "$(api DELETE "$V/containers/api2?force=1&v=1")")" = 204 ]
	[ "$(api_status "$(api GET $V/containers/$id/json)")" = 404 ]
	# prune removes stopped ones
	id2=$(create_ctr '{"Image":"busybox","Cmd":["true"]}')
	out=$(api POST $V/containers/prune)
	[ "$(api_status "$out")" = 200 ]
	api_body "$out" | jq -e --arg id "$id2" '(.ContainersDeleted | index($id)) != null and (.SpaceReclaimed | type) == "number"'
}

@test "api: wait answers its status line at once, then the exit code" {
	id=$(create_ctr '{"Image":"busybox","Cmd":["sh","-c","exit 3"]}')
	curl -s -N --max-time 30 --unix-socket "$E_SOCK" -X POST -D "$E_TMP/wait.h" \
		-o "$E_TMP/wait.b" "http://x$V/containers/$id/wait?condition=next-exit" &
	wpid=$!
	# registered before the container starts: the headers are already here
	for i in $(seq 1 100); do
		grep -q '^HTTP/1.1 200' "$E_TMP/wait.h" 2>/dev/null && break
		sleep 0.05
	done
	grep -q '^HTTP/1.1 200' "$E_TMP/wait.h"
	grep -qi '^Content-Type: application/json' "$E_TMP/wait.h"
	[ ! -s "$E_TMP/wait.b" ]
	[ "$(api_status "$(api POST $V/containers/$id/start)")" = 204 ]
	wait "$wpid"
	jq -e '.StatusCode == 3 and .Error == null' "$E_TMP/wait.b"
	# not-running on a stopped container answers at once
	out=$(api POST "$V/containers/$id/wait?condition=not-running")
	api_body "$out" | jq -e '.StatusCode == 3'
	# removed: answers when the container is gone
	curl -s --max-time 30 --unix-socket "$E_SOCK" -X POST -o "$E_TMP/wait2.b" \
		"http://x$V/containers/$id/wait?condition=removed" &
	wpid=$!
	sleep 0.3
	[ "$(api_status "$(api DELETE $V/containers/$id)")" = 204 ]
	wait "$wpid"
	jq -e '.StatusCode == 3' "$E_TMP/wait2.b"
}

@test "api: logs are framed with 8-byte headers without a tty, raw with one; tail, since" {
	id=$(create_ctr '{"Image":"busybox","Cmd":["sh","-c","echo out1; echo err1 >&2; echo out2"]}')
	api POST $V/containers/$id/start >/dev/null
	api POST $V/containers/$id/wait >/dev/null
	curl -s --unix-socket "$E_SOCK" -D "$E_TMP/l.h" -o "$E_TMP/l.b" \
		"http://x$V/containers/$id/logs?stdout=1&stderr=1"
	grep -q '^HTTP/1.1 200' "$E_TMP/l.h"
	grep -qi 'Content-Type: application/vnd.docker.multiplexed-stream' "$E_TMP/l.h"
	run frames "$E_TMP/l.b"
	[ "$status" -eq 0 ]
	# stdout and stderr are separate pipes: only the order within one is fixed
	jq -e 'map(select(.[0] == 1) | .[1]) | join("") == "out1\nout2\n"' <<<"$output"
	jq -e 'map(select(.[0] == 2) | .[1]) | join("") == "err1\n"' <<<"$output"
	curl -s --unix-socket "$E_SOCK" -o "$E_TMP/l.b" "http://x$V/containers/$id/logs?stdout=1"
	frames "$E_TMP/l.b" | jq -e 'map(.[1]) | join("") == "out1\nout2\n"'
	# tail counts lines of the log, whatever their stream: one stream here
	oid=$(create_ctr '{"Image":"busybox","Cmd":["sh","-c","echo l1; echo l2; echo l3"]}')
	api POST $V/containers/$oid/start >/dev/null
	api POST $V/containers/$oid/wait >/dev/null
	curl -s --unix-socket "$E_SOCK" -o "$E_TMP/l.b" "http://x$V/containers/$oid/logs?stdout=1&tail=2"
	frames "$E_TMP/l.b" | jq -e 'map(.[1]) | join("") == "l2\nl3\n"'
	curl -s --unix-socket "$E_SOCK" -o "$E_TMP/l.b" "http://x$V/containers/$id/logs?stdout=1&tail=all&timestamps=1"
	frames "$E_TMP/l.b" | jq -e 'map(.[1]) | all(test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z "))'
	future=$(($(date +%s) + 3600))
	curl -s --unix-socket "$E_SOCK" -o "$E_TMP/l.b" "http://x$V/containers/$id/logs?stdout=1&since=$future.5"
	[ ! -s "$E_TMP/l.b" ]

	tid=$(create_ctr '{"Image":"busybox","Tty":true,"Cmd":["echo","tty-out"]}')
	api POST $V/containers/$tid/start >/dev/null
	api POST $V/containers/$tid/wait >/dev/null
	curl -s --unix-socket "$E_SOCK" -D "$E_TMP/l.h" -o "$E_TMP/l.b" \
		"http://x$V/containers/$tid/logs?stdout=1&stderr=1"
	grep -qi 'Content-Type: application/vnd.docker.raw-stream' "$E_TMP/l.h"
	grep -q '^tty-out' "$E_TMP/l.b"
	[ "$(head -c 1 "$E_TMP/l.b")" = t ]
}

@test "api: attach hijacks the connection and frames the output" {
	id=$(create_ctr '{"Image":"busybox","Cmd":["sh","-c","echo hello; echo oops >&2"],"AttachStdout":true,"AttachStderr":true}')
	run hijack "$V/containers/$id/attach?stream=1&stdout=1&stderr=1" "" -- \
		curl -s -f --unix-socket "$E_SOCK" -X POST "http://x$V/containers/$id/start"
	[ "$status" -eq 0 ]
	echo "$output"
	jq -e '.status == 101 and .ctype == "application/vnd.docker.multiplexed-stream"' <<<"$output"
	jq -e '.frames | map(select(.[0] == 1) | .[1]) | join("") == "hello\n"' <<<"$output"
	jq -e '.frames | map(select(.[0] == 2) | .[1]) | join("") == "oops\n"' <<<"$output"
	# logs=1 on the finished container replays its output
	run hijack "$V/containers/$id/attach?logs=1&stdout=1&stderr=1"
	[ "$status" -eq 0 ]
	jq -e '.frames | map(select(.[0] == 1) | .[1]) | join("") == "hello\n"' <<<"$output"
	out=$(api GET "$V/containers/$id/attach/ws")
	[ "$(api_status "$out")" = 501 ] || [ "$(api_status "$out")" = 400 ]
}

@test "api: attach: stdin sent and closed before the start reaches a StdinOnce container (docker run -i)" {
	id=$(create_ctr '{"Image":"busybox","Cmd":["sh","-c","cat; echo done >&2"],"OpenStdin":true,"StdinOnce":true,"AttachStdin":true,"AttachStdout":true,"AttachStderr":true}')
	E_TIMEOUT=20 HIJACK_STDIN=$'payload\n' run hijack "$V/containers/$id/attach?stream=1&stdin=1&stdout=1&stderr=1" "" -- \
		curl -s -f --unix-socket "$E_SOCK" -X POST "http://x$V/containers/$id/start"
	echo "$output"
	[ "$status" -eq 0 ]
	jq -e '.frames | map(select(.[0] == 1) | .[1]) | join("") == "payload\n"' <<<"$output"
	jq -e '.frames | map(select(.[0] == 2) | .[1]) | join("") == "done\n"' <<<"$output"
}

@test "api: exec: create, start attached (framed) and detached, inspect, 409 on a second start" {
	id=$(create_ctr '{"Image":"busybox","Cmd":["sleep","300"]}')
	api POST $V/containers/$id/start >/dev/null
	out=$(BODY='{"Cmd":["sh","-c","echo exec-out; echo exec-err >&2; exit 5"],"AttachStdout":true,"AttachStderr":true}' \
		apij POST $V/containers/$id/exec)
	[ "$(api_status "$out")" = 201 ]
	ex=$(api_body "$out" | jq -r .Id)
	[ -n "$ex" ] && [ "$ex" != null ]
	api_body "$(api GET $V/exec/$ex/json)" | jq -e --arg id "$id" '.Running == false and .ContainerID == $id'
	run hijack "$V/exec/$ex/start" '{"Detach":false,"Tty":false}'
	[ "$status" -eq 0 ]
	echo "$output"
	jq -e '.status == 101 and (.ctype | test("multiplexed"))' <<<"$output"
	jq -e '.frames | map(select(.[0] == 1) | .[1]) | join("") == "exec-out\n"' <<<"$output"
	jq -e '.frames | map(select(.[0] == 2) | .[1]) | join("") == "exec-err\n"' <<<"$output"
	api_body "$(api GET $V/exec/$ex/json)" | jq -e '.Running == false and .ExitCode == 5'
	out=$(BODY='{"Detach":true}' apij POST $V/exec/$ex/start)
	[ "$(api_status "$out")" = 409 ]

	out=$(BODY='{"Cmd":["touch","/tmp/detached"]}' apij POST $V/containers/$id/exec)
	ex2=$(api_body "$out" | jq -r .Id)
	out=$(BODY='{"Detach":true}' apij POST $V/exec/$ex2/start)
	[ "$(api_status "$out")" = 200 ]
	[ -z "$(api_body "$out")" ]
	for i in $(seq 1 50); do
		api_body "$(api GET $V/exec/$ex2/json)" | jq -e '.Running == false and .ExitCode == 0' >/dev/null && break
		sleep 0.1
	done
	api_body "$(api GET $V/exec/$ex2/json)" | jq -e '.ExitCode == 0'
	[ "$(api_status "$(api HEAD "$V/containers/$id/archive?path=/tmp/detached" -I)")" = 200 ]
	# a tty exec is raw
	out=$(BODY='{"Cmd":["echo","tty-exec"],"Tty":true,"AttachStdout":true}' apij POST $V/containers/$id/exec)
	ex3=$(api_body "$out" | jq -r .Id)
	run hijack "$V/exec/$ex3/start" '{"Tty":true}'
	[ "$status" -eq 0 ]
	jq -e '(.ctype | test("raw-stream")) and (.raw | test("tty-exec"))' <<<"$output"
	[ "$(api_status "$(api POST "$V/exec/$ex3/resize?h=x&w=1")")" = 400 ]
	# exec in a stopped container: 409
	api POST "$V/containers/$id/kill" >/dev/null
	api POST "$V/containers/$id/wait" >/dev/null
	out=$(BODY='{"Cmd":["true"]}' apij POST $V/containers/$id/exec)
	[ "$(api_status "$out")" = 409 ]
}

@test "api: events stream has create, start and die; filters apply" {
	t0=$(date +%s.%N)
	id=$(create_ctr '{"Image":"busybox","Cmd":["true"]}')
	api POST $V/containers/$id/start >/dev/null
	api POST $V/containers/$id/wait >/dev/null
	t1=$(($(date +%s) + 1))
	out=$(api GET "$V/events?since=$t0&until=$t1")
	[ "$(api_status "$out")" = 200 ]
	body=$(api_body "$out")
	for a in create start die; do
		jq -e -s --arg id "$id" --arg a "$a" \
			'map(select(.Type == "container" and .Action == $a and .Actor.ID == $id)) | length == 1' <<<"$body"
	done
	jq -e -s 'map(select(.Action == "die")) | .[0].Actor.Attributes.exitCode == "0"' <<<"$body"
	f=$(jq -rn '{event: ["die"]} | @uri')
	out=$(api GET "$V/events?since=$t0&until=$t1&filters=$f")
	api_body "$out" | jq -e -s 'length >= 1 and all(.Action == "die")'
	# a live subscriber sees new events
	curl -s -N --max-time 10 --unix-socket "$E_SOCK" -o "$E_TMP/ev" "http://x$V/events" &
	epid=$!
	sleep 0.5
	id2=$(create_ctr '{"Image":"busybox","Cmd":["true"]}')
	for i in $(seq 1 50); do
		grep -q "$id2" "$E_TMP/ev" 2>/dev/null && break
		sleep 0.1
	done
	kill "$epid" 2>/dev/null
	wait "$epid" 2>/dev/null || true
	grep "$id2" "$E_TMP/ev" | jq -e 'select(.Action == "create")'
}

@test "api: archive: PUT a tar, HEAD/GET stat header, GET it back; export is a tar" {
	id=$(create_ctr '{"Image":"busybox","Cmd":["sleep","300"]}')
	api POST $V/containers/$id/start >/dev/null
	mkdir -p "$E_TMP/src/d"
	echo payload >"$E_TMP/src/d/f.txt"
	tar -C "$E_TMP/src" -cf "$E_TMP/in.tar" d
	out=$(api PUT "$V/containers/$id/archive?path=/tmp" -H 'Content-Type: application/x-tar' \
		--data-binary @"$E_TMP/in.tar")
	[ "$(api_status "$out")" = 200 ]
	curl -s -I --unix-socket "$E_SOCK" "http://x$V/containers/$id/archive?path=/tmp/d/f.txt" >"$E_TMP/h"
	grep -q '^HTTP/1.1 200' "$E_TMP/h"
	stat=$(grep -i '^X-Docker-Container-Path-Stat:' "$E_TMP/h" | cut -d' ' -f2 | tr -d '\r' | base64 -d)
	jq -e '.name == "f.txt" and .size == 8 and (.mode | type) == "number" and (.mtime | type) == "string"' <<<"$stat"
	curl -s --unix-socket "$E_SOCK" -D "$E_TMP/h" -o "$E_TMP/out.tar" "http://x$V/containers/$id/archive?path=/tmp/d"
	grep -qi '^Content-Type: application/x-tar' "$E_TMP/h"
	grep -qi '^X-Docker-Container-Path-Stat:' "$E_TMP/h"
	mkdir "$E_TMP/out"
	tar -C "$E_TMP/out" -xf "$E_TMP/out.tar"
	[ "$(cat "$E_TMP/out/d/f.txt")" = payload ]
	out=$(api HEAD "$V/containers/$id/archive?path=/nope" -I)
	[ "$(api_status "$out")" = 404 ]
	out=$(api PUT "$V/containers/$id/archive?path=/nonexistent" --data-binary @"$E_TMP/in.tar")
	[ "$(api_status "$out")" = 404 ]
	out=$(api GET "$V/containers/$id/changes")
	[ "$(api_status "$out")" = 200 ]
	api_body "$out" | jq -e 'map(select(.Path == "/tmp/d")) | length == 1'
	curl -s --unix-socket "$E_SOCK" -D "$E_TMP/h" -o "$E_TMP/exp.tar" "http://x$V/containers/$id/export"
	grep -q '^HTTP/1.1 200' "$E_TMP/h"
	tar -tf "$E_TMP/exp.tar" | grep -qE '^(\./)?bin/busybox$'
	tar -tf "$E_TMP/exp.tar" | grep -qE '^(\./)?tmp/d/f.txt$'
}

@test "api: stats one-shot and streaming, update" {
	id=$(create_ctr '{"Image":"busybox","Cmd":["sleep","300"]}')
	api POST $V/containers/$id/start >/dev/null
	out=$(api GET "$V/containers/$id/stats?stream=false&one-shot=true")
	[ "$(api_status "$out")" = 200 ]
	api_body "$out" | jq -e '(.read | type) == "string" and (.cpu_stats | type) == "object" and
		(.precpu_stats | type) == "object" and (.memory_stats | type) == "object" and
		(.pids_stats | type) == "object" and .id != null'
	out=$(api GET "$V/containers/$id/stats?stream=false")
	api_body "$out" | jq -e '.precpu_stats.cpu_usage.total_usage > 0 or .precpu_stats.system_cpu_usage > 0'
	curl -s -N --max-time 3 --unix-socket "$E_SOCK" "http://x$V/containers/$id/stats" >"$E_TMP/st" || true
	[ "$(wc -l <"$E_TMP/st")" -ge 2 ]
	jq -e -s 'length >= 2 and all(has("cpu_stats"))' "$E_TMP/st"
	out=$(BODY='{"RestartPolicy":{"Name":"on-failure","MaximumRetryCount":2}}' apij POST $V/containers/$id/update)
	[ "$(api_status "$out")" = 200 ]
	api_body "$out" | jq -e '(.Warnings | type) == "array"'
	api_body "$(api GET $V/containers/$id/json)" | jq -e '.HostConfig.RestartPolicy.Name == "on-failure"'
}
