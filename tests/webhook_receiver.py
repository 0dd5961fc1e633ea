"""A webhook receiver for the API tests, verifying signatures with an independent
implementation: the `standardwebhooks` package (the specification's Python library).

Serves on 127.0.0.1, prints its port on the first line of stdout, and stops when its stdin
closes (when the test process that started it exits, however it exits).

- `PUT /control/<channel>` configures a channel: {"secrets": ["whsec_..."], "fail_first": N,
  "fail_status": 503}. A channel answers 401 to a request no secret verifies, then
  `fail_status` to the first N verified requests, then 200.
- `POST /hooks/<channel>` is a receiver URL.
- `GET /control/<channel>` lists what the channel received, in order: the webhook headers,
  whether the library verified the request, the parsed body and the status answered.
"""

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

try:
    from standardwebhooks.webhooks import Webhook
except Exception as e:  # pragma: no cover - reported to the test
    sys.stderr.write("cannot import standardwebhooks (pip install standardwebhooks): %r\n" % (e,))
    sys.exit(3)

LOCK = threading.Lock()
CHANNELS = {}


def channel(name):
    return CHANNELS.setdefault(
        name, {"secrets": [], "fail_first": 0, "fail_status": 503, "received": []}
    )


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, status, body):
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "text/plain" if isinstance(body, str) else "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        n = int(self.headers.get("content-length") or 0)
        return self.rfile.read(n)

    def do_PUT(self):
        parts = self.path.strip("/").split("/")
        if len(parts) != 2 or parts[0] != "control":
            return self.reply(404, "no such control")
        config = json.loads(self.body() or b"{}")
        with LOCK:
            ch = channel(parts[1])
            for key in ("secrets", "fail_first", "fail_status"):
                if key in config:
                    ch[key] = config[key]
        self.reply(204, "")

    def do_GET(self):
        parts = self.path.strip("/").split("/")
        if len(parts) != 2 or parts[0] != "control":
            return self.reply(404, "no such control")
        with LOCK:
            received = list(channel(parts[1])["received"])
        self.reply(200, {"received": received})

    def do_POST(self):
        parts = self.path.strip("/").split("/")
        if len(parts) != 2 or parts[0] != "hooks":
            return self.reply(404, "no such hook")
        raw = self.body()
        headers = {k.lower(): v for k, v in self.headers.items()}
        with LOCK:
            ch = channel(parts[1])
            secrets = list(ch["secrets"])
        verified, error, payload = False, None, None
        for secret in secrets:
            try:
                payload = Webhook(secret).verify(raw, headers)
                verified, error = True, None
                break
            except Exception as e:
                error = "%s: %s" % (type(e).__name__, e)
        if not secrets:
            error = "no secret configured for this channel"
        with LOCK:
            if not verified:
                status, text = 401, "signature not verified: %s" % error
            elif ch["fail_first"] > 0:
                ch["fail_first"] -= 1
                status, text = ch["fail_status"], "failing on purpose (%d left)" % ch["fail_first"]
            else:
                status, text = 200, "ok"
            ch["received"].append(
                {
                    "id": headers.get("webhook-id"),
                    "timestamp": headers.get("webhook-timestamp"),
                    "signature": headers.get("webhook-signature"),
                    "content_type": headers.get("content-type"),
                    "verified": verified,
                    "error": error,
                    "payload": payload,
                    "raw": raw.decode("utf-8", "replace"),
                    "status": status,
                }
            )
        self.reply(status, text)


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(server.server_address[1], flush=True)
    sys.stdin.read()
    server.shutdown()


if __name__ == "__main__":
    main()
