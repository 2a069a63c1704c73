"""The Python pattern that keyward's hmac-newline-v0 is compatible with, written from its
description alone (standard library only), as the independent reading for the interop test.

The pattern, as services copy it:

    message = METHOD + "\n" + url + "\n" + str(unix_seconds)
    if body:
        message += "\n" + body
    for name in sorted(signed_headers, key=str.lower):
        message += "\n" + name + ":" + headers[name]
    signature = hmac.new(secret, message, hashlib.sha256).hexdigest()

Header names go into the message exactly as the caller lists them (their case kept); they are
sorted by their lower-case form; a header's value is looked up without regard to case, as HTTP
header names are, and used as it is (not trimmed).

Usage: reads a JSON list of cases on stdin, each
    {"secret_b64", "method", "url", "timestamp", "body_b64", "headers": [[name, value], ...],
     "signed_headers": [name, ...]}
and writes a JSON list of {"signature", "message_b64"} to stdout.
"""

import base64
import hashlib
import hmac
import json
import sys


def header_value(headers, name):
    for given, value in headers:
        if given.lower() == name.lower():
            return value
    raise KeyError(name)


def message(method, url, timestamp, body, headers, signed_headers):
    out = (method + "\n" + url + "\n" + str(timestamp)).encode("utf-8")
    if body:
        out += b"\n" + body
    for name in sorted(signed_headers, key=str.lower):
        out += ("\n" + name + ":" + header_value(headers, name)).encode("utf-8")
    return out


def sign(secret, msg):
    return hmac.new(secret, msg, hashlib.sha256).hexdigest()


def main():
    results = []
    for case in json.load(sys.stdin):
        msg = message(
            case["method"],
            case["url"],
            case["timestamp"],
            base64.b64decode(case["body_b64"]),
            case["headers"],
            case["signed_headers"],
        )
        results.append(
            {
                "signature": sign(base64.b64decode(case["secret_b64"]), msg),
                "message_b64": base64.b64encode(msg).decode("ascii"),
            }
        )
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
