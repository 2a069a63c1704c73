"""ccxt's `deribit` against the keyward testnet, over REST and the WebSocket API.

Deribit publishes no Python SDK for its v2 API on PyPI; ccxt, the reference multi-venue library,
signs Deribit's requests with its own code: `deribit.sign` builds the `deri-hmac-sha256` header
(hex HMAC-SHA256 over ts \\n nonce \\n METHOD \\n URI \\n body \\n, the body empty for its GETs) and
`ccxt.pro.deribit.authenticate` sends `public/auth` with `grant_type` `client_signature` (the same
HMAC over timestamp \\n nonce \\n, with empty `data`).

Reads {"url", "ws_url", "api_key", "secret", "wrong_secret"} as JSON on stdin; prints one JSON
object with what ccxt saw: server time, the account summary, an order placed and cancelled, a
wrong secret and an unknown key refused with Deribit's codes, and `public/auth` accepted and
refused likewise. ccxt's own API methods are called (`public_get_get_time`, ...), not its unified
ones, which would first load Deribit's instrument list; its URLs are `urls['api']`.
"""

import asyncio
import json
import sys

import ccxt
import ccxt.pro

# A cap on one WebSocket exchange, against a hung driver: not a measurement.
WS_LIMIT_S = 30


def exchange(url, key, secret):
    # enableLastJsonResponse keeps the body of the last answer, refusals too.
    ex = ccxt.deribit({"apiKey": key, "secret": secret, "enableLastJsonResponse": True})
    ex.urls["api"] = {"rest": url}
    return ex


def refused(ex, call):
    """Deribit's JSON-RPC error of a call the testnet refuses."""
    try:
        call()
    except ccxt.AuthenticationError as e:
        error = (ex.last_json_response or {}).get("error", {})
        return {"error": type(e).__name__, "code": error.get("code"), "message": error.get("message")}
    raise AssertionError("the call was accepted")


class Deribit(ccxt.pro.deribit):
    """ccxt's WebSocket client for Deribit, with one change to how it reads answers, none to how
    it signs: ccxt raises Deribit's JSON-RPC error inside its message handler, where nothing
    waits for it, so a refused `public/auth` would leave `authenticate()` waiting forever. Here
    the error is handed to the `authenticate()` that waits for it, as the refusal it is."""

    def handle_message(self, client, message):
        error = message.get("error") if isinstance(message, dict) else None
        if error is not None:
            client.reject(ccxt.AuthenticationError(json.dumps(error)), "authenticated")
            return
        super().handle_message(client, message)


async def public_auth(ws_url, key, secret):
    """ccxt's authenticate() over the WebSocket API: Deribit's answer, or its refusal."""
    pro = Deribit({"apiKey": key, "secret": secret})
    pro.urls["api"] = {"ws": ws_url}
    try:
        answer = await asyncio.wait_for(pro.authenticate(), WS_LIMIT_S)
        result = answer["result"]
        return {"accepted": True, "token_type": result["token_type"],
                "has_access_token": bool(result.get("access_token"))}
    except ccxt.AuthenticationError as e:
        error = json.loads(str(e))
        return {"accepted": False, "code": error.get("code"), "message": error.get("message")}
    finally:
        await pro.close()


def main():
    cfg = json.load(sys.stdin)
    url, key, secret = cfg["url"], cfg["api_key"], cfg["secret"]
    out = {}
    ex = exchange(url, key, secret)
    t = ex.public_get_get_time()
    out["time"] = {"result": t["result"]}
    summary = ex.private_get_get_account_summary({"currency": "BTC"})
    out["summary"] = {"currency": summary["result"]["currency"],
                      "balance_type": type(summary["result"]["balance"]).__name__}
    # ccxt percent-encodes the query it signs and sends ("ccxt+deribit%2F%C3%BC").
    buy = ex.private_get_buy({"instrument_name": "BTC-PERPETUAL", "amount": 10, "type": "limit",
                              "price": 50000, "label": "ccxt deribit/ü"})
    order = buy["result"]["order"]
    out["order"] = {"order_id": order["order_id"], "order_state": order["order_state"],
                    "direction": order["direction"]}
    cancel = ex.private_get_cancel({"order_id": order["order_id"]})
    out["cancel"] = {"order_id": cancel["result"]["order_id"], "order_state": cancel["result"]["order_state"]}
    wrong = exchange(url, key, cfg["wrong_secret"])
    out["wrong_secret"] = refused(wrong, lambda: wrong.private_get_get_account_summary({"currency": "BTC"}))
    stranger = exchange(url, "nobody", secret)
    out["unknown_key"] = refused(stranger, lambda: stranger.private_get_get_account_summary({"currency": "BTC"}))
    out["ws_auth"] = asyncio.run(public_auth(cfg["ws_url"], key, secret))
    out["ws_wrong_secret"] = asyncio.run(public_auth(cfg["ws_url"], key, cfg["wrong_secret"]))
    out["ws_unknown_key"] = asyncio.run(public_auth(cfg["ws_url"], "nobody", secret))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
