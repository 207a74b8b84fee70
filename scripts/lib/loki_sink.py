"""A minimal Loki push receiver for scripts/bench: answers every POST with 204.

usage: python3 loki_sink.py PORT_FILE [SAVE_DIR]
Listens on 127.0.0.1 on a free port and writes the port to PORT_FILE. With SAVE_DIR, each
request body is saved as SAVE_DIR/NNNN.gz and the number of entries it holds is appended to
SAVE_DIR/entries, so the bench can check that every record arrived and replay the same bodies.
"""
import gzip
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Sink(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    save_dir = None
    count = 0

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if Sink.save_dir:
            Sink.count += 1
            with open(os.path.join(Sink.save_dir, "%04d.gz" % Sink.count), "wb") as f:
                f.write(body)
            payload = json.loads(gzip.decompress(body))
            entries = sum(len(s["values"]) for s in payload["streams"])
            with open(os.path.join(Sink.save_dir, "entries"), "a") as f:
                f.write("%d\n" % entries)
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def main():
    if len(sys.argv) > 2:
        Sink.save_dir = sys.argv[2]
    server = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(sys.argv[1] + ".tmp", sys.argv[1])
    server.serve_forever()


main()
