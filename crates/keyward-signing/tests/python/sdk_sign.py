"""What the venues' official Python SDKs send for a request signed with an asymmetric key.

Used by `tests/sdk_differential.rs`. Reads one JSON object on stdin:

    {"keys": {"<label>": {"type": "ed25519", "seed_hex": "..."} | {"type": "rsa", "bits": 2048}
                         | {"type": "p256"}, ...},
     "cases": [{"kind": ..., "key": "<label>", ...}, ...]}

and prints one JSON object: {"keys": {"<label>": {...PEMs...}}, "results": [...]}, one result per
case, in order. Every signature comes from the SDK's OWN code: this driver only pins the clock
and the nonce (monkeypatching the module attributes the SDK reads) and captures the outgoing
request at the transport (a `requests` adapter that never touches the network, or a fake
WebSocket). It never re-implements a signing rule; `spy` wrappers record what the SDK passed to
its own signing function, and pass the call through unchanged.

Kinds:
- `binance_rest` (`sdk`: `binance-sdk-spot` or `binance-connector`): `method`, `path`, `params`
  ([name, value] pairs, in order), `timestamp_ms`. Result: the wire URL's query, the string the
  SDK signed and the signature it computed.
- `binance_ws` (`binance-sdk-spot`): `method` (`order.place`, `session.logon`, ...), `params`
  (object), `timestamp_ms`. Result: the signed `params` (signature included) and the string signed.
- `bybit_rest` (`pybit`): `method`, `path`, `params` (object), `timestamp_ms`, `recv_window`.
  Result: the X-BAPI-* headers, the payload part the SDK signed, the wire query and body.
- `bybit_ws` (`pybit`): `timestamp_ms`, `expire_s`. Result: the `auth` message sent.
- `coinbase_rest` (`coinbase-advanced-py`): `method`, `path`, `params` (query, object), `body`
  (object), `time_s`, `nonce`. Result: the Authorization header, the JWT's header and claims.
- `coinbase_ws` (`coinbase-advanced-py`): `time_s`, `nonce`, `product_ids`, `channel`. Result:
  the subscribe message and its JWT's header and claims.
- `verify_jwt`: `token`, `alg`: PyJWT verifies `token` with the key's public key; returns its
  header and claims (or the error).
"""

import base64
import contextlib
import json
import sys

import jwt
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa


# ---------------------------------------------------------------------------------------------
# Keys


def make_key(spec):
    kind = spec["type"]
    if kind == "ed25519":
        key = ed25519.Ed25519PrivateKey.from_private_bytes(bytes.fromhex(spec["seed_hex"]))
        private_format = serialization.PrivateFormat.PKCS8
    elif kind == "rsa":
        key = rsa.generate_private_key(public_exponent=65537, key_size=spec.get("bits", 2048))
        private_format = serialization.PrivateFormat.PKCS8
    elif kind == "p256":
        key = ec.generate_private_key(ec.SECP256R1())
        # Coinbase hands out SEC1 `EC PRIVATE KEY` PEM.
        private_format = serialization.PrivateFormat.TraditionalOpenSSL
    else:
        raise ValueError(f"unknown key type {kind}")
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, private_format, serialization.NoEncryption()
    ).decode()
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    out = {"type": kind, "private_pem": private_pem, "public_pem": public_pem, "_key": key}
    if kind == "ed25519":
        raw = key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        pub = key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        # Coinbase's CDP Ed25519 secret: base64(seed || public key), 64 bytes.
        out["coinbase_b64"] = base64.b64encode(raw + pub).decode()
    return out


# ---------------------------------------------------------------------------------------------
# Capture and pinning helpers


class CaptureAdapter(requests.adapters.BaseAdapter):
    """A transport that records the prepared request and answers with a fixed JSON body."""

    def __init__(self, answer):
        super().__init__()
        self.sent = []
        self.answer = answer

    def send(self, request, **kwargs):
        self.sent.append(request)
        response = requests.models.Response()
        response.status_code = 200
        response.reason = "OK"
        response.headers["Content-Type"] = "application/json"
        response._content = json.dumps(self.answer).encode()
        response.request = request
        response.url = request.url
        return response

    def close(self):
        pass


def capture(session, answer):
    adapter = CaptureAdapter(answer)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return adapter


@contextlib.contextmanager
def patched(obj, name, value):
    old = getattr(obj, name)
    setattr(obj, name, value)
    try:
        yield
    finally:
        setattr(obj, name, old)


@contextlib.contextmanager
def spy(obj, name, record):
    """Wraps obj.name: every call's positional args and result are appended to `record`."""
    real = getattr(obj, name)

    def wrapper(*args, **kwargs):
        result = real(*args, **kwargs)
        record.append({"args": args, "result": result})
        return result

    setattr(obj, name, wrapper)
    try:
        yield
    finally:
        setattr(obj, name, real)


