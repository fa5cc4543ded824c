#!/usr/bin/env bats
# Compatibility: the real clients drive barged unchanged: the docker CLI
# (Debian's docker.io), the Docker SDK for Python (python3-docker) and
# docker-compose (Debian's, v1).  Each test has a private barged
# (engine_helpers.bash); pulls come from a docker-registry on loopback.

load engine_helpers
load ../lib/registry/registry

setup() {
	command -v docker >/dev/null || skip "docker CLI not installed"
	engine_setup
	export DOCKER_CONFIG=$E_TMP/docker-config
	mkdir -p "$DOCKER_CONFIG"
}

teardown() {
	[ -n "${REG:-}" ] && reg_stop "$REG"
	engine_teardown
}

D() { timeout -k 5 "$E_TIMEOUT" docker "$@" </dev/null 3>&-; }

# a registry on loopback with busybox in it, its address in $addr (not in
# a subshell: teardown must see $REG to stop it)
registry_with_busybox() {
	REG=$E_TMP/registry
	reg_start "$REG" >/dev/null || return 1
	addr=$(reg_addr "$REG")
	skopeo copy -q --dest-tls-verify=false "docker-archive:$BARGE_BUILD/busybox.tar" \
		"docker://$addr/library/busybox:1.0" >/dev/null 3>&- || return 1
}

@test "docker CLI: version and info talk to barged" {
	run D version --format '{{.Server.APIVersion}}'
	[ "$status" -eq 0 ]
	[ "$output" = "1.41" ]
	run D info --format '{{.Driver}} {{.LoggingDriver}}'
	[ "$status" -eq 0 ]
	[ "$output" = "overlay2 json-file" ]
}

