"""What users would run instead of keyward, timed in the same sitting as `cargo xtask bench`.

Prints one JSON object: nanoseconds per call (median of rounds of `timeit` autorange) of
- Fernet encryption and decryption of 100 bytes with Python's `cryptography` (the reference
  implementation keyward's tokens interoperate with), and
- the two Python signing patterns keyward's service schemes are byte-compatible with
  (`hmac-concat` and `hmac-newline-v0`, see crates/keyward-signing/src/schemes/), signing the
  same request as crates/keyward-signing/benches/service_schemes.rs and building its headers.
"""

import hashlib
import hmac
import json
import statistics
import sys
import timeit

import cryptography
from cryptography.fernet import Fernet

ROUNDS = 7
SECRET = b"service-shared-secret-0123456789abcdef"
PATH = "/v1/orders"
BODY = '{"client_order_id":"my-order-000001","symbol":"BTC-USD","side":"buy","type":"limit","quantity":"0.01000000","price":"52000.00","tif":"gtc"}'
TIMESTAMP_MS = 1_700_000_000_000


def hmac_concat(method, path, body):
    """hmac-concat: hex(HMAC-SHA256(secret, timestamp-ms || METHOD || path || body))."""
    ts = str(TIMESTAMP_MS)
    sig = hmac.new(SECRET, (ts + method + path + body).encode(), hashlib.sha256).hexdigest()
    return {"API-KEY": "svc-a", "API-SIGN": sig, "API-TIMESTAMP": ts}


def hmac_newline_v0(method, url, body):
    """hmac-newline-v0: METHOD \\n url \\n unix-seconds [\\n body], hex HMAC-SHA256."""
    ts = str(TIMESTAMP_MS // 1000)
    message = f"{method}\n{url}\n{ts}"
    if body:
        message += "\n" + body
    sig = hmac.new(SECRET, message.encode(), hashlib.sha256).hexdigest()
    return {"X-Timestamp": ts, "X-Signature": sig, "X-Algorithm": "sha256"}


def per_call_ns(fn):
    """Median nanoseconds per call over ROUNDS rounds of timeit's autorange count."""
    timer = timeit.Timer(fn)
    number, _ = timer.autorange()
    rounds = timer.repeat(repeat=ROUNDS, number=number)
    return statistics.median(rounds) / number * 1e9


def main():
    fernet = Fernet(Fernet.generate_key())
    plaintext = bytes(range(100))
    token = fernet.encrypt(plaintext)
    assert fernet.decrypt(token) == plaintext
    results = {
        "python/fernet_encrypt_100": per_call_ns(lambda: fernet.encrypt(plaintext)),
        "python/fernet_decrypt_100": per_call_ns(lambda: fernet.decrypt(token)),
        "python/hmac_concat": per_call_ns(lambda: hmac_concat("POST", PATH, BODY)),
        "python/hmac_newline_v0": per_call_ns(lambda: hmac_newline_v0("POST", PATH, BODY)),
    }
    json.dump(
        {
            "ns": results,
            "python": sys.version.split()[0],
            "cryptography": cryptography.__version__,
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
