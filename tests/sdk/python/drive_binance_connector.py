"""Binance's `binance-connector` (the older official Python connector) against the keyward testnet.

Reads {"url", "api_key", "secret", "wrong_secret"} as JSON on stdin; prints one JSON object with
what the connector saw: server time, account (with a decimal `recvWindow`, which Binance accepts
to three places), an order placed and cancelled, and a wrong secret and an unknown key refused
with Binance's codes; with `"mode": "stale"`, only the refusal of a stale timestamp. The connector
takes its base URL as `base_url`.
"""

import json
import sys

from binance.error import ClientError
from binance.spot import Spot


def client(url, key, secret):
    return Spot(api_key=key, api_secret=secret, base_url=url, timeout=10)


def refusal(call):
    try:
        call()
    except ClientError as e:
        return {"code": e.error_code, "status": e.status_code}
    return {"code": None, "status": 200}


def main():
    cfg = json.load(sys.stdin)
    url, key = cfg["url"], cfg["api_key"]
    if cfg.get("mode") == "stale":
        # The testnet's clock runs an hour ahead: the request's timestamp is stale.
        print(json.dumps({"stale": refusal(lambda: client(url, key, cfg["secret"]).account())}))
        return
    c = client(url, key, cfg["secret"])
    out = {}
    out["time"] = c.time()["serverTime"]
    account = c.account(recvWindow=6000.346)
    out["account"] = {"canTrade": account["canTrade"], "free_type": type(account["balances"][0]["free"]).__name__}
    o = c.new_order(symbol="BTCUSDT", side="BUY", type="MARKET", quantity=0.001, recvWindow=5000.5)
    out["order"] = {"orderId": o["orderId"], "status": o["status"]}
    x = c.cancel_order(symbol="BTCUSDT", orderId=o["orderId"])
    out["cancel"] = {"status": x["status"], "orderId": x["orderId"]}
    out["wrong_secret"] = refusal(lambda: client(url, key, cfg["wrong_secret"]).account())
    out["unknown_key"] = refusal(lambda: client(url, "nobody", cfg["secret"]).account())
    print(json.dumps(out))


if __name__ == "__main__":
    main()
