"""A bot that holds no key, on a venue's private WebSocket stream through `keyward proxy`.

It opens the stream at the proxy (the proxy authenticates the venue's session), pings, subscribes
to the order channel, places an order with a plain REST request through the same proxy, and reads
the venue's push of that order. With no "rest" in the job it stops after the subscribe (the
control: the same bot straight at the venue's stream, unauthenticated). With "own_auth" it first
sends an auth message of its own (which a plain-mode proxy refuses by closing the stream).

Reads {"ws", "rest"?, "venue", "marker", "own_auth"?} as JSON on stdin; prints one JSON object
per step on stdout ({"ping"}, {"subscribe"}, {"place"}, {"push"}, or {"closed": [code, reason]}),
then {"done": true}, and waits for a line on stdin before it exits (so that the test can read
its memory).
"""

import json
import sys

from ws_orders import place
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

# A cap on one wait for the venue, against a hung proxy: not a measurement.
WAIT = 60

STREAM = {
    "bybit": {
        "ping": ({"op": "ping", "req_id": "ping-1"}, lambda m: m.get("op") == "ping"),
        "auth": {"op": "auth", "args": ["placeholder-key", 1, "placeholder-signature"]},
        "subscribe": ({"op": "subscribe", "req_id": "sub-1", "args": ["order"]},
                      lambda m: m.get("op") == "subscribe"),
        "push": lambda m: m.get("topic") == "order",
    },
    "okx": {
        "ping": ("ping", lambda m: m == "pong"),
        "auth": {"op": "login", "args": [{"apiKey": "placeholder", "passphrase": "placeholder",
                                          "timestamp": "1", "sign": "placeholder"}]},
        "subscribe": ({"op": "subscribe", "args": [{"channel": "orders", "instType": "ANY"}]},
                      lambda m: isinstance(m, dict) and m.get("event") in ("subscribe", "error")),
        "push": lambda m: isinstance(m, dict) and (m.get("arg") or {}).get("channel") == "orders"
                          and "data" in m,
    },
}


def read_until(ws, wanted):
    """The first message that `wanted` accepts (JSON, or the text itself)."""
    while True:
        text = ws.recv(timeout=WAIT)
        try:
            message = json.loads(text)
        except ValueError:
            message = text
        if wanted(message):
            return message


def out(line):
    print(json.dumps(line), flush=True)


def main():
    job = json.loads(sys.stdin.readline())
    marker = job.get("marker")  # held in memory while the test scans it
    stream = STREAM[job["venue"]]
    with connect(job["ws"], open_timeout=WAIT, close_timeout=WAIT) as ws:
        try:
            if job.get("own_auth"):
                ws.send(json.dumps(stream["auth"]))
            ping, is_pong = stream["ping"]
            ws.send(ping if isinstance(ping, str) else json.dumps(ping))
            out({"ping": read_until(ws, is_pong)})
            message, is_answer = stream["subscribe"]
            ws.send(json.dumps(message))
            out({"subscribe": read_until(ws, is_answer)})
            if job.get("rest"):
                client_order_id = "ws-pass-through-1" if job["venue"] == "bybit" else "wsPassThrough1"
                out({"place": place(job["venue"], job["rest"], client_order_id)})
                out({"push": read_until(ws, stream["push"])})
        except ConnectionClosed as e:
            frame = e.rcvd
            out({"closed": [frame.code, frame.reason] if frame else None})
    out({"done": True, "marker_len": len(marker or "")})
    sys.stdin.readline()


main()
