"""Writes tests/data/asymmetric_official.json from the venues' published asymmetric examples.

Run from the crate root: `python tests/python/make_asymmetric_official.py [rest-api.md
web-socket-api.md]` (the docs files, to check that every payload is printed there). Every published
signature is checked here with Python `cryptography` before it is written; every computed one is
computed here, with a key the venue publishes, over a payload the venue's docs print. See
tests/data/SOURCE.md.
"""

import base64
import json
import sys
import urllib.parse

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding

DOCS = "https://github.com/binance/binance-spot-api-docs/blob/29c227d84058dd2be3fe3b42ab368d1d1ce910e5"
EXAMPLES = "https://github.com/binance/binance-signature-examples/blob/6fcc9942d45ff7bfc38d3e7def9b8c30ed659ec8"

FIX_KEY = (
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIIJEYWtGBrhACmb9Dvy+qa8WEf0lQOl1s4CLIAB9m89u\n"
    "-----END PRIVATE KEY-----\n"
)
RSA_KEY = (
    "-----BEGIN PRIVATE KEY-----\n"
    "MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQDPrfWMr2yqxJgJ\n"
    "cIyA5TDFpZBlB9E3RMbbEcPZijmPDiciZjuRiD1Q6oQzi1MFGTZ523HwSXe9XG3R\n"
    "NQaLCjxi+VkLsvCoxzgurkWXoQr0VHJyEDxnyRaCzTyvvHQgt0LKCWfqalYNz0ue\n"
    "doxnYnde3DH/tFFXX0/rTkJyK6LpOyKOAqE0G7OhuQWkLvlUO8mqwtGNqdrtOgzv\n"
    "kTN5rhb5VeWB4JGWDcAYFb9CQI9wD7/JJU1XQGIOJEY3L/PjGLcjDEiROt57/RS3\n"
    "i6OVTiAgDcgA405tNLgS326hfbEchI5tKeOxqrFYVfvOK8+4o+rrUBnMhrBg0tJv\n"
    "1feQKeAnAgMBAAECggEAUdB8PZIWQyfzpTRbhaPElPhmbAaqWxWTKVZUS2zyw/KV\n"
    "ZC3WJb0AOtJIhm3KpOWL2nGi70BiFY1GDfbPvxKnO25zr/IscLEa5vjsnZFp2Vsz\n"
    "QtA2m8RSQ/FKiQi6zvCjNSiDcYu2nvYdGi4lnczirdIdOFj2+m6n81D/SC78nNhj\n"
    "P/JLbSPFw+XOfVqOVelXHw7XGtMH9dgFjWDdB317HcJjZyPDahpQQ7s6PcecDwuv\n"
    "Qucs+Hi4sAWiHOiwKusx3sT/NL5Og/jAvC5aMy1QswWFnPr90T3qFE4MN1GZszzX\n"
    "DmDkWaGaRwuwdpi/ocIZF3R9XX3m+WOVdEZRfzzcEQKBgQDt11achN666/j1kgQM\n"
    "xPdzo06eUUZb/JUtEXz8hU+AzRsN/eso/47pjaPq7nrXFYE4aEx7Je2I9S52Y+b/\n"
    "SLrctuza25VOxvqIpDynlvM/Iatg9WuTEIuOk7gkBFanDNjDjZDKFuDYSEfN+sX+\n"
    "UakFT7cm+xu12PWR8HlZmFZL5QKBgQDfiRrC8zADSIE74uFBJ5K88t6cwrktqdPH\n"
    "9QT69j+VpRXssyUoCfR4/zchKbEyTwSASvL1saJR14Opmvn6Le+0DKq+EV7Z1UM6\n"
    "svVIzd9pWWMhRh9G83CC5Krx9Ie+34QHNRxBf+rya5if/aBCDtBFedRGbR6Le8MB\n"
    "yvrpT5hzGwKBgQCU2+QPjnHA2BQ3zq3OODEQJTP9jqzUwd+0F2/8tIsv+C9osHXQ\n"
    "cTLHJqljTuN/XqxD27OSmAh1Yc80tg5L1P9vSOYxjKGEbrE7eF+mHKod5zrWMoSj\n"
    "xQUztWzYzgZWA4pfymjGs08Czypx1vS42e9JrbzaHuwXArWgI7wvwVKxqQKBgQCS\n"
    "ByIZav7Zljr+oUdf5fdBQjPVGowYXZJBVTpMrCN7od4BxEIotuAjTy53lqHwaJhb\n"
    "KxsvED0m0/BqExjsq6ek6oV8JyLckSobJZ+BUSR60O8mZIW4Nv4wNCvMZl9rfN7m\n"
    "SnbL/0G/3jRViD1yCfVa/ayD2XMT0eThvfVOBzZjMwKBgB5jasP9TcDAyaEKta+g\n"
    "6glTM0MKUWfhZzYRbvDXdnatjjMEdixWm9aXwc0Nw+aN0KkdLBwvnDiVMtX+Xl2n\n"
    "BU2Gxxe3H8qrvkoi8zmzh3VWpqzfB+L3sXAq+6VNNYLEFLBR6D2u4DD86FvY+DsU\n"
    "miJlY6JEKpSxvkrS04XrbvHk\n"
    "-----END PRIVATE KEY-----\n"
)


