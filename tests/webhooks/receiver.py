"""A case system's webhook receiver for tests/api/webhooks.rs, on loopback.

Verifies every delivery with the Standard Webhooks reference library (`standardwebhooks`, pinned
in scripts/webhook-tools), an implementation independent of ours, and takes each `webhook-id`
once: a delivery seen before is answered 200 again but not taken. Writes one JSON line per request
to the log file: {"id", "verified", "taken", "body"}.

Usage: receiver.py PORT SECRET LOGFILE
"""
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

port, secret, log_path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
webhook = Webhook(secret)
taken = set()


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        headers = {k.lower(): v for k, v in self.headers.items()}
        delivery_id = headers.get("webhook-id", "")
        try:
            webhook.verify(body, headers)
            verified = True
        except WebhookVerificationError:
            verified = False
        first = verified and delivery_id not in taken
        if first:
            taken.add(delivery_id)
        with open(log_path, "a", encoding="utf-8") as log:
            log.write(json.dumps({"id": delivery_id, "verified": verified, "taken": first,
                                  "body": body.decode("utf-8", "replace")}) + "\n")
        self.send_response(204 if verified else 400)
        self.end_headers()

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
print("ready", flush=True)
server.serve_forever()
