#!/usr/bin/python3
"""token_server.py: a registry token server for tests, on loopback only.

The Docker/OCI "Bearer" flow: the registry answers 401 with
    WWW-Authenticate: Bearer realm="http://127.0.0.1:PORT/token",
                      service="...",scope="repository:NAME:pull"
and the client asks this server (GET with HTTP Basic credentials, or the
OAuth2 POST form docker uses with identity tokens) for a token.  We check
the credentials against a users file and answer with an RS256 JWT the
registry verifies against the certificate we wrote at start (its
auth.token.rootcertbundle).  The JWT header carries the libtrust key id of
that certificate's key ("kid"), which is how distribution v2.8 finds it.

    token_server.py --dir DIR --users FILE [--issuer I] [--service S]
                    [--port N] [--ttl SECONDS]

DIR gets: cert.pem (self-signed, for the key generated at start), port
(written once listening, atomically), requests.log (one JSON line per
request: method, user, scopes, granted, status).  FILE has lines
"user<TAB>password<TAB>rw" (all actions asked for are granted) or
"user<TAB>password<TAB>ro" (pull only).  Anonymous requests get a token with no access at all, as a
registry for private repositories would give, so an anonymous pull fails
with "insufficient_scope".

Uses python3-jwt and python3-cryptography (Debian's); run with
/usr/bin/python3 so that a pyenv python in PATH does not hide them.
"""
import argparse
import base64
import datetime
import hashlib
import http.server
import json
import os
import signal
import sys
import threading
import time
import urllib.parse
import uuid

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


def libtrust_key_id(public_key):
    """The key id docker/libtrust computes: the first 240 bits of the
    SHA-256 of the DER SubjectPublicKeyInfo, base32 without padding, in
    groups of four separated by colons."""
    der = public_key.public_bytes(serialization.Encoding.DER,
                                  serialization.PublicFormat.SubjectPublicKeyInfo)
    b32 = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode().rstrip("=")
    return ":".join(b32[i:i + 4] for i in range(0, len(b32), 4))


def make_key_and_cert(path):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "barge-test-token-issuer")])
    now = datetime.datetime.utcnow()
    cert = (x509.CertificateBuilder()
            .subject_name(name).issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    os.rename(tmp, path)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    return pem, libtrust_key_id(key.public_key())


def load_users(path):
    users = {}
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            parts = line.split("\t")
            if len(parts) < 2:
                continue
            users[parts[0]] = (parts[1], len(parts) > 2 and parts[2] == "ro")
    return users


def parse_scope(scope):
    """'repository:library/busybox:pull,push' -> (type, name, [actions])."""
    typ, _, rest = scope.partition(":")
    name, _, actions = rest.rpartition(":")
    if not typ or not name:
        return None
    return typ, name, [a for a in actions.split(",") if a]


class Handler(http.server.BaseHTTPRequestHandler):
    server_version = "barge-test-token-server/1"
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet: requests.log has what matters
        pass

    def _reply(self, status, body, extra_headers=()):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in extra_headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _record(self, **kw):
        cfg = self.server.cfg
        kw.update(method=self.command, path=self.path.split("?")[0], time=time.time())
        with cfg["log_lock"], open(cfg["log"], "a") as f:
            f.write(json.dumps(kw) + "\n")

    def _basic_user(self):
        h = self.headers.get("Authorization", "")
        if not h.lower().startswith("basic "):
            return None, None
        try:
            user, _, pw = base64.b64decode(h[6:].strip()).decode().partition(":")
        except Exception:
            return "", ""
        return user, pw

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        if u.path != "/token":
            self._reply(404, {"errors": [{"code": "NOT_FOUND", "message": "no such endpoint"}]})
            return
        q = urllib.parse.parse_qs(u.query)
        user, pw = self._basic_user()
        self._issue(q.get("service", [""])[0], q.get("scope", []), user, pw, oauth=False)

    def do_POST(self):
        # docker's OAuth2 form (grant_type=password or refresh_token)
        u = urllib.parse.urlsplit(self.path)
        n = int(self.headers.get("Content-Length", "0") or 0)
        form = urllib.parse.parse_qs(self.rfile.read(n).decode()) if n else {}
        if u.path != "/token":
            self._reply(404, {"errors": [{"code": "NOT_FOUND", "message": "no such endpoint"}]})
            return
        user = form.get("username", [None])[0]
        pw = form.get("password", [None])[0]
        if form.get("grant_type", [""])[0] == "refresh_token":
            user, pw = self.server.cfg["refresh"].get(form.get("refresh_token", [""])[0], (None, None))
            if user is None:
                user, pw = "", ""
        scopes = []
        for s in form.get("scope", []):
            scopes += s.split(" ")
        self._issue(form.get("service", [""])[0], scopes, user, pw, oauth=True)

    def _issue(self, service, scopes, user, pw, oauth):
        cfg = self.server.cfg
        if service and service != cfg["service"]:
            self._record(user=user, scopes=scopes, status=400, granted=[])
            self._reply(400, {"errors": [{"code": "DENIED", "message": "unknown service " + service}]})
            return
        readonly = False
        if user is not None:
            known = cfg["users"].get(user)
            if known is None or known[0] != pw:
                self._record(user=user, scopes=scopes, status=401, granted=[])
                self._reply(401, {"details": "incorrect username or password"},
                            [("WWW-Authenticate", 'Basic realm="barge-test-token"')])
                return
            readonly = known[1]
        access = []
        for s in scopes:
            p = parse_scope(s)
            if p is None:
                continue
            typ, name, actions = p
            if user is None:
                granted = []
            elif readonly:
                granted = [a for a in actions if a == "pull"]
            else:
                granted = actions
            access.append({"type": typ, "name": name, "actions": granted})
        now = int(time.time())
        claims = {
            "iss": cfg["issuer"], "sub": user or "", "aud": cfg["service"],
            "exp": now + cfg["ttl"], "nbf": now - 10, "iat": now,
            "jti": uuid.uuid4().hex, "access": access,
        }
        token = jwt.encode(claims, cfg["key"], algorithm="RS256",
                           headers={"kid": cfg["kid"], "typ": "JWT"})
        body = {"token": token, "access_token": token, "expires_in": cfg["ttl"],
                "issued_at": datetime.datetime.utcfromtimestamp(now).strftime("%Y-%m-%dT%H:%M:%SZ")}
        if oauth and user:
            rt = uuid.uuid4().hex
            cfg["refresh"][rt] = (user, pw)
            body["refresh_token"] = rt
        self._record(user=user, scopes=scopes, status=200, granted=access)
        self._reply(200, body)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--users", required=True)
    ap.add_argument("--issuer", default="barge-test-issuer")
    ap.add_argument("--service", default="barge-test-registry")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--ttl", type=int, default=300)
    a = ap.parse_args()

    key, kid = make_key_and_cert(os.path.join(a.dir, "cert.pem"))
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    srv.daemon_threads = True
    srv.cfg = {
        "key": key, "kid": kid, "issuer": a.issuer, "service": a.service, "ttl": a.ttl,
        "users": load_users(a.users), "log": os.path.join(a.dir, "requests.log"),
        "log_lock": threading.Lock(), "refresh": {},
    }
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    port_file = os.path.join(a.dir, "port")
    with open(port_file + ".tmp", "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(port_file + ".tmp", port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