def split_url(url):
    path, _, query = url.partition("?")
    return path, query


def body_text(request):
    body = request.body
    if body is None:
        return None
    return body.decode() if isinstance(body, bytes) else body


def text(value):
    return value.decode() if isinstance(value, bytes) else value


def jwt_parts(token):
    return jwt.get_unverified_header(token), jwt.decode(token, options={"verify_signature": False})


# ---------------------------------------------------------------------------------------------
# Binance


def binance_rest(case, key, api_key):
    method, path, ts = case["method"], case["path"], case["timestamp_ms"]
    params = {name: value for name, value in case["params"]}
    signed = []
    if case["sdk"] == "binance-sdk-spot":
        import binance_common.utils as utils
        from binance_common.configuration import ConfigurationRestAPI
        from binance_sdk_spot.spot import Spot

        config = ConfigurationRestAPI(
            api_key=api_key, private_key=key["private_pem"], base_path="https://api.binance.com"
        )
        rest = Spot(config_rest_api=config).rest_api
        adapter = capture(rest._session, {})
        with patched(utils, "get_timestamp", lambda: ts), spy(utils, "get_signature", signed):
            # What every typed endpoint method (new_order, get_account, ...) calls. The SDK's
            # generic `send_signed_request` cannot be used: in 13.3.0 it subscripts a function
            # (`send_request[T](...)`) and raises TypeError.
            utils.send_request(
                rest._session, config, method, path, params, {}, is_signed=True, signer=rest._signer
            )
        payload, signature = signed[0]["args"][1], signed[0]["result"]
    elif case["sdk"] == "binance-connector":
        import binance.api as api
        from binance.spot import Spot

        client = Spot(api_key=api_key, private_key=key["private_pem"], base_url="https://api.binance.com")
        adapter = capture(client.session, {})
        with patched(api, "get_timestamp", lambda: ts), spy(client, "_get_sign", signed):
            client.sign_request(method, path, params)
        payload, signature = signed[0]["args"][0], signed[0]["result"]
    else:
        raise ValueError(case["sdk"])
    request = adapter.sent[0]
    wire_path, query = split_url(request.url)
    return {
        "method": request.method,
        "path": wire_path.removeprefix("https://api.binance.com"),
        "query": query,
        "body": body_text(request),
        "signed": payload,
        "signature": text(signature),
        "api_key_header": request.headers.get("X-MBX-APIKEY"),
    }


def binance_ws(case, key, api_key):
    import binance_common.utils as utils
    from binance_common.configuration import ConfigurationWebSocketAPI
    from binance_common.models import WebsocketApiOptions
    from binance_common.signature import Signers

    ts = case["timestamp_ms"]
    config = ConfigurationWebSocketAPI(api_key=api_key, private_key=key["private_pem"])
    signer = Signers.get_signer(key["private_pem"])
    payload = {"method": case["method"], "params": dict(case["params"], id="case")}
    # What WebsocketAPIBase.send_signed_message does for a signed request or a session.logon
    # (skip_auth is False for both), minus the socket.
    options = WebsocketApiOptions(signer=signer, api_key=False, is_signed=True, skip_auth=False)
    signed = []
    with patched(utils, "get_timestamp", lambda: ts), spy(utils, "get_signature", signed):
        message = utils.ws_api_payload(config, payload, options)
    # The payload as Binance's WebSocket API docs build it ("no percent encoding here!", their
    # Python sample: '&'.join(f"{k}={v}" ...) over the sorted parameters), signed by the SDK's own
    # signer. The SDK itself signs urlencode(parameters), which differs for values that
    # percent-encoding changes.
    unsigned = {k: v for k, v in message["params"].items() if k != "signature"}
    documented = "&".join(f"{k}={v}" for k, v in sorted(unsigned.items()))
    return {
        "message": json.loads(json.dumps(message)),
        "signed": signed[0]["args"][1],
        "signature": signed[0]["result"],
        "documented_payload": documented,
        "raw_signature": utils.get_signature(config, documented, signer),
    }


# ---------------------------------------------------------------------------------------------
# Bybit


def bybit_rest(case, key, api_key):
    import pybit._helpers as helpers
    import pybit._http_manager as manager
    from pybit.unified_trading import HTTP

    ts = case["timestamp_ms"]
    session = HTTP(
        api_key=api_key,
        api_secret=key["private_pem"],
        rsa_authentication=True,
        recv_window=case["recv_window"],
    )
    adapter = capture(session.client, {"retCode": 0, "retMsg": "OK", "result": {}, "time": ts})
    signed = []
    with patched(helpers, "generate_timestamp", lambda: ts), spy(
        manager, "generate_signature", signed
    ):
        session._submit_request(
            method=case["method"],
            path=session.endpoint + case["path"],
            query=dict(case["params"]),
            auth=True,
        )
    request = adapter.sent[0]
    _, query = split_url(request.url)
    prefix = f"{ts}{api_key}{case['recv_window']}"
    param_str = signed[0]["args"][2]
    assert param_str.startswith(prefix), "pybit's prehash is timestamp || key || recv_window || payload"
    return {
        "method": request.method,
        "query": query,
        "body": body_text(request),
        "payload": param_str[len(prefix):],
        "headers": {k: v for k, v in request.headers.items() if k.startswith("X-BAPI-")},
    }


