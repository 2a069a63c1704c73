"""BitMEX's own Python signer against the keyward testnet.

The `bitmex` package on PyPI is BitMEX's api-connectors Python client: its `bitmex()` factory
hard-codes BitMEX's hosts and loads a swagger file from there, but the signer it ships,
`BitMEXAPIKeyAuthenticator.APIKeyAuthenticator`, signs any `requests` request (`api-expires` =
now + 5 s). Reads {"url", "api_key", "secret", "wrong_secret"} as JSON on stdin; prints one JSON
object with what BitMEX's signer got: server time, wallet, an order placed and cancelled, the same
wallet read sent twice within one second (BitMEX's replay guard is `api-expires`), and a wrong
secret and an unknown key refused.
"""

import json
import sys

import requests
from BitMEXAPIKeyAuthenticator import APIKeyAuthenticator


def send(url, key, secret, method, path, **kwargs):
    auth = APIKeyAuthenticator(url, key, secret)
    req = requests.Request(method, url + path, **kwargs)
    prepared = auth.apply(req).prepare()
    with requests.Session() as s:
        r = s.send(prepared, timeout=10)
    return r.status_code, r.json()


def main():
    cfg = json.load(sys.stdin)
    url, key, secret = cfg["url"], cfg["api_key"], cfg["secret"]
    out = {}
    r = requests.get(url + "/api/v1", timeout=10)
    out["time"] = {"status": r.status_code, "timestamp": r.json()["timestamp"]}
    status, w = send(url, key, secret, "GET", "/api/v1/user/wallet", params={"currency": "XBt"})
    out["wallet"] = {"status": status, "amount_type": type(w.get("amount")).__name__}
    # The same request again, signed in the same second: byte-identical.
    again = [send(url, key, secret, "GET", "/api/v1/user/wallet", params={"currency": "XBt"})[0] for _ in range(2)]
    out["wallet_twice"] = again
    order = {"symbol": "XBTUSD", "side": "Buy", "orderQty": 1, "ordType": "Market"}
    status, o = send(url, key, secret, "POST", "/api/v1/order", data=json.dumps(order, separators=(",", ":")),
                     headers={"Content-Type": "application/json"})
    out["order"] = {"status": status, "orderID": o.get("orderID"), "ordStatus": o.get("ordStatus")}
    status, c = send(url, key, secret, "DELETE", "/api/v1/order", params={"orderID": o.get("orderID")})
    out["cancel"] = {"status": status, "ordStatus": c[0]["ordStatus"] if isinstance(c, list) else None}
    status, e = send(url, key, cfg["wrong_secret"], "GET", "/api/v1/user/wallet")
    out["wrong_secret"] = {"status": status, "message": e["error"]["message"]}
    status, e = send(url, "nobody", secret, "GET", "/api/v1/user/wallet")
    out["unknown_key"] = {"status": status, "message": e["error"]["message"]}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
