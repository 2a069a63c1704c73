"""Bybit's official SDK (`pybit`, unified_trading v5) against the keyward testnet.

Reads {"url", "api_key", "secret", "wrong_secret"} as JSON on stdin; prints one JSON object with
what the SDK saw: server time, wallet balance, an order placed and cancelled (with a non-default
`recv_window`), a wrong secret and an unknown key refused with Bybit's codes; with
`"mode": "stale"`, only the refusal of a stale timestamp. pybit builds its
base URL from `testnet`/`domain`/`tld` as `https://api.<domain>.<tld>`, which cannot name a
loopback port, so the session's `endpoint` attribute is set after construction; one attempt, no retried codes.
"""

import json
import sys

from pybit.exceptions import FailedRequestError, InvalidRequestError
from pybit.unified_trading import HTTP


def session(url, key, secret, recv_window=5000):
    s = HTTP(
        testnet=False,
        api_key=key,
        api_secret=secret,
        recv_window=recv_window,
        timeout=10,
        max_retries=1,
    )
    s.endpoint = url
    # pybit resends (after a sleep) on its default retry codes, 10002 among them, when given an
    # empty set: clear them after construction so that the venue's answer comes back as is.
    s.retry_codes = set()
    return s


def refusal(call):
    try:
        call()
    except (InvalidRequestError, FailedRequestError) as e:
        return {"code": e.status_code, "kind": type(e).__name__}
    return {"code": None, "kind": "accepted"}


def main():
    cfg = json.load(sys.stdin)
    url, key = cfg["url"], cfg["api_key"]
    if cfg.get("mode") == "stale":
        # The testnet's clock runs an hour ahead: the request's timestamp is stale.
        stale = refusal(lambda: session(url, key, cfg["secret"]).get_wallet_balance(accountType="UNIFIED"))
        print(json.dumps({"stale": stale}))
        return
    s = session(url, key, cfg["secret"], recv_window=20000)
    out = {}
    t = s.get_server_time()
    out["time"] = {"retCode": t["retCode"], "timeSecond": t["result"]["timeSecond"]}
    out["time_types"] = {k: type(v).__name__ for k, v in t["result"].items()}
    b = s.get_wallet_balance(accountType="UNIFIED")
    out["balance"] = {"retCode": b["retCode"]}
    o = s.place_order(category="spot", symbol="BTCUSDT", side="Buy", orderType="Market", qty="0.001")
    out["order"] = {"retCode": o["retCode"], "orderId": o["result"]["orderId"]}
    out["order_types"] = {k: type(v).__name__ for k, v in o["result"].items()}
    c = s.cancel_order(category="spot", symbol="BTCUSDT", orderId=o["result"]["orderId"])
    out["cancel"] = {"retCode": c["retCode"], "orderId": c["result"]["orderId"]}
    out["wrong_secret"] = refusal(
        lambda: session(url, key, cfg["wrong_secret"]).get_wallet_balance(accountType="UNIFIED")
    )
    out["unknown_key"] = refusal(
        lambda: session(url, "nobody", cfg["secret"]).get_wallet_balance(accountType="UNIFIED")
    )
    print(json.dumps(out))


if __name__ == "__main__":
    main()