@test "docker CLI: run, ps, logs, inspect, stop, rm" {
	run D run --rm busybox echo hello from docker
	[ "$status" -eq 0 ]
	[ "$output" = "hello from docker" ]
	run D run --rm busybox sh -c 'exit 3'
	[ "$status" -eq 3 ]

	id=$(D run -d --name web busybox sh -c 'echo started; exec sleep 600')
	[ ${#id} -eq 64 ]
	run D ps --format '{{.Names}} {{.Image}}'
	[ "$status" -eq 0 ]
	[ "$output" = "web busybox" ]
	for i in $(seq 1 50); do
		D logs web | grep -q started && break
		sleep 0.1
	done
	run D logs web
	[ "$output" = "started" ]
	run D inspect -f '{{.State.Running}} {{.Name}} {{.Config.Image}}' web
	[ "$output" = "true /web busybox" ]
	run D stop -t 1 web
	[ "$status" -eq 0 ]
	run D inspect -f '{{.State.Status}} {{.State.ExitCode}}' web
	[ "$output" = "exited 137" ] || [ "$output" = "exited 143" ]
	run D rm web
	[ "$status" -eq 0 ]
	run D ps -a -q
	[ -z "$output" ]
	run D inspect web
	[ "$status" -ne 0 ]
	[[ "$output" == *"No such"*"web"* ]]
}

@test "docker CLI: exec, cp both ways" {
	D run -d --name box busybox sleep 600 >/dev/null
	run D exec box sh -c 'echo in-exec; exit 4'
	[ "$status" -eq 4 ]
	[ "$output" = "in-exec" ]
	echo payload >"$E_TMP/in.txt"
	run D cp "$E_TMP/in.txt" box:/tmp/in.txt
	[ "$status" -eq 0 ]
	run D exec box cat /tmp/in.txt
	[ "$output" = "payload" ]
	D exec box sh -c 'echo from-container >/tmp/out.txt'
	run D cp box:/tmp/out.txt "$E_TMP/out.txt"
	[ "$status" -eq 0 ]
	[ "$(cat "$E_TMP/out.txt")" = "from-container" ]
	D rm -f box >/dev/null
}

@test "docker CLI: pull, images, tag, rmi" {
	registry_with_busybox
	run D pull "$addr/library/busybox:1.0"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Downloaded newer image"* ]] || [[ "$output" == *"Image is up to date"* ]]
	run D images --format '{{.Repository}}:{{.Tag}}'
	[[ "$output" == *"$addr/library/busybox:1.0"* ]]
	run D tag "$addr/library/busybox:1.0" mine:2
	[ "$status" -eq 0 ]
	run D run --rm mine:2 echo tagged
	[ "$output" = "tagged" ]
	run D rmi mine:2 "$addr/library/busybox:1.0"
	[ "$status" -eq 0 ]
	run D images --format '{{.Repository}}:{{.Tag}}'
	[[ "$output" != *"mine"* ]]
}

@test "docker CLI: errors are docker's" {
	run D start nosuchthing
	[ "$status" -ne 0 ]
	[[ "$output" == *"No such container: nosuchthing"* ]]
	run -127 D run --rm busybox /no/such/binary
	[[ "$output" == *'exec: "/no/such/binary": stat /no/such/binary: no such file or directory'* ]]
	run -126 D run --rm busybox /etc/passwd
	[[ "$output" == *'permission denied'* ]]
	run -0 D ps -a -q
	[ -z "$output" ]
	D create --name holder busybox true >/dev/null
	run D rmi busybox:latest
	[ "$status" -ne 0 ]
	[[ "$output" == *"conflict"* ]]
}

@test "Docker SDK for Python: run, logs, exec, images, pull" {
	registry_with_busybox
	run timeout 120 /usr/bin/python3 - "$E_HOST" "$addr" <<'PY'
import sys, docker
c = docker.DockerClient(base_url=sys.argv[1])
assert c.ping()
out = c.containers.run("busybox", ["echo", "hi from python"], remove=True)
assert out == b"hi from python\n", out
ctr = c.containers.run("busybox", ["sh", "-c", "echo ready; sleep 600"], detach=True, name="py")
ctr.reload()
assert ctr.status == "running", ctr.status
r = ctr.exec_run(["sh", "-c", "echo exec-out; exit 2"])
assert r.exit_code == 2 and r.output == b"exec-out\n", r
import time
for _ in range(50):
    if b"ready" in ctr.logs():
        break
    time.sleep(0.1)
assert ctr.logs() == b"ready\n", ctr.logs()
assert [x.name for x in c.containers.list()] == ["py"]
ctr.stop(timeout=1)
ctr.remove()
img = c.images.pull(sys.argv[2] + "/library/busybox", tag="1.0")
assert sys.argv[2] + "/library/busybox:1.0" in img.tags, img.tags
assert any("busybox:latest" in t for i in c.images.list() for t in i.tags)
c.images.remove(sys.argv[2] + "/library/busybox:1.0")
print("ok")
PY
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = "ok" ]
}

@test "docker-compose: up, ps, logs, down" {
	command -v docker-compose >/dev/null || skip "docker-compose not installed"
	mkdir "$E_TMP/app"
	cat >"$E_TMP/app/docker-compose.yml" <<'YML'
version: "3"
services:
  web:
    image: busybox
    command: sh -c 'echo web up; exec sleep 600'
    network_mode: none
  worker:
    image: busybox
    command: sh -c 'echo worker up; exec sleep 600'
    network_mode: none
YML
	cd "$E_TMP/app"
	run timeout 120 docker-compose -p app up -d
	echo "$output"
	[ "$status" -eq 0 ]
	run timeout 60 docker-compose -p app ps
	echo "$output"
	[[ "$output" == *"app_web_1"*"Up"* ]]
	[[ "$output" == *"app_worker_1"*"Up"* ]]
	for i in $(seq 1 50); do
		timeout 60 docker-compose -p app logs --no-color worker | grep -q "worker up" && break
		sleep 0.1
	done
	run timeout 60 docker-compose -p app logs --no-color
	[[ "$output" == *"web up"* ]]
	[[ "$output" == *"worker up"* ]]
	run timeout 120 docker-compose -p app down -t 1
	echo "$output"
	[ "$status" -eq 0 ]
	run D ps -a -q
	[ -z "$output" ]
}
