"""Known-answer data for keyward-signing's `keys` module, made with Python `cryptography`.

Two modes:

* `make` (run once by hand; its output is `tests/data/keys.json`): generates an Ed25519, a P-256
  and an RSA-2048 key, writes each in the forms keyward reads (PKCS#8, SEC1, PKCS#1, Coinbase's
  base64 seed||public form, SEC1 with literal backslash-n as Coinbase's JSON key files carry it),
  the SPKI public key, a message and cryptography's signature over it. ECDSA signatures are
  converted from DER to the fixed 64-byte r||s (JWS) form keyward uses.
* `verify` (run by `tests/keys.rs`): reads a JSON list of {"public_pem", "message",
  "signature_hex"} on stdin, where a P-256 signature is r||s, and prints a JSON list of booleans:
  whether cryptography accepts each signature.

    python make_key_vectors.py make > tests/data/keys.json
"""

import base64
import json
import sys

import cryptography
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

MESSAGE = "GET api.coinbase.com/api/v3/brokerage/orders?q=a+b%20c=d&n=\u00e9\u2713 {\"x\":1}"


def private_pem(key, fmt):
    return key.private_bytes(
        serialization.Encoding.PEM, fmt, serialization.NoEncryption()
    ).decode("ascii")


def public_pem(key):
    return (
        key.public_key()
        .public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        .decode("ascii")
    )


def sign(key, message):
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(message)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        r, s = decode_dss_signature(key.sign(message, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return key.sign(message, padding.PKCS1v15(), hashes.SHA256())


def verify(public, message, signature):
    key = serialization.load_pem_public_key(public.encode("ascii"))
    try:
        if isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, message)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            if len(signature) != 64:
                return False
            der = encode_dss_signature(
                int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
            )
            key.verify(der, message, ec.ECDSA(hashes.SHA256()))
        else:
            key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


def case(name, kind, private, key, deterministic, rsa_bits=None):
    message = MESSAGE.encode("utf-8")
    out = {
        "name": name,
        "kind": kind,
        "private": private,
        "public": public_pem(key),
        "message": MESSAGE,
        "signature_hex": sign(key, message).hex(),
        "deterministic": deterministic,
    }
    if rsa_bits is not None:
        out["rsa_bits"] = rsa_bits
    return out


def make():
    pkcs8 = serialization.PrivateFormat.PKCS8
    ed = ed25519.Ed25519PrivateKey.generate()
    seed = ed.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    raw_public = ed.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    p256 = ec.generate_private_key(ec.SECP256R1())
    sec1 = private_pem(p256, serialization.PrivateFormat.TraditionalOpenSSL)
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cases = [
        case("ed25519 pkcs8", "ed25519", private_pem(ed, pkcs8), ed, True),
        case(
            "ed25519 coinbase base64 seed||public",
            "ed25519",
            base64.b64encode(seed + raw_public).decode("ascii"),
            ed,
            True,
        ),
        case("p256 pkcs8", "p256", private_pem(p256, pkcs8), p256, False),
        case("p256 sec1", "p256", sec1, p256, False),
        case("p256 sec1 literal \\n", "p256", sec1.replace("\n", "\\n"), p256, False),
        case("rsa2048 pkcs8", "rsa", private_pem(rsa_key, pkcs8), rsa_key, True, 2048),
        case(
            "rsa2048 pkcs1",
            "rsa",
            private_pem(rsa_key, serialization.PrivateFormat.TraditionalOpenSSL),
            rsa_key,
            True,
            2048,
        ),
    ]
    doc = {
        "source": "tests/python/make_key_vectors.py with cryptography==" + cryptography.__version__,
        "cases": cases,
    }
    json.dump(doc, sys.stdout, indent=1, ensure_ascii=True)
    sys.stdout.write("\n")


def verify_stdin():
    items = json.load(sys.stdin)
    results = [
        verify(i["public_pem"], i["message"].encode("utf-8"), bytes.fromhex(i["signature_hex"]))
        for i in items
    ]
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    if sys.argv[1:] == ["make"]:
        make()
    elif sys.argv[1:] == ["verify"]:
        verify_stdin()
    else:
        sys.exit("usage: make_key_vectors.py make|verify")
