"""Python `cryptography` side of the interoperability tests (tests/python_interop.rs).

usage: fernet_py.py OP KEYS [ARG...]   (KEYS: comma-separated, primary first; data on stdin)
  encrypt KEYS AT          -> token        (AT: seconds since the epoch, or "now")
  decrypt KEYS TTL NOW     -> plaintext    (TTL and NOW: integers, or "-" for none)
  rotate KEYS              -> token
  timestamp KEYS           -> integer
  generate-key             -> a new key
Exit status 3 means cryptography raised InvalidToken.
"""

import sys

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


def ring(keys):
    return MultiFernet([Fernet(k.encode()) for k in keys.split(",")])


def main(argv):
    op = argv[1]
    if op == "generate-key":
        sys.stdout.write(Fernet.generate_key().decode())
        return 0
    f = ring(argv[2])
    data = sys.stdin.buffer.read()
    out = sys.stdout.buffer
    try:
        if op == "encrypt":
            at = argv[3]
            out.write(f.encrypt(data) if at == "now" else f.encrypt_at_time(data, int(at)))
        elif op == "decrypt":
            ttl, now = argv[3], argv[4]
            if ttl == "-":
                out.write(f.decrypt(data))
            else:
                out.write(f.decrypt_at_time(data, int(ttl), int(now)))
        elif op == "rotate":
            out.write(f.rotate(data))
        elif op == "timestamp":
            out.write(str(f.extract_timestamp(data)).encode())
        else:
            sys.stderr.write(f"unknown op {op}\n")
            return 2
    except InvalidToken:
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
