"""pyotp's codes for keyward's TOTP interoperability test (tests/totp/pyotp.rs).

Reads a JSON list of cases {"seed_hex", "algorithm", "digits", "period", "time"} on stdin and
prints, for each, {"code": pyotp's code at "time", "uri": pyotp's otpauth:// provisioning URI}.
"""

import base64
import hashlib
import json
import sys

import pyotp

DIGESTS = {"SHA1": hashlib.sha1, "SHA256": hashlib.sha256, "SHA512": hashlib.sha512}

out = []
for case in json.load(sys.stdin):
    secret = base64.b32encode(bytes.fromhex(case["seed_hex"])).decode()
    totp = pyotp.TOTP(
        secret,
        digits=case["digits"],
        digest=DIGESTS[case["algorithm"]],
        interval=case["period"],
    )
    out.append(
        {
            "code": totp.at(case["time"]),
            "uri": totp.provisioning_uri(name="bot@example.com", issuer_name="keyward"),
        }
    )
json.dump(out, sys.stdout)
