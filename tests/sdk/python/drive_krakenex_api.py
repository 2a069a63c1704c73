"""Kraken's `krakenex` (the client Kraken's REST docs list for Python) against the keyward testnet.

Reads {"url", "api_key", "secret", "wrong_secret"} as JSON on stdin; prints one JSON object with
what the SDK saw: server time, balance, an order placed and cancelled, a WebSocket token, a wrong
secret, an unknown key and a reused nonce refused with Kraken's messages. The SDK's base URL is
its `uri` attribute.
"""

import json
import sys

import krakenex


def api(url, key, secret):
    k = krakenex.API(key=key, secret=secret)
    k.uri = url
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
    # krakenex's nonce is the clock in milliseconds: a nonce below the last one is refused.
    stale = api(url, key, cfg["secret"])
    stale._nonce = lambda: 1
    out["stale_nonce"] = stale.query_private("Balance", timeout=10)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
