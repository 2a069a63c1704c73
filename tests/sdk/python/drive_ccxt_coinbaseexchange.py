"""ccxt's `coinbaseexchange` (Coinbase Exchange) against the keyward testnet.

Coinbase publishes no Python SDK for Exchange on PyPI; ccxt, the reference multi-venue library,
signs its requests with its own code (`coinbaseexchange.sign`: base64 HMAC-SHA256 under the
base64-decoded secret over timestamp + METHOD + path + body) and its WebSocket `subscribe` with
`ccxt.pro.coinbaseexchange.authenticate` (the same HMAC over timestamp + "GET/users/self/verify").

Reads {"url", "ws_url", "api_key", "secret", "passphrase", "wrong_secret"} as JSON on stdin;
prints one JSON object with what ccxt saw: server time, accounts, an order placed and cancelled,
a wrong secret and an unknown key refused with Coinbase's messages, and an authenticated
`subscribe` accepted (and refused under a wrong secret). ccxt's own API methods are called
(`public_get_time`, ...), not its unified ones, which would first load Coinbase's market list; its
base URLs are `urls['api']`. For the same reason the driver sends the `subscribe` itself, with the
fields ccxt's `authenticate()` signed, over aiohttp (the WebSocket library ccxt itself uses).

With `"mode": "fixed"` and a `timestamp_s`, it prints instead what ccxt's `sign` makes of a GET
with a query string (`/orders?status=open&product_id=BTC-USD`) at that time, sent nowhere: the
testnet serves no Coinbase Exchange GET that takes a query, so the caller compares the headers
with `keyward sign`'s.
"""

import asyncio
import json
import sys

import aiohttp
import ccxt
import ccxt.pro

# A cap on one WebSocket answer, against a hung driver: not a measurement.
WS_LIMIT_S = 30


def exchange(url, key, secret, passphrase):
    # enableLastJsonResponse keeps the body of the last answer, refusals too.
    ex = ccxt.coinbaseexchange({"apiKey": key, "secret": secret, "password": passphrase,
                                "enableLastJsonResponse": True})
    ex.urls["api"] = {"public": url, "private": url}
    return ex


def refused(ex, call):
    """The error class and Coinbase's `message` of a call the testnet refuses."""
    try:
        call()
    except ccxt.AuthenticationError as e:
        body = ex.last_json_response or {}
        return {"error": type(e).__name__, "message": body.get("message")}
    raise AssertionError("the call was accepted")


async def subscribe(ws_url, key, secret, passphrase):
    """A `subscribe` to the `user` channel signed by ccxt's authenticate(), and the answer."""
    pro = ccxt.pro.coinbaseexchange({"apiKey": key, "secret": secret, "password": passphrase})
    try:
        auth = pro.authenticate()
    finally:
        await pro.close()
    message = {"type": "subscribe", "product_ids": ["BTC-USD"], "channels": ["user"], **auth}
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(ws_url) as ws:
            await ws.send_str(json.dumps(message))
            answer = json.loads((await ws.receive(timeout=WS_LIMIT_S)).data)
    return {"type": answer.get("type"), "reason": answer.get("reason"),
            "timestamp_type": type(auth["timestamp"]).__name__}


def fixed(url, key, secret, passphrase, timestamp_s):
    """ccxt's signed GET /orders with a query, at `timestamp_s` (ccxt's nonce is its clock in
    seconds, replaced here by the fixed value)."""
    ex = exchange(url, key, secret, passphrase)
    ex.nonce = lambda: timestamp_s
    signed = ex.sign("orders", ["private"], "GET", {"status": "open", "product_id": "BTC-USD"})
    return {"url": signed["url"], "headers": signed["headers"]}


def main():
    cfg = json.load(sys.stdin)
    url, key, secret, passphrase = cfg["url"], cfg["api_key"], cfg["secret"], cfg["passphrase"]
    if cfg.get("mode") == "fixed":
        print(json.dumps({"fixed": fixed(url, key, secret, passphrase, cfg["timestamp_s"])}))
        return
    out = {}
    ex = exchange(url, key, secret, passphrase)
    t = ex.public_get_time()
    out["time"] = {"epoch_type": type(t["epoch"]).__name__, "iso": t["iso"]}
    accounts = ex.private_get_accounts()
    out["accounts"] = {"currency": accounts[0]["currency"], "balance_type": type(accounts[0]["balance"]).__name__}
    order = ex.private_post_orders({"product_id": "BTC-USD", "side": "buy", "type": "limit",
                                    "price": "100.00", "size": "0.01", "client_oid": "ccxt-ü-1"})
    out["order"] = {"id": order["id"], "status": order["status"], "product_id": order["product_id"]}
    # Coinbase answers a cancel with the order id as a bare JSON string, which ccxt passes on
    # as the body's text.
    out["cancel"] = {"body": ex.private_delete_orders_id({"id": order["id"]})}
    wrong = exchange(url, key, cfg["wrong_secret"], passphrase)
    out["wrong_secret"] = refused(wrong, wrong.private_get_accounts)
    stranger = exchange(url, "nobody", secret, passphrase)
    out["unknown_key"] = refused(stranger, stranger.private_get_accounts)
    out["ws_subscribe"] = asyncio.run(subscribe(cfg["ws_url"], key, secret, passphrase))
    out["ws_wrong_secret"] = asyncio.run(subscribe(cfg["ws_url"], key, cfg["wrong_secret"], passphrase))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
