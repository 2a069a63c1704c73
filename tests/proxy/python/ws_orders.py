"""The order the WebSocket bots place over REST through the proxy (ws_plain.py, ws_sdks.py):
a limit order at the venue's own path, unsigned, with the client order id the test then looks
for in the venue's push."""

import requests


def place(venue, url, client_order_id):
    with requests.Session() as s:
        s.trust_env = False  # no proxy variables, no .netrc: loopback only
        if venue == "bybit":
            r = s.post(url + "/v5/order/create", json={"category": "spot", "symbol": "BTCUSDT",
                       "side": "Buy", "orderType": "Limit", "qty": "0.01", "price": "20000",
                       "orderLinkId": client_order_id})
        else:
            r = s.post(url + "/api/v5/trade/order", json={"instId": "BTC-USDT", "tdMode": "cash",
                       "side": "buy", "ordType": "limit", "sz": "0.01", "px": "20000",
                       "clOrdId": client_order_id})
        return [r.status_code, r.json()]
