#!/usr/bin/env python3
"""Interop driver for poststelle's JOSE layer, using jwcrypto as the independent implementation.

Usage:
  jwcrypto_interop.py encrypt PUB.jwk PLAINTEXT (zip|nozip)   -> compact JWE on stdout
  jwcrypto_interop.py decrypt PRIV.jwk FILE.jwe               -> plaintext on stdout
  jwcrypto_interop.py sign PRIV.jwk CLAIMS.json                -> compact PS512 SET on stdout
  jwcrypto_interop.py verify PUB.jwk FILE.jws                  -> verified payload on stdout

Exits non-zero on any failure, so callers (tests/it/jose_interop_python.rs, .ci/steps.d) fail
on a mismatch.
"""
import json
import sys

from jwcrypto import jwe, jwk, jws


def load_key(path):
    with open(path, "rb") as f:
        text = f.read()
    return jwk.JWK.from_json(text), json.loads(text)["kid"]


def read(path):
    with open(path, "rb") as f:
        return f.read()


def main(argv):
    cmd, key_path, file_path = argv[1], argv[2], argv[3]
    key, kid = load_key(key_path)
    out = sys.stdout.buffer
    if cmd == "encrypt":
        header = {"alg": "RSA-OAEP-256", "enc": "A256GCM", "kid": kid,
                  "cty": "application/json"}
        if argv[4] == "zip":
            header["zip"] = "DEF"
        token = jwe.JWE(read(file_path), protected=json.dumps(header))
        token.add_recipient(key)
        out.write(token.serialize(compact=True).encode())
    elif cmd == "decrypt":
        token = jwe.JWE()
        token.allowed_algs = ["RSA-OAEP-256", "A256GCM"]
        token.deserialize(read(file_path).decode().strip(), key=key)
        out.write(token.payload)
    elif cmd == "sign":
        token = jws.JWS(read(file_path))
        token.add_signature(key, alg="PS512",
                            protected=json.dumps({"alg": "PS512", "kid": kid,
                                                  "typ": "secevent+jwt"}))
        out.write(token.serialize(compact=True).encode())
    elif cmd == "verify":
        token = jws.JWS()
        token.allowed_algs = ["PS512"]
        token.deserialize(read(file_path).decode().strip())
        token.verify(key, alg="PS512")
        header = token.jose_header
        if header.get("typ") != "secevent+jwt":
            raise SystemExit("typ is not secevent+jwt")
        out.write(token.payload)
    else:
        raise SystemExit("unknown command " + cmd)


if __name__ == "__main__":
    main(sys.argv)
