"""ccxt with placeholder keys through `keyward proxy --resign`.

ccxt signs every private request itself; here it holds dummy keys (valid in form only: Kraken's
secret is base64, OKX needs a password), and the proxy strips ccxt's signature, key and nonce or
timestamp and signs again with the real key, which ccxt never sees. ccxt's own API methods are
called (`private_post_order`, ...), not its unified ones, which would first load the venue's
market list; its URLs are `urls['api']`, pointed at the proxy.

Reads {"url", "venue", "direct": {"api_key", "secret", "passphrase"}?} as JSON on stdin. Without
"direct" it uses the dummy keys (through the proxy); with it, the real keys straight at the
testnet (the control: ccxt's requests are ones the venue takes). Prints one JSON object:
{"place": ..., "cancel": ...} (ccxt's parsed answers, or {"error": ...}), then waits for a line
on stdin before it exits.
"""

import json
import sys

import ccxt

DUMMY_KEY = "placeholder-api-key"
DUMMY_SECRET = "cGxhY2Vob2xkZXItc2VjcmV0LW5vdC1hLWtleQ=="  # base64 of "placeholder-secret-not-a-key"


def make(venue, url, keys):
    opts = {"apiKey": keys["api_key"], "secret": keys["secret"], "enableRateLimit": False}
    if venue == "okx":
        opts["password"] = keys.get("passphrase") or "placeholder-passphrase"
    ex = getattr(ccxt, venue)(opts)
    if venue == "binance":
        ex.urls["api"]["private"] = url + "/api/v3"
        ex.urls["api"]["public"] = url + "/api/v3"
    elif venue == "bybit":
        ex.urls["api"] = {k: url for k in ex.urls["api"]}
    elif venue == "okx":
        ex.urls["api"] = {"rest": url}
    elif venue == "kraken":
        ex.urls["api"] = {"public": url, "private": url}
    return ex


def orders(venue, ex):
    if venue == "binance":
        placed = ex.private_post_order({"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
                                        "quantity": "0.01", "price": "20000"})
        cancelled = ex.private_delete_order({"symbol": "BTCUSDT", "orderId": str(placed["orderId"])})
    elif venue == "bybit":
        placed = ex.private_post_v5_order_create({"category": "spot", "symbol": "BTCUSDT", "side": "Buy",
                                                  "orderType": "Limit", "qty": "0.01", "price": "20000"})
        cancelled = ex.private_post_v5_order_cancel({"category": "spot", "symbol": "BTCUSDT",
                                                     "orderId": placed["result"]["orderId"]})
    elif venue == "okx":
        placed = ex.private_post_trade_order({"instId": "BTC-USDT", "tdMode": "cash", "side": "buy",
                                              "ordType": "limit", "sz": "0.01", "px": "20000"})
        cancelled = ex.private_post_trade_cancel_order({"instId": "BTC-USDT", "ordId": placed["data"][0]["ordId"]})
    else:
        placed = ex.private_post_addorder({"pair": "XBTUSD", "type": "buy", "ordertype": "limit",
                                           "volume": "0.01", "price": "20000"})
        cancelled = ex.private_post_cancelorder({"txid": placed["result"]["txid"][0]})
    return placed, cancelled


def main():
    job = json.loads(sys.stdin.readline())
    keys = job.get("direct") or {"api_key": DUMMY_KEY, "secret": DUMMY_SECRET}
    ex = make(job["venue"], job["url"], keys)
    ex.session.trust_env = False
    try:
        placed, cancelled = orders(job["venue"], ex)
        print(json.dumps({"place": placed, "cancel": cancelled}), flush=True)
    except ccxt.BaseError as e:
        print(json.dumps({"error": type(e).__name__, "message": str(e)[:500]}), flush=True)
    sys.stdin.readline()


main()
