"""Verifies an AOL notification's X-AOL-Signature with the standard library.

usage: python3 notify_verify.py SECRET SIGNATURE_HEADER BODY_FILE [MAX_AGE_SECONDS]
exit 0: the signature is AOL's for this body; 1: it is not.
"""
import hashlib
import hmac
import sys
import time


def verify(secret: bytes, header: str, body: bytes, max_age: int) -> bool:
    parts = dict(part.split("=", 1) for part in header.split(","))
    t, v1 = parts["t"], parts["v1"]
    if abs(time.time() - int(t)) > max_age:
        return False
    expected = hmac.new(secret, t.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, v1)


if __name__ == "__main__":
    secret, header, body_file = sys.argv[1].encode(), sys.argv[2], sys.argv[3]
    max_age = int(sys.argv[4]) if len(sys.argv) > 4 else 300
    with open(body_file, "rb") as f:
        body = f.read()
    ok = verify(secret, header, body, max_age)
    print("valid" if ok else "INVALID")
    sys.exit(0 if ok else 1)
