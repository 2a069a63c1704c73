"""The control of the eight-bots test: two clients signing their own nonces on one Kraken key,
out of order, get Kraken's "Invalid nonce" from the testnet for the second.

ccxt's `kraken` signs both (its own signing code); its nonce is set by hand: the first request
carries a nonce one minute ahead of the second's, as happens when two bots share a key and one
signs a little later but reaches the venue first. Reads {"url", "api_key", "secret"} on stdin;
prints {"first": [errors], "second": [errors]} and waits for a line on stdin.
"""

import json
import sys
import time

import ccxt


def client(job, nonce):
    ex = ccxt.kraken({"apiKey": job["api_key"], "secret": job["secret"], "enableRateLimit": False})
    ex.urls["api"] = {"public": job["url"], "private": job["url"]}
    ex.session.trust_env = False
    ex.nonce = lambda: nonce
    return ex


def errors(ex):
    try:
        return ex.private_post_balance().get("error", [])
    except ccxt.BaseError as e:
        return (ex.last_json_response or {}).get("error", [type(e).__name__])


def main():
    job = json.loads(sys.stdin.readline())
    now = int(time.time() * 1000)
    first = client(job, now + 60_000)
    second = client(job, now)
    second.enableLastJsonResponse = True
    print(json.dumps({"first": errors(first), "second": errors(second)}), flush=True)
    sys.stdin.readline()


main()
