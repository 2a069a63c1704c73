"""OKX's official SDK (`python-okx`) against the keyward testnet.

Reads {"url", "api_key", "secret", "passphrase", "wrong_secret"} as JSON on stdin; prints one JSON
object with what the SDK saw: server time, balance, an order placed and cancelled, a wrong secret
and an unknown key refused with OKX's codes; with `"mode": "stale"`, only the refusal of a stale
timestamp. The SDK takes its base URL as `domain`.
"""

import json
import sys

import okx.Account as Account
import okx.PublicData as PublicData
import okx.Trade as Trade

LIVE = "0"


def main():
    cfg = json.load(sys.stdin)
    url, key, secret, passphrase = cfg["url"], cfg["api_key"], cfg["secret"], cfg["passphrase"]
    if cfg.get("mode") == "stale":
        # The testnet's clock runs an hour ahead: the request's timestamp is stale.
        stale = Account.AccountAPI(key, secret, passphrase, flag=LIVE, domain=url).get_account_balance()
        print(json.dumps({"stale": {"code": stale["code"]}}))
        return
    out = {}
    t = PublicData.PublicAPI(flag=LIVE, domain=url).get_system_time()
    out["time"] = {"code": t["code"], "ts": t["data"][0]["ts"]}
    account = Account.AccountAPI(key, secret, passphrase, flag=LIVE, domain=url)
    b = account.get_account_balance(ccy="USDT")
    out["balance"] = {"code": b["code"]}
    trade = Trade.TradeAPI(key, secret, passphrase, flag=LIVE, domain=url)
    o = trade.place_order(instId="BTC-USDT", tdMode="cash", side="buy", ordType="market", sz="0.001")
    out["order"] = {"code": o["code"], "ordId": o["data"][0]["ordId"], "sCode": o["data"][0].get("sCode")}
    out["order_types"] = {k: type(v).__name__ for k, v in o["data"][0].items()}
    c = trade.cancel_order(instId="BTC-USDT", ordId=o["data"][0]["ordId"])
    out["cancel"] = {"code": c["code"], "ordId": c["data"][0]["ordId"]}
    wrong = Account.AccountAPI(key, cfg["wrong_secret"], passphrase, flag=LIVE, domain=url)
    out["wrong_secret"] = {"code": wrong.get_account_balance()["code"]}
    stranger = Account.AccountAPI("nobody", secret, passphrase, flag=LIVE, domain=url)
    out["unknown_key"] = {"code": stranger.get_account_balance()["code"]}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
