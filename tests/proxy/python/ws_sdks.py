"""The venues' own SDKs on a private WebSocket stream through `keyward proxy --resign`, with
placeholder keys: pybit (Bybit) and python-okx (OKX) log in with keys they do not have (the
proxy answers their auth message, having authenticated the venue's session with the stored
key), subscribe to the order channel, and get the venue's push of an order placed through the
same proxy.

Reads {"ws", "rest", "venue"} as JSON on stdin; prints {"auth": ...}, {"subscribe": ...},
{"place": [status, body]} and {"push": ...} on stdout, then {"done": true}.
"""

import asyncio
import json
import queue
import sys
import threading

from ws_orders import place

# A cap on one wait for the venue, against a hung proxy: not a measurement.
WAIT = 60


def out(line):
    print(json.dumps(line), flush=True)


def bybit(job):
    import pybit._websocket_stream as stream
    import pybit.unified_trading as unified

    # pybit builds its URL from Bybit's host names: point it at the proxy.
    unified.PRIVATE_WSS = job["ws"]
    seen = queue.Queue()
    manager = stream._V5WebSocketManager
    on_auth, on_subscribe = manager._process_auth_message, manager._process_subscription_message
    on_set_callback = manager._set_callback
    # pybit sends a subscribe before it records it (its req_id, the topic's callback): on
    # loopback the answer can arrive first, and pybit's own handler then fails to look it up
    # (KeyError in its thread, a reconnect). The answer waits, bounded, until pybit recorded the
    # subscribe, as an answer from a distant venue would.
    recorded = threading.Event()

    def set_callback_hook(self, topic, callback):
        on_set_callback(self, topic, callback)
        recorded.set()

    def auth_hook(self, message):
        seen.put(("auth", message))
        on_auth(self, message)

    def subscribe_hook(self, message):
        recorded.wait(WAIT)
        seen.put(("subscribe", message))
        on_subscribe(self, message)

    manager._set_callback = set_callback_hook
    manager._process_auth_message = auth_hook
    manager._process_subscription_message = subscribe_hook
    ws = unified.WebSocket(testnet=False, channel_type="private", api_key="placeholder-key",
                           api_secret="placeholder-secret")
    ws.order_stream(callback=lambda message: seen.put(("push", message)))
    for step in ("auth", "subscribe"):
        kind, message = seen.get(timeout=WAIT)
        out({kind: message})
    out({"place": place("bybit", job["rest"], "pybit-ws-1")})
    kind, message = seen.get(timeout=WAIT)
    out({kind: message})
    ws.exit()


async def okx(job):
    import websockets
    from okx.websocket.WebSocketFactory import WebSocketFactory
    from okx.websocket.WsPrivateAsync import WsPrivateAsync

    # python-okx always passes an SSL context, which websockets refuses for a ws:// URL; the
    # proxy here is plain ws on loopback, so its connect is the same call without the context.
    # Login, subscribe and message handling stay python-okx's own.
    async def plain_connect(self):
        self.websocket = await websockets.connect(self.url)
        return self.websocket

    WebSocketFactory.connect = plain_connect

    ws = WsPrivateAsync(apiKey="placeholder-key", passphrase="placeholder-passphrase",
                        secretKey="placeholder-secret", url=job["ws"])
    await ws.connect()
    seen = asyncio.Queue()
    consumer = asyncio.ensure_future(ws.consume())
    # python-okx sends its login, waits 5 s (its own pause), then subscribes.
    await ws.subscribe([{"channel": "orders", "instType": "ANY"}],
                       callback=lambda message: seen.put_nowait(json.loads(message)))
    for kind in ("auth", "subscribe"):
        out({kind: await asyncio.wait_for(seen.get(), WAIT)})
    placed = await asyncio.get_running_loop().run_in_executor(None, place, "okx", job["rest"],
                                                                "pythonOkxWs1")
    out({"place": placed})
    out({"push": await asyncio.wait_for(seen.get(), WAIT)})
    consumer.cancel()
    await ws.websocket.close()


def main():
    job = json.loads(sys.stdin.readline())
    if job["venue"] == "bybit":
        bybit(job)
    else:
        asyncio.run(okx(job))
    out({"done": True})


main()
