"""A bot that signs nothing: plain `requests` calls through `keyward proxy`.

It holds no API key and no secret (its environment has none, and it is given none): it places a
limit order and cancels it on one venue, at the venue's own paths, through the proxy, and prints
what it saw. Reads {"url", "venue", "rounds"} as JSON on stdin; prints one JSON object per round
on stdout ({"place": [status, body, refusal], "cancel": [status, body, refusal]}, where refusal
is the proxy's `X-Keyward-Refusal` header or null), then {"done": true}, and waits for a line on
stdin before it exits (so that the test can read its memory).
"""

import json
import sys

import requests


def seen(r):
    """[status, body, the proxy's refusal kind or None]."""
    return [r.status_code, r.json(), r.headers.get("X-Keyward-Refusal")]


def binance(s, url):
    r = s.post(url + "/api/v3/order", data={"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT",
               "timeInForce": "GTC", "quantity": "0.01", "price": "20000"})
    placed = seen(r)
    order_id = r.json().get("orderId")
    r = s.delete(url + "/api/v3/order", params={"symbol": "BTCUSDT", "orderId": str(order_id)})
    return placed, seen(r)


def bybit(s, url):
    r = s.post(url + "/v5/order/create", json={"category": "spot", "symbol": "BTCUSDT", "side": "Buy",
               "orderType": "Limit", "qty": "0.01", "price": "20000"})
    placed = seen(r)
    order_id = (r.json().get("result") or {}).get("orderId")
    r = s.post(url + "/v5/order/cancel", json={"category": "spot", "symbol": "BTCUSDT", "orderId": order_id})
    return placed, seen(r)


def okx(s, url):
    r = s.post(url + "/api/v5/trade/order", json={"instId": "BTC-USDT", "tdMode": "cash", "side": "buy",
               "ordType": "limit", "sz": "0.01", "px": "20000"})
    placed = seen(r)
    data = r.json().get("data") or [{}]
    r = s.post(url + "/api/v5/trade/cancel-order", json={"instId": "BTC-USDT", "ordId": data[0].get("ordId")})
    return placed, seen(r)


def kraken(s, url):
    r = s.post(url + "/0/private/AddOrder", data={"pair": "XBTUSD", "type": "buy", "ordertype": "limit",
               "volume": "0.01", "price": "20000"})
    placed = seen(r)
    txid = ((r.json().get("result") or {}).get("txid") or [None])[0]
    r = s.post(url + "/0/private/CancelOrder", data={"txid": txid})
    return placed, seen(r)


def main():
    job = json.loads(sys.stdin.readline())
    venue = {"binance": binance, "bybit": bybit, "okx": okx, "kraken": kraken}[job["venue"]]
    with requests.Session() as s:
        s.trust_env = False  # no proxy variables, no .netrc: loopback only
        if job.get("token"):
            s.headers["Proxy-Authorization"] = "Bearer " + job["token"]
        for _ in range(job.get("rounds", 1)):
            placed, cancelled = venue(s, job["url"])
            print(json.dumps({"place": placed, "cancel": cancelled}), flush=True)
    print(json.dumps({"done": True}), flush=True)
    sys.stdin.readline()


main()
