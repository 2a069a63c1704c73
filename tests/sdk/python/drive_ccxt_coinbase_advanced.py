"""ccxt's `coinbase` (Coinbase Advanced Trade, legacy HMAC API keys) against the keyward testnet.

Coinbase's own SDK, `coinbase-advanced-py`, signs only CDP keys (a JWT) in every released
version, so it cannot sign a legacy key. ccxt's `coinbase` class signs a legacy key with its own
code (`coinbase.sign`: lowercase hex HMAC-SHA256 under the secret as text over timestamp + METHOD +
path + body, the path of a v3 GET without its query string). ccxt takes a secret that ends in "="
or is 88 characters long for a CDP key, so the secrets here are neither.

Reads {"url", "api_key", "secret", "wrong_secret"} as JSON on stdin; prints one JSON object with
what ccxt saw: server time (which ccxt also uses to set its clock offset), accounts read with a
`limit` in the query, an order placed and cancelled, and a wrong secret and an unknown key refused
with Coinbase's messages. ccxt's own API methods are called (`v3_public_get_brokerage_time`, ...),
not its unified ones, which would first load Coinbase's market list; its base URL is
`urls['api']['rest']`.
"""

import json
import sys

import ccxt


def exchange(url, key, secret):
    # enableLastJsonResponse keeps the body of the last answer, refusals too.
    ex = ccxt.coinbase({"apiKey": key, "secret": secret, "enableLastJsonResponse": True})
    ex.urls["api"] = {"rest": url}
    # ccxt signs with its clock less this offset; load_time_difference sets it from the server.
    ex.load_time_difference({"method": "v3PublicGetBrokerageTime"})
    return ex


def refused(ex, call):
    """The error class and Coinbase's `message` of a call the testnet refuses."""
    try:
        call()
    except ccxt.AuthenticationError as e:
        body = ex.last_json_response or {}
        return {"error": type(e).__name__, "message": body.get("message")}
    raise AssertionError("the call was accepted")


def main():
    cfg = json.load(sys.stdin)
    url, key, secret = cfg["url"], cfg["api_key"], cfg["secret"]
    out = {}
    ex = exchange(url, key, secret)
    t = ex.v3_public_get_brokerage_time()
    out["time"] = {"epochMillis_type": type(t["epochMillis"]).__name__,
                   "time_difference_type": type(ex.options["timeDifference"]).__name__}
    # A v3 GET with a query: ccxt signs the path without it, as Coinbase documents.
    accounts = ex.v3_private_get_brokerage_accounts({"limit": 49})
    out["accounts"] = {"currency": accounts["accounts"][0]["currency"], "has_next": accounts["has_next"]}
    order = ex.v3_private_post_brokerage_orders({
        "client_order_id": "ccxt-advanced-1", "product_id": "BTC-USD", "side": "BUY",
        "order_configuration": {"market_market_ioc": {"quote_size": "10"}},
    })
    placed = order["success_response"]
    out["order"] = {"success": order["success"], "order_id": placed["order_id"],
                    "client_order_id": placed["client_order_id"]}
    cancel = ex.v3_private_post_brokerage_orders_batch_cancel({"order_ids": [placed["order_id"]]})
    out["cancel"] = cancel["results"][0]
    wrong = exchange(url, key, cfg["wrong_secret"])
    out["wrong_secret"] = refused(wrong, wrong.v3_private_get_brokerage_accounts)
    stranger = exchange(url, "nobody", secret)
    out["unknown_key"] = refused(stranger, stranger.v3_private_get_brokerage_accounts)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