def load(pem):
    return serialization.load_pem_private_key(pem.encode(), password=None)


def public_pem(key):
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def sign(key, payload):
    if isinstance(key, ed25519.Ed25519PrivateKey):
        sig = key.sign(payload.encode())
        key.public_key().verify(sig, payload.encode())
    else:
        sig = key.sign(payload.encode(), padding.PKCS1v15(), hashes.SHA256())
        key.public_key().verify(sig, payload.encode(), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(sig).decode()


ed = load(FIX_KEY)
rsa = load(RSA_KEY)
keys = {
    "binance-fix-ed25519": {
        "kind": "ed25519",
        "private_pem": FIX_KEY,
        "public_pem": public_pem(ed),
        "source": f"{DOCS}/fix-api.md (Logon signature example: \"The Ed25519 private key used in the example computation\")",
        "public_pem_source": "derived from the published private key with Python cryptography",
    },
    "binance-examples-rsa": {
        "kind": "rsa",
        "private_pem": RSA_KEY,
        "public_pem": public_pem(rsa),
        "source": f"{EXAMPLES}/python/private_key.pem (Binance's signature examples, used by python/rsa_signature.py)",
        "public_pem_source": "derived from the published private key with Python cryptography",
    },
}

# The FIX Logon example: key, payload fields and signature all published.
fix_payload = "\x01".join(["A", "EXAMPLE", "SPOT", "1", "20240627-11:17:25.223"])
fix_published = "4MHXelVVcpkdwuLbl6n73HQUXUf1dse2PCgT1DYqW9w8AVZ1RACFGM+5UdlGPrQHrgtS3CvsRURC1oj73j8gCA=="
assert sign(ed, fix_payload) == fix_published, "the published FIX signature does not verify"

vectors = [
    {
        "id": "binance-fix-logon-ed25519",
        "venue": "binance",
        "surface": "key",
        "source": f"{DOCS}/fix-api.md#signaturecomputation",
        "key": "binance-fix-ed25519",
        "payload": fix_payload,
        "expected_signature": fix_published,
        "expected_origin": "published",
        "note": "keyward has no FIX scheme: the test reads the published key and checks its public key; the signature is checked by the generator",
    }
]

rest_ascii = "symbol=BTCUSDT&side=SELL&type=LIMIT&timeInForce=GTC&quantity=1&price=0.2&timestamp=1668481559918&recvWindow=5000"
rest_non_ascii = "symbol=%EF%BC%91%EF%BC%92%EF%BC%93%EF%BC%94%EF%BC%95%EF%BC%96&side=SELL&type=LIMIT&timeInForce=GTC&quantity=1&price=0.2&timestamp=1668481559918&recvWindow=5000"
assert urllib.parse.unquote(rest_non_ascii).startswith("symbol=１２３４５６&")
for label, key_name, key in [("ed25519", "binance-fix-ed25519", ed), ("rsa", "binance-examples-rsa", rsa)]:
    for case, payload in [("ascii", rest_ascii), ("non-ascii", rest_non_ascii)]:
        sig = sign(key, payload)
        vectors.append({
            "id": f"binance-rest-{label}-{case}",
            "venue": "binance",
            "surface": "rest",
            "source": f"{DOCS}/rest-api.md ({'Ed25519' if label == 'ed25519' else 'RSA'} Keys, SIGNED request example: the signature payload after percent-encoding)",
            "key": key_name,
            "api_key": "4yNzx3yWC5bS6YTwEkSRaC0nRmSQIIStAUOh1b6kqaBrTLIhjCpI5lJH8q8R8WNO" if label == "ed25519" else "CAvIjXy3F44yW6Pou5k8Dy1swsYDWJZLeoK2r8G4cFDnE9nosRppc2eKc1T8TRTQ",
            "request": {"method": "POST", "path": "/api/v3/order", "query": payload, "body": ""},
            "timestamp_ms": 1668481559918,
            "payload": payload,
            "expected_signature": sig,
            "expected_query": payload + "&signature=" + urllib.parse.quote(sig, safe=""),
            "expected_origin": "computed: the example's own key is not published; signed with the key named here over the payload the docs print",
        })

ws_cases = {
    "ed25519": ("4yNzx3yWC5bS6YTwEkSRaC0nRmSQIIStAUOh1b6kqaBrTLIhjCpI5lJH8q8R8WNO", "SIGNED Request Example (Ed25519)"),
    "rsa": ("CAvIjXy3F44yW6Pou5k8Dy1swsYDWJZLeoK2r8G4cFDnE9nosRppc2eKc1T8TRTQ", "SIGNED request example (RSA)"),
}
for label, key_name, key in [("ed25519", "binance-fix-ed25519", ed), ("rsa", "binance-examples-rsa", rsa)]:
    api_key, section = ws_cases[label]
    for case, params in [
        ("ascii", {"symbol": "BTCUSDT", "side": "SELL", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.01000000", "price": "52000.00", "recvWindow": 100, "timestamp": 1645423376532, "apiKey": api_key}),
        ("non-ascii", {"symbol": "１２３４５６", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "1.00000000", "price": "0.10000000", "recvWindow": 5000, "timestamp": 1645423376532, "apiKey": api_key}),
    ]:
        # The payload exactly as the docs print it for this key type ("no percent encoding here!").
        payload = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
        sig = sign(key, payload)
        vectors.append({
            "id": f"binance-ws-{label}-{case}",
            "venue": "binance",
            "surface": "ws",
            "source": f"{DOCS}/web-socket-api.md ({section}: the signature payload)",
            "key": key_name,
            "api_key": api_key,
            "params": params,
            "payload": payload,
            "expected_signature": sig,
            "expected_origin": "computed: the example's own key is not published; signed with the key named here over the payload the docs print",
        })

# The payloads above are the ones the docs print, byte for byte: pass the docs' rest-api.md and
# web-socket-api.md (at the commit above) to check.
if len(sys.argv) > 1:
    printed = "".join(open(path, encoding="utf-8").read() for path in sys.argv[1:])
    for v in vectors[1:]:
        assert v["payload"] in printed, v["id"]

out = {
    "about": "Published asymmetric signing examples; see SOURCE.md. 'expected_origin' says whether the expected signature is the venue's own or computed with a key the venue publishes.",
    "keys": keys,
    "vectors": vectors,
}
with open("tests/data/asymmetric_official.json", "w") as f:
    json.dump(out, f, indent=1, ensure_ascii=False)
    f.write("\n")
print(len(vectors), "vectors")