class FakeSocket:
    def __init__(self):
        self.sent = []

    def send(self, message):
        self.sent.append(message)


def bybit_ws(case, key, api_key):
    import pybit._helpers as helpers
    from pybit._websocket_stream import _WebSocketManager

    ts = case["timestamp_ms"]
    manager = _WebSocketManager(
        lambda _: None,
        "keyward",
        testnet=False,
        rsa_authentication=True,
        api_key=api_key,
        api_secret=key["private_pem"],
        private_auth_expire=case["expire_s"],
    )
    manager.ws = FakeSocket()
    with patched(helpers, "generate_timestamp", lambda: ts):
        manager._auth()
    return {"message": json.loads(manager.ws.sent[0])}


# ---------------------------------------------------------------------------------------------
# Coinbase Advanced Trade (CDP keys)


class FixedTime:
    def __init__(self, seconds):
        self.seconds = seconds

    def time(self):
        return self.seconds


def coinbase_secret(case, key):
    return key["coinbase_b64"] if case.get("key_form") == "coinbase_b64" else key["private_pem"]


@contextlib.contextmanager
def pinned_jwt(case):
    import coinbase.jwt_generator as generator

    with patched(generator, "time", FixedTime(case["time_s"])), patched(
        generator.secrets, "token_hex", lambda *_: case["nonce"]
    ):
        yield


def coinbase_rest(case, key, api_key):
    from coinbase.rest import RESTClient

    client = RESTClient(api_key=api_key, api_secret=coinbase_secret(case, key))
    adapter = capture(client.session, {})
    with pinned_jwt(case):
        if case["method"] == "GET":
            client.get(case["path"], params=case["params"] or None)
        elif case["method"] == "POST":
            client.post(case["path"], params=case["params"] or None, data=case["body"])
        elif case["method"] == "DELETE":
            client.delete(case["path"], params=case["params"] or None, data=case["body"])
        else:
            raise ValueError(case["method"])
    request = adapter.sent[0]
    authorization = request.headers["Authorization"]
    token = authorization.removeprefix("Bearer ")
    header, claims = jwt_parts(token)
    _, query = split_url(request.url)
    return {
        "authorization": authorization,
        "token": token,
        "header": header,
        "claims": claims,
        "query": query,
    }


def coinbase_ws(case, key, api_key):
    from coinbase.websocket import WSClient

    client = WSClient(
        api_key=api_key, api_secret=coinbase_secret(case, key), on_message=lambda _: None
    )
    with pinned_jwt(case):
        message = client._build_subscription_message(
            case["product_ids"], case["channel"], "subscribe", False
        )
    header, claims = jwt_parts(message["jwt"])
    return {"message": message, "token": message["jwt"], "header": header, "claims": claims}


def verify_jwt(case, key, _api_key):
    try:
        claims = jwt.decode(
            case["token"],
            key["_key"].public_key(),
            algorithms=[case["alg"]],
            options={"verify_exp": False, "verify_nbf": False, "verify_iat": False},
        )
        return {"ok": True, "header": jwt.get_unverified_header(case["token"]), "claims": claims}
    except jwt.PyJWTError as e:
        return {"ok": False, "error": f"{type(e).__name__}: {e}"}


KINDS = {
    "binance_rest": binance_rest,
    "binance_ws": binance_ws,
    "bybit_rest": bybit_rest,
    "bybit_ws": bybit_ws,
    "coinbase_rest": coinbase_rest,
    "coinbase_ws": coinbase_ws,
    "verify_jwt": verify_jwt,
}


def main():
    request = json.load(sys.stdin)
    keys = {label: make_key(spec) for label, spec in request.get("keys", {}).items()}
    for label, spec in request.get("known_keys", {}).items():
        key = serialization.load_pem_private_key(spec["private_pem"].encode(), password=None)
        keys[label] = {"type": spec.get("type"), "private_pem": spec["private_pem"], "_key": key}
    results = []
    for case in request["cases"]:
        key = keys[case["key"]]
        results.append(KINDS[case["kind"]](case, key, case.get("api_key", "keyward-test-key")))
    shown = {label: {k: v for k, v in key.items() if k != "_key"} for label, key in keys.items()}
    json.dump({"keys": shown, "results": results}, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
