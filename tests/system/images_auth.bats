#!/usr/bin/env bats
# barge login/logout and pulls/pushes that need credentials: a registry
# with htpasswd Basic auth and one with Bearer tokens from
# tests/lib/registry/token_server.py.  The auth file is
# $DOCKER_CONFIG/config.json, in Docker's format, so credentials written by
# `docker login` work for barge and the other way round.

load images_helpers

BASIC_USER=alice
BASIC_PW='s3cr:t@pw' # a colon and an at sign: base64 of user:password must keep them
TOK_USER=tok
TOK_PW=tok-pw
RO_USER=reader
RO_PW=reader-pw

setup_file() {
	images_setup_file || return 0
	BASIC=$IMG_FILE_TMP/basic
	TOKEN=$IMG_FILE_TMP/token
	export BASIC TOKEN
	reg_start "$BASIC" --auth htpasswd --user "$BASIC_USER:$BASIC_PW"
	reg_start "$TOKEN" --auth token --user "$TOK_USER:$TOK_PW" --ro-user "$RO_USER:$RO_PW"
	images_seed "$BASIC" busybox
	images_seed "$TOKEN" busybox
	BASIC_ADDR=$(reg_addr "$BASIC")
	TOKEN_ADDR=$(reg_addr "$TOKEN")
	export BASIC_ADDR TOKEN_ADDR
}

teardown_file() {
	images_teardown_file
}

setup() {
	images_setup
	images_load_env "$BASIC"
	reg_mark "$BASIC"
	reg_mark "$TOKEN"
}

teardown() {
	images_teardown
}

auth_of() { # SERVER: the "auth" field for SERVER in the auth file
	jq -r --arg s "$1" '.auths[$s].auth // empty' "$DOCKER_CONFIG/config.json" 2>/dev/null
}

b64() { printf %s "$1" | base64 -w0; }

@test "login (Basic): Login Succeeded; config.json holds base64(user:password), mode 0600" {
	run --separate-stderr barge login -u "$BASIC_USER" -p "$BASIC_PW" "$BASIC_ADDR"
	assert_status 0
	assert_contains "$output" "Login Succeeded"
	assert_eq "$(auth_of "$BASIC_ADDR")" "$(b64 "$BASIC_USER:$BASIC_PW")" "auths[$BASIC_ADDR].auth"
	assert_eq "$(stat -c %a "$DOCKER_CONFIG/config.json")" 600 "mode of config.json"
	# the registry really was asked (GET /v2/ with the credentials)
	[ "$(reg_count "$BASIC" GET /v2/)" -ge 2 ] || fail "login did not check the credentials"
}

@test "login: a wrong password is one clear error and stores nothing" {
	# (--password-stdin: with -p, docker also warns on stderr)
	run --separate-stderr barge_stdin login -u "$BASIC_USER" --password-stdin "$BASIC_ADDR" <<<wrong
	assert_failed
	assert_error_line "$stderr" "unauthorized|incorrect|invalid|denied|authentication"
	assert_eq "$(auth_of "$BASIC_ADDR")" "" "auth stored after a failed login"
	run --separate-stderr barge_stdin login -u nobody --password-stdin "$BASIC_ADDR" <<<"$BASIC_PW"
	assert_failed
	assert_error_line "$stderr" "unauthorized|incorrect|invalid|denied|authentication"
	# a server that is not there
	reg_start "$TEST_TMP/gone"
	local port
	port=$(cat "$TEST_TMP/gone/port")
	reg_stop "$TEST_TMP/gone"
	run --separate-stderr barge_stdin login -u x --password-stdin "127.0.0.1:$port" <<<y
	assert_failed
	assert_error_line "$stderr" "127.0.0.1:$port"
}

@test "login --password-stdin; other entries and settings in config.json are kept" {
	cat >"$DOCKER_CONFIG/config.json" <<EOF
{"auths": {"other.example:5000": {"auth": "$(b64 someone:else)"}}, "psFormat": "table {{.ID}}"}
EOF
	run --separate-stderr barge_stdin login -u "$BASIC_USER" --password-stdin "$BASIC_ADDR" <<<"$BASIC_PW"
	assert_status 0
	assert_eq "$(auth_of "$BASIC_ADDR")" "$(b64 "$BASIC_USER:$BASIC_PW")"
	assert_eq "$(auth_of other.example:5000)" "$(b64 someone:else)" "the other entry"
	assert_eq "$(jq -r .psFormat "$DOCKER_CONFIG/config.json")" "table {{.ID}}" "psFormat"
	run --separate-stderr barge logout "$BASIC_ADDR"
	assert_status 0
	assert_eq "$(auth_of "$BASIC_ADDR")" "" "auth after logout"
	assert_eq "$(auth_of other.example:5000)" "$(b64 someone:else)" "the other entry after logout"
	# logging out again is not an error (docker: "Not logged in to ...")
	run --separate-stderr barge logout "$BASIC_ADDR"
	assert_status 0
}

@test "pull (Basic): refused without login, works after it, refused after logout" {
	local ref=$BASIC_ADDR/library/busybox:latest before
	before=$(store_snapshot)
	run --separate-stderr barge pull "$ref"
	assert_failed
	assert_error_line "$stderr" "unauthorized|authentication required|no basic auth credentials|denied|credentials"
	assert_store_unchanged "$before"
	barge login -u "$BASIC_USER" -p "$BASIC_PW" "$BASIC_ADDR" >/dev/null 2>&1 || fail "login failed"
	run --separate-stderr barge pull "$ref"
	assert_status 0
	assert_eq "$(inspect "$ref" .Id)" "\"$BB_ID\""
	barge logout "$BASIC_ADDR" >/dev/null 2>&1 || fail "logout failed"
	ROOT=$TEST_TMP/root2
	run --separate-stderr barge pull "$ref"
	assert_failed
}

