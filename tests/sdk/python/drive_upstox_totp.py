"""The `upstox-totp` SDK (1.0.8) logs in against the keyward testnet's Upstox-shaped flow.

Reads {"base", "username", "password", "pin", "totp_secret", "client_id", "client_secret",
"redirect_uri", "wrong_totp_secret"} as JSON on stdin; prints one JSON object: the fields of the
token answer the SDK returned, what the testnet's profile endpoint said to the token, and the
error the SDK raised for a wrong TOTP seed. The SDK's hosts come from its `base_domain` attribute
("https://{stage}.upstox.com"), pointed at "<base>/{stage}".

The SDK sleeps `config.sleep_time` milliseconds after every request; its constructor drops the
`sleep_time` argument (`Config.from_env` does not pass it on), so the attribute is set after
construction. `Config.from_env` also reads `./.env` and the process environment, but every field
is given here and given fields win.
"""

import json
import sys
import urllib.error
import urllib.request

from upstox_totp import UpstoxError, UpstoxTOTP


def client(cfg, seed):
    c = UpstoxTOTP(
        username=cfg["username"],
        password=cfg["password"],
        pin_code=cfg["pin"],
        totp_secret=seed,
        client_id=cfg["client_id"],
        client_secret=cfg["client_secret"],
        redirect_uri=cfg["redirect_uri"],
    )
    c.config.sleep_time = 0
    c.base_domain = cfg["base"] + "/{stage}"
    return c


def profile(base, token):
    req = urllib.request.Request(
        base + "/api/v2/user/profile",
        headers={"Authorization": "Bearer " + token, "Accept": "application/json"},
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(req, timeout=30) as r:
            return {"status": r.status, "body": json.loads(r.read())}
    except urllib.error.HTTPError as e:
        return {"status": e.code, "body": json.loads(e.read())}


def main():
    cfg = json.load(sys.stdin)
    out = {}
    with client(cfg, cfg["totp_secret"]) as c:
        answer = c.app_token.get_access_token()
    data = answer.data
    out["success"] = answer.success
    out["fields"] = sorted(data.model_dump().keys())
    out["user_id"] = data.user_id
    out["broker"] = data.broker
    token = data.access_token
    out["token_parts"] = len(token.split("."))
    out["profile"] = profile(cfg["base"], token)
    out["profile_bad_token"] = profile(cfg["base"], token[:-2] + "xx")
    out["token"] = token
    try:
        with client(cfg, cfg["wrong_totp_secret"]) as c:
            c.app_token.get_access_token()
        out["wrong_totp"] = None
    except UpstoxError as e:
        out["wrong_totp"] = {"code": str(e.error_code.value), "message": e.message}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
