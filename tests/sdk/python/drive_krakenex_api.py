"""Kraken's `krakenex` (the client Kraken's REST docs list for Python) against the keyward testnet.

Reads {"url", "api_key", "secret", "wrong_secret"} as JSON on stdin; prints one JSON object with
what the SDK saw: server time, balance, an order placed and cancelled, a WebSocket token, a wrong
secret, an unknown key and a reused nonce refused with Kraken's messages. The SDK's base URL is
its `uri` attribute.
"""

import json
import sys
import time

import krakenex

_last_nonce = 0


def increasing_nonce():
    """krakenex's default nonce is the clock in milliseconds, so two calls within one millisecond
    send the same nonce and Kraken (and the testnet) refuse the second: the test would then pass or
    fail by the machine's speed. `API._nonce` is krakenex's hook for a nonce source ("an
    always-increasing unsigned integer"); this one is the clock in milliseconds, made strictly
    increasing, and shared by every API object of this key."""
    global _last_nonce
    _last_nonce = max(_last_nonce + 1, int(1000 * time.time()))
    return _last_nonce


def api(url, key, secret):
    k = krakenex.API(key=key, secret=secret)
    k.uri = url
    k._nonce = increasing_nonce
    return k


def main():
    cfg = json.load(sys.stdin)
    url, key = cfg["url"], cfg["api_key"]
    k = api(url, key, cfg["secret"])
    out = {}
    t = k.query_public("Time", timeout=10)
    out["time"] = {"error": t["error"], "unixtime": t["result"]["unixtime"]}
    b = k.query_private("Balance", timeout=10)
    out["balance"] = {"error": b["error"]}
    o = k.query_private(
        "AddOrder",
        {"pair": "XBTUSD", "type": "buy", "ordertype": "market", "volume": "0.001"},
        timeout=10,
    )
    out["order"] = {"error": o["error"], "txid": o["result"]["txid"]}
    c = k.query_private("CancelOrder", {"txid": o["result"]["txid"][0]}, timeout=10)
    out["cancel"] = {"error": c["error"], "count": c["result"]["count"]}
    w = k.query_private("GetWebSocketsToken", timeout=10)
    out["ws_token"] = {"error": w["error"], "has_token": bool(w["result"].get("token"))}
    out["wrong_secret"] = api(url, key, cfg["wrong_secret"]).query_private("Balance", timeout=10)
    out["unknown_key"] = api(url, "nobody", cfg["secret"]).query_private("Balance", timeout=10)
    # A nonce below the last one is refused.
    stale = api(url, key, cfg["secret"])
    stale._nonce = lambda: 1
    out["stale_nonce"] = stale.query_private("Balance", timeout=10)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
