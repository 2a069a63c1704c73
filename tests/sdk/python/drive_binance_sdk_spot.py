"""Binance's official Spot SDK (`binance-sdk-spot`) against the keyward testnet.

Reads {"url", "ws_url", "api_key", "secret", "wrong_secret"} as JSON on stdin and prints one JSON
object with what the SDK saw: REST server time, account, an order placed and cancelled (with the
documented decimal `recv_window`), a wrong secret and an unknown key refused, and the WebSocket
API: server time, a signed request, and `session.logon` (Ed25519 only at Binance: an HMAC key is
refused).
"""

import asyncio
import json
import sys

from binance_common.configuration import ConfigurationRestAPI, ConfigurationWebSocketAPI
from binance_common.errors import Error
from binance_sdk_spot.rest_api.models import NewOrderSideEnum, NewOrderTypeEnum
from binance_sdk_spot.spot import Spot


def types(value):
    """The JSON type names of an object's fields."""
    return {k: type(v).__name__ for k, v in value.items()}


def rest(url, key, secret):
    return Spot(
        config_rest_api=ConfigurationRestAPI(
            api_key=key, api_secret=secret, base_path=url, timeout=10_000, retries=0
        )
    ).rest_api


def refusal(call):
    """The venue's code of a refused call (the SDK keeps it in `status_code`)."""
    try:
        call()
    except Error as e:
        return {"code": getattr(e, "status_code", None), "kind": type(e).__name__}
    return {"code": None, "kind": "accepted"}


async def ws_api(cfg, out):
    spot = Spot(
        config_ws_api=ConfigurationWebSocketAPI(
            api_key=cfg["api_key"],
            api_secret=cfg["secret"],
            stream_url=cfg["ws_url"],
            timeout=10_000,
            reconnect_delay=0,
        )
    )
    conn = await spot.websocket_api.create_connection()
    try:
        out["ws_time"] = (await conn.time()).data().result.server_time
        status = (await conn.account_status(recv_window=6000.346)).data()
        out["ws_account_status"] = {"status": status.status}
        # The SDK hands an error answer back as {"error": {"code", "msg"}}.
        logon = (await conn.session_logon()).data()
        if isinstance(logon, dict):
            out["ws_logon"] = {"accepted": False, "code": logon.get("error", {}).get("code")}
        else:
            out["ws_logon"] = {"accepted": True, "status": logon.status}
    finally:
        await conn.close_connection(close_session=True)


def main():
    cfg = json.load(sys.stdin)
    url, key = cfg["url"], cfg["api_key"]
    api = rest(url, key, cfg["secret"])
    out = {}
    out["time"] = api.time().data().server_time
    account = api.get_account(recv_window=6000.346).data()
    out["account"] = {"can_trade": account.can_trade, "balances": len(account.balances)}
    raw = api.get_account().data().to_dict()
    out["account_types"] = types(raw["balances"][0])
    order = api.new_order(
        symbol="BTCUSDT",
        side=NewOrderSideEnum["BUY"].value,
        type=NewOrderTypeEnum["MARKET"].value,
        quantity=0.001,
        recv_window=5000.5,
    ).data()
    out["order"] = {"order_id": order.order_id, "status": order.status}
    cancel = api.delete_order(symbol="BTCUSDT", order_id=order.order_id).data()
    out["cancel"] = {"status": cancel.status, "order_id": cancel.order_id}
    out["cancel_types"] = types(cancel.to_dict())
    out["wrong_secret"] = refusal(lambda: rest(url, key, cfg["wrong_secret"]).get_account())
    out["unknown_key"] = refusal(lambda: rest(url, "nobody", cfg["secret"]).get_account())
    asyncio.run(ws_api(cfg, out))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
