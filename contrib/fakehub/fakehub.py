#!/usr/bin/env python3
"""fakehub: a local stand-in for the Hugging Face hub, for testing
`evalua models pull` without the internet. Standard library only.

Serves the repositories found under --root (ROOT/owner/name/FILES) with the
two parts of the hub API the puller uses:

  GET  /api/models/OWNER/NAME/tree/REV     file list: path, size, oid (git blob
                                           sha1), lfs {oid = sha256, size} for
                                           *.safetensors and *.bin
  GET  /OWNER/NAME/resolve/REV/PATH        the file; Range: bytes=N- answered
                                           with 206; LFS files redirect (302) to
                                           /cdn/... on --cdn-host when given
  HEAD the same

Faults for tests:
  --gated OWNER/NAME     needs "Authorization: Bearer <--token>", else 401
  --cut-after N          the first GET of each LFS file sends N body bytes of
                         the promised length, then closes the connection
  --bad-sha PATH         the tree reports a wrong sha256 for that file
  --log FILE             one JSON line per request: method, path, range, auth
Usage: fakehub.py --root DIR [--port 0] [--port-file F] [--pid-file F] ...
"""
import argparse
import hashlib
import json
import os
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

LFS_SUFFIXES = (".safetensors", ".bin")


def git_blob_sha1(data):
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class Hub:
    def __init__(self, args):
        self.args = args
        self.root = os.path.abspath(args.root)
        self.cut_done = set()
        self.lock = threading.Lock()
        self.log = open(args.log, "a", buffering=1) if args.log else None

    def repo_dir(self, owner, name):
        d = os.path.join(self.root, owner, name)
        return d if os.path.isdir(d) else None

    def tree(self, d, repo):
        out = []
        for dirpath, _, files in os.walk(d):
            for f in sorted(files):
                full = os.path.join(dirpath, f)
                rel = os.path.relpath(full, d)
                data = open(full, "rb").read()
                e = {"type": "file", "path": rel, "size": len(data), "oid": git_blob_sha1(data)}
                if rel.endswith(LFS_SUFFIXES):
                    sha = hashlib.sha256(data).hexdigest()
                    if self.args.bad_sha == rel:
                        sha = hashlib.sha256(data + b"x").hexdigest()
                    e["lfs"] = {"oid": sha, "size": len(data), "pointerSize": 134}
                out.append(e)
        out.sort(key=lambda e: e["path"])
        return out


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fakehub/1"

    def log_message(self, fmt, *a):
        pass

    def record(self):
        hub = self.server.hub
        if hub.log:
            hub.log.write(json.dumps({
                "method": self.command, "path": self.path,
                "host": self.headers.get("Host", ""),
                "range": self.headers.get("Range"),
                "auth": self.headers.get("Authorization") is not None,
            }) + "\n")

    def send_json(self, code, obj, extra=None):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def authorized(self, owner, name):
        a = self.server.hub.args
        if f"{owner}/{name}" not in (a.gated or []):
            return True
        return self.headers.get("Authorization") == f"Bearer {a.token}"

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        self.record()
        hub = self.server.hub
        path = unquote(urlsplit(self.path).path)
        parts = path.strip("/").split("/")
        # /cdn/OWNER/NAME/PATH: the redirect target of LFS files (no auth needed)
        if len(parts) >= 4 and parts[0] == "cdn":
            owner, name, rel = parts[1], parts[2], "/".join(parts[3:])
            d = hub.repo_dir(owner, name)
            return self.send_file(d, rel)
        if len(parts) >= 6 and parts[0] == "api" and parts[1] == "models" and parts[4] == "tree":
            owner, name = parts[2], parts[3]
            d = hub.repo_dir(owner, name)
            if not d:
                return self.send_json(404, {"error": "Repository not found"},
                                      {"X-Error-Code": "RepoNotFound"})
            if not self.authorized(owner, name):
                return self.send_json(401, {"error": f"Access to model {owner}/{name} is restricted. You must have access to it and be authenticated to access it. Please log in."},
                                      {"X-Error-Code": "GatedRepo"})
            return self.send_json(200, hub.tree(d, f"{owner}/{name}"))
        if len(parts) >= 5 and parts[2] == "resolve":
            owner, name, rel = parts[0], parts[1], "/".join(parts[4:])
            d = hub.repo_dir(owner, name)
            if not d:
                return self.send_json(404, {"error": "Repository not found"},
                                      {"X-Error-Code": "RepoNotFound"})
            if not self.authorized(owner, name):
                return self.send_json(401, {"error": "Invalid credentials in Authorization header"},
                                      {"X-Error-Code": "GatedRepo"})
            if rel.endswith(LFS_SUFFIXES) and hub.args.cdn_host:
                loc = f"http://{hub.args.cdn_host}:{self.server.server_address[1]}/cdn/{owner}/{name}/{rel}"
                self.send_response(302)
                self.send_header("Location", loc)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            return self.send_file(d, rel)
        self.send_json(404, {"error": "not found"})

    def send_file(self, d, rel):
        hub = self.server.hub
        full = os.path.realpath(os.path.join(d, rel)) if d else None
        if not full or not full.startswith(os.path.realpath(d) + os.sep) or not os.path.isfile(full):
            return self.send_json(404, {"error": "Entry not found"}, {"X-Error-Code": "EntryNotFound"})
        data = open(full, "rb").read()
        start = 0
        rng = self.headers.get("Range")
        if rng and rng.startswith("bytes=") and rng.endswith("-"):
            start = int(rng[6:-1])
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Type", "application/octet-stream")
        if rel.endswith(LFS_SUFFIXES):
            self.send_header("X-Linked-Size", str(len(data)))
        self.end_headers()
        if self.command == "HEAD":
            return
        cut = hub.args.cut_after
        key = (d, rel)
        with hub.lock:
            do_cut = cut is not None and rel.endswith(LFS_SUFFIXES) and key not in hub.cut_done
            if do_cut:
                hub.cut_done.add(key)
        if do_cut and cut < len(body):
            self.wfile.write(body[:cut])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return
        self.wfile.write(body)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--pid-file")
    ap.add_argument("--gated", action="append")
    ap.add_argument("--token", default="hf_fake_token")
    ap.add_argument("--cut-after", type=int)
    ap.add_argument("--bad-sha")
    ap.add_argument("--cdn-host")
    ap.add_argument("--log")
    args = ap.parse_args()
    srv = ThreadingHTTPServer((args.host, args.port), Handler)
    srv.daemon_threads = True
    srv.hub = Hub(args)
    port = srv.server_address[1]
    if args.pid_file:
        with open(args.pid_file, "w") as f:
            f.write(f"{os.getpid()}\n")
    if args.port_file:   # written last: its presence means "ready"
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{port}\n")
        os.rename(tmp, args.port_file)
    else:
        print(port, flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