@test "pull with the credentials docker login would have written" {
	cat >"$DOCKER_CONFIG/config.json" <<EOF
{
	"auths": {
		"$BASIC_ADDR": {
			"auth": "$(b64 "$BASIC_USER:$BASIC_PW")"
		}
	}
}
EOF
	run --separate-stderr barge pull "$BASIC_ADDR/library/busybox:latest"
	assert_status 0
	assert_eq "$(inspect "$BASIC_ADDR/library/busybox:latest" .Id)" "\"$BB_ID\""
	# and what barge login writes, skopeo (and so docker) reads
	rm "$DOCKER_CONFIG/config.json"
	barge login -u "$BASIC_USER" -p "$BASIC_PW" "$BASIC_ADDR" >/dev/null 2>&1 || fail "login failed"
	run sk inspect --tls-verify=false --authfile "$DOCKER_CONFIG/config.json" \
		"docker://$BASIC_ADDR/library/busybox:latest"
	assert_status 0
}

@test "token auth: login, pull; the token server saw the user and the pull scope" {
	local ref=$TOKEN_ADDR/library/busybox:latest before
	before=$(store_snapshot)
	run --separate-stderr barge pull "$ref"
	assert_failed
	assert_error_line "$stderr" "unauthorized|authentication required|insufficient|denied|credentials"
	assert_store_unchanged "$before"
	run --separate-stderr barge login -u "$TOK_USER" -p "$TOK_PW" "$TOKEN_ADDR"
	assert_status 0
	assert_contains "$output" "Login Succeeded"
	assert_eq "$(auth_of "$TOKEN_ADDR")" "$(b64 "$TOK_USER:$TOK_PW")"
	: >"$TOKEN/token/requests.log"
	run --separate-stderr barge pull "$ref"
	assert_status 0
	assert_eq "$(inspect "$ref" .Id)" "\"$BB_ID\""
	run jq -sc --arg u "$TOK_USER" '[.[] | select(.user == $u and .status == 200) | .scopes[]] | unique' \
		"$TOKEN/token/requests.log"
	assert_contains "$output" "repository:library/busybox:pull" "scopes asked for by the pull"
	# one token for the whole pull, not one per request
	local n
	n=$(jq -s 'length' "$TOKEN/token/requests.log")
	[ "$n" -le 2 ] || fail "$n token requests for one pull"
}

@test "token auth: a wrong password is refused at login" {
	run --separate-stderr barge_stdin login -u "$TOK_USER" --password-stdin "$TOKEN_ADDR" <<<nope
	assert_failed
	assert_error_line "$stderr" "unauthorized|incorrect|invalid|denied|authentication"
	assert_eq "$(auth_of "$TOKEN_ADDR")" ""
}

@test "token auth: push needs the push scope; a read-only user is refused, a full one pushes" {
	barge login -u "$RO_USER" -p "$RO_PW" "$TOKEN_ADDR" >/dev/null 2>&1 || fail "login as $RO_USER failed"
	run --separate-stderr barge pull "$TOKEN_ADDR/library/busybox:latest"
	assert_status 0
	local dst=$TOKEN_ADDR/team/pushed:1
	barge tag "$TOKEN_ADDR/library/busybox:latest" "$dst"
	run --separate-stderr barge push "$dst"
	assert_failed
	assert_error_line "$stderr" "denied|unauthorized|insufficient|authentication|forbidden"
	run sk inspect --tls-verify=false --creds "$TOK_USER:$TOK_PW" "docker://$dst"
	[ "$status" -ne 0 ] || fail "the refused push left an image in the registry"
	# the same push as a user with push rights
	barge login -u "$TOK_USER" -p "$TOK_PW" "$TOKEN_ADDR" >/dev/null 2>&1 || fail "login as $TOK_USER failed"
	: >"$TOKEN/token/requests.log"
	run --separate-stderr barge push "$dst"
	assert_status 0
	run sk inspect --tls-verify=false --raw --config --creds "$TOK_USER:$TOK_PW" "docker://$dst"
	assert_status 0
	assert_eq "sha256:$(printf %s "$output" | sha256sum | cut -d' ' -f1)" "$BB_ID" "config of the pushed image"
	run jq -sc --arg u "$TOK_USER" '[.[] | select(.user == $u) | .scopes[]] | unique' "$TOKEN/token/requests.log"
	assert_contains "$output" "repository:team/pushed:" "scope for the push"
	assert_contains "$output" "push" "push in the scope"
}

@test "push (Basic): refused without login, works with it" {
	barge login -u "$BASIC_USER" -p "$BASIC_PW" "$BASIC_ADDR" >/dev/null 2>&1 || fail "login failed"
	run --separate-stderr barge pull "$BASIC_ADDR/library/busybox:latest"
	assert_status 0
	barge tag "$BASIC_ADDR/library/busybox:latest" "$BASIC_ADDR/team/copy:1"
	barge logout "$BASIC_ADDR" >/dev/null 2>&1
	run --separate-stderr barge push "$BASIC_ADDR/team/copy:1"
	assert_failed
	assert_error_line "$stderr" "unauthorized|authentication required|no basic auth credentials|denied|credentials"
	barge login -u "$BASIC_USER" -p "$BASIC_PW" "$BASIC_ADDR" >/dev/null 2>&1 || fail "login failed"
	run --separate-stderr barge push "$BASIC_ADDR/team/copy:1"
	assert_status 0
	run sk inspect --tls-verify=false --creds "$BASIC_USER:$BASIC_PW" "docker://$BASIC_ADDR/team/copy:1"
	assert_status 0
}
