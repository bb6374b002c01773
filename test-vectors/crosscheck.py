#!/usr/bin/env python3
"""Independent cross-check of the poststelle test vectors (jwe, set, metadata, callback, json,
reply, reply-admission).

This script shares no code with poststelle: it re-implements the rules from the FIT-Connect
documentation (as summarised in test-vectors/README.md) in Python, uses jwcrypto for the
cryptography and jsonschema (with its referencing registry) for the metadata schemas and the
JSON Fachdaten packs, and checks that every case of those seven kinds yields the result the
manifest expects. The reply cases are the acceptance test "an implementation we did not write
decrypts a reply produced by poststelle": their JWEs were sealed by poststelle's receiver side. It proves the vectors are right, not merely consistent with our
implementation.

    python3 test-vectors/crosscheck.py [--xmllint] [DIR]   # DIR defaults to the script's directory

With --xmllint the xsd cases are checked too, for their valid/invalid verdict only, with libxml2's
xmllint (positions and error kinds are poststelle's and not compared).

Metadata are validated against the schema their $schema names (absent: 1.0.0): the official
FIT-Connect file when $POSTSTELLE_SHARED/fit-connect/metadata.schema.v<version>.json exists
(1.0.0, 2.0.0), else the project's schema in ../schemas/fit-connect/ (always for 2.1.0, whose
official text is not available). Exit status 0 if every case matches, 1 otherwise.
"""

import base64
import hashlib
import hmac
import json
import os
import re
import sys

from urllib.parse import urljoin

from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from jwcrypto import jwe as jwe_mod
from jwcrypto import jwk, jws

JWE_FORBIDDEN = {"jku", "jwk", "x5u", "epk", "apu", "apv", "p2s", "p2c", "iv", "tag", "b64"}
JWS_FORBIDDEN = {"jku", "jwk", "x5u", "x5c", "b64", "enc", "zip"}
MAX_INFLATED = 64 * 1024 * 1024
EVENT_PREFIX = "https://schema.fitko.de/fit-connect/events/"
SUBMIT = EVENT_PREFIX + "submit-submission"
ACCEPT = EVENT_PREFIX + "accept-submission"
REJECT = EVENT_PREFIX + "reject-submission"
SUBMIT_REPLY = EVENT_PREFIX + "submit-reply"
PROBLEMS = EVENT_PREFIX + "problems/"
MIN_IAT = 1577833200
IAT_SKEW = 300
CALLBACK_MAX_AGE = 300
CALLBACK_SKEW = 60
METADATA_VERSIONS = ("1.0.0", "2.0.0", "2.1.0")
METADATA_URI = "https://schema.fitko.de/fit-connect/metadata/{}/metadata.schema.json"
METADATA_V1 = METADATA_URI.format("1.0.0")
JSON_MAX_DEPTH = 64  # poststelle's [limits.json] default
JSON_INT_RANGE = (-(2**63), 2**64 - 1)
B64URL = re.compile(r"^[A-Za-z0-9_-]*$")
UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
SET_SCHEMA_RE = re.compile(
    r"^https://schema\.fitko\.de/fit-connect/set-payload/1\.(\d+)\.(\d+)/set-payload\.schema\.json$"
)


class Refused(Exception):
    """A check failed; the argument is the reason name used by the manifest."""


def b64d(part):
    if not B64URL.match(part) or len(part) % 4 == 1:
        raise Refused("base64")
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def strict_json_object(raw, duplicate_reason, syntax_reason):
    def no_duplicates(pairs):
        keys = [k for k, _ in pairs]
        if len(keys) != len(set(keys)):
            raise Refused(duplicate_reason)
        return dict(pairs)

    try:
        value = json.loads(raw.decode("utf-8"), object_pairs_hook=no_duplicates)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise Refused(syntax_reason) from None
    if not isinstance(value, dict):
        raise Refused(syntax_reason)
    return value


def header_string(header, name, required):
    if name not in header:
        if required:
            raise Refused("missing-header-member")
        return None
    if not isinstance(header[name], str):
        raise Refused("header-member-type")
    return header[name]


# ---------------------------------------------------------------------------------------- jwe

JWE_FAILURE = {
    "alg-not-allowed": "jwe-unsupported-algorithm",
    "enc-not-allowed": "jwe-unsupported-algorithm",
    "zip-not-supported": "jwe-unsupported-algorithm",
    "crit-not-supported": "jwe-unsupported-algorithm",
    "forbidden-header-member": "jwe-unsupported-algorithm",
    "unknown-kid": "jwe-unknown-key",
    "decryption-failed": "jwe-decryption-failed",
    "inflate-failed": "jwe-inflate",
    "inflate-too-large": "jwe-inflate",
}


def decrypt_jwe(token, key):
    if token.lstrip().startswith("{"):
        raise Refused("json-serialization")
    parts = token.split(".")
    if len(parts) != 5:
        raise Refused("part-count")
    header = strict_json_object(b64d(parts[0]), "duplicate-header-member", "header-not-json")
    if "crit" in header:
        raise Refused("crit-not-supported")
    if header_string(header, "alg", True) != "RSA-OAEP-256":
        raise Refused("alg-not-allowed")
    if header_string(header, "enc", True) != "A256GCM":
        raise Refused("enc-not-allowed")
    if header_string(header, "zip", False) not in (None, "DEF"):
        raise Refused("zip-not-supported")
    if JWE_FORBIDDEN & header.keys():
        raise Refused("forbidden-header-member")
    kid = header_string(header, "kid", True)
    header_string(header, "cty", False)
    header_string(header, "typ", False)
    encrypted_key, iv, ciphertext, tag = (b64d(p) for p in parts[1:])
    if len(iv) != 12:
        raise Refused("iv-length")
    if len(tag) != 16:
        raise Refused("tag-length")
    if kid != key.get("kid"):
        raise Refused("unknown-kid")
    if len(encrypted_key) != 512:
        raise Refused("encrypted-key-length")
    token_obj = jwe_mod.JWE(algs=["RSA-OAEP-256", "A256GCM"])
    try:
        token_obj.deserialize(token)
        token_obj.decrypt(key, max_plaintext=MAX_INFLATED)
    except Exception as err:  # noqa: BLE001 - jwcrypto wraps the cause; classify by its log
        log = " ".join(getattr(token_obj, "decryptlog", []) or []) + repr(err)
        if token_obj.plaintext == b"" and getattr(token_obj, "decryptlog", None) == ["Success"]:
            # jwcrypto 1.6 decrypts an empty plaintext, then mistakes b"" for "no recipient".
            return b""
        if "output size" in log:
            raise Refused("inflate-too-large") from None
        if "zlib" in log or "Error -3" in log:
            raise Refused("inflate-failed") from None
        raise Refused("decryption-failed") from None
    return token_obj.plaintext


def check_jwe(suite, case):
    token = suite.read(case["inputs"]["token"]).decode("ascii", "replace")
    expected = case["expected"]
    try:
        plain = decrypt_jwe(token, suite.decryption_key)
    except Refused as r:
        reason = str(r)
        if expected["result"] != "error":
            return f"expected plaintext, got {reason}"
        failure = JWE_FAILURE.get(reason, "jwe-malformed")
        if (failure, reason) != (expected["failure"], expected["reason"]):
            return f"expected {expected['failure']}/{expected['reason']}, got {failure}/{reason}"
        return None
    if expected["result"] != "plaintext":
        return "expected an error, the JWE decrypted"
    if hashlib.sha512(plain).hexdigest() != expected["sha512"] or len(plain) != expected["length"]:
        return "plaintext hash or length differs"
    return None


# ---------------------------------------------------------------------------------------- set

def claim_str(claims, name):
    if name not in claims:
        raise Refused("missing-claim:" + name)
    if not isinstance(claims[name], str):
        raise Refused("bad-claim:" + name)
    return claims[name]


def prefixed_uuid(value, prefixes):
    return any(value.startswith(p) and UUID_RE.match(value[len(p):]) for p in prefixes)


def valid_tags(payload):
    tags = payload.get("authenticationTags")
    if not isinstance(tags, dict) or not isinstance(tags.get("metadata"), str):
        return False
    if set(tags) - {"metadata", "data", "attachments"}:
        return False
    attachments = tags.get("attachments", {})
    if not isinstance(attachments, dict):
        return False
    values = [tags["metadata"]] + ([tags["data"]] if "data" in tags else []) + list(attachments.values())
    for tag in values:
        if not isinstance(tag, str) or len(tag) != 22 or not B64URL.match(tag):
            return False
    return all(UUID_RE.match(k) for k in attachments)


def valid_problems(payload):
    problems = payload.get("problems")
    if not isinstance(problems, list):
        return False
    fields = {"type", "title", "detail", "instance"}
    return all(isinstance(p, dict) and set(p) == fields and all(isinstance(v, str) for v in p.values())
               for p in problems)


def verify_set(token, suite, now):
    if token.lstrip().startswith("{"):
        raise Refused("json-serialization")
    parts = token.split(".")
    if len(parts) != 3:
        raise Refused("part-count")
    header = strict_json_object(b64d(parts[0]), "duplicate-header-member", "header-not-json")
    signature = b64d(parts[2])
    if "crit" in header:
        raise Refused("crit-not-supported")
    if header_string(header, "alg", True) != "PS512":
        raise Refused("alg-not-allowed")
    if JWS_FORBIDDEN & header.keys():
        raise Refused("forbidden-header-member")
    kid = header_string(header, "kid", True)
    if header.get("typ") != "secevent+jwt":
        raise Refused("typ")
    # Member names are unique at every depth (a duplicate `sub` is ambiguous).
    claims = strict_json_object(b64d(parts[1]), "duplicate-member", "payload-not-json")
    iss = claims.get("iss")
    if iss is None:
        raise Refused("missing-claim:iss")
    if not isinstance(iss, str):
        raise Refused("bad-claim:iss")
    if UUID_RE.match(iss):
        key = suite.destination_keys.get((iss, kid))
    elif iss.startswith("https://") or iss.startswith("http://"):
        key = suite.delivery_keys.get((iss, kid))
    else:
        raise Refused("bad-claim:iss")
    if key is None:
        raise Refused("unknown-key")
    if len(signature) != 512:
        raise Refused("signature-length")
    try:
        obj = jws.JWS()
        obj.deserialize(token)
        obj.verify(key, alg="PS512")
    except Exception:  # noqa: BLE001 - any verification failure is a bad signature here
        raise Refused("bad-signature") from None
    minor = None
    if "$schema" in claims:
        m = SET_SCHEMA_RE.match(claims["$schema"]) if isinstance(claims["$schema"], str) else None
        if not m:
            raise Refused("bad-claim:$schema")
        minor = int(m.group(1))
    if not UUID_RE.match(claim_str(claims, "jti")):
        raise Refused("bad-claim:jti")
    if "iat" not in claims:
        raise Refused("missing-claim:iat")
    iat = claims["iat"]
    if not isinstance(iat, int) or isinstance(iat, bool):
        raise Refused("bad-claim:iat")
    if iat < MIN_IAT or iat > now + IAT_SKEW:
        raise Refused("iat-out-of-range")
    sub_prefixes = ["submission:"] if minor is not None and minor < 2 else ["submission:", "reply:"]
    if not prefixed_uuid(claim_str(claims, "sub"), sub_prefixes):
        raise Refused("bad-claim:sub")
    if not prefixed_uuid(claim_str(claims, "txn"), ["case:"]):
        raise Refused("bad-claim:txn")
    if "events" not in claims:
        raise Refused("missing-claim:events")
    events = claims["events"]
    if not isinstance(events, dict):
        raise Refused("bad-claim:events")
    if len(events) != 1:
        raise Refused("event-count")
    (event, payload), = events.items()
    if not event.startswith(EVENT_PREFIX):
        raise Refused("bad-claim:events")
    if not isinstance(payload, dict):
        raise Refused("event-payload")
    if minor is not None and event in (SUBMIT, ACCEPT) and not valid_tags(payload):
        raise Refused("event-payload")
    if minor is not None and event == REJECT and not valid_problems(payload):
        raise Refused("event-payload")
    return event


def check_set(suite, case):
    token = suite.read(case["inputs"]["token"]).decode("ascii", "replace")
    expected = case["expected"]
    try:
        event = verify_set(token, suite, case.get("now", suite.now))
    except Refused as r:
        if expected["result"] != "error":
            return f"expected valid, got {r}"
        return None if str(r) == expected["reason"] else f"expected {expected['reason']}, got {r}"
    if expected["result"] != "valid":
        return f"expected {expected['reason']}, the SET verified"
    return None if event == expected["event"] else f"event {event}"


# ----------------------------------------------------------------------------------- metadata

def pointer(path):
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def check_metadata(suite, case):
    raw = suite.read(case["inputs"]["document"])
    expected = case["expected"]
    try:
        doc = json.loads(raw.decode("utf-8"))
        problem, pointers = None, []
    except (UnicodeDecodeError, json.JSONDecodeError):
        doc, problem, pointers = None, "syntax-violation", []
    version = None
    if problem is None:
        schema = doc.get("$schema", METADATA_V1) if isinstance(doc, dict) else METADATA_V1
        version, validator = suite.metadata_validators.get(schema, (None, None)) \
            if isinstance(schema, str) else (None, None)
        if validator is None:
            problem = "unsupported-metadata-schema"
        else:
            errors = list(validator.iter_errors(doc))
            if errors:
                problem, pointers = "schema-violation", [pointer(e.absolute_path) for e in errors]
    if problem is None:
        if expected["result"] != "valid":
            return f"expected {expected['problem']}, valid"
        return None if expected["version"] == version else f"valid as {version}, expected {expected['version']}"
    if expected["result"] != "error" or expected["problem"] != problem:
        return f"expected {expected}, got {problem}"
    if "pointer" in expected and expected["pointer"] not in pointers:
        return f"no violation at {expected['pointer']!r} (got {pointers})"
    return None


# ----------------------------------------------------------------------------------- callback

def verify_callback(secret, timestamp, authentication, body, now, seen):
    if not timestamp or len(timestamp) > 12 or not all(c in "0123456789" for c in timestamp):
        return "bad-timestamp"
    ts = int(timestamp)
    if ts < now - CALLBACK_MAX_AGE or ts > now + CALLBACK_SKEW:
        return "stale"
    if len(authentication) != 128 or not all(c in "0123456789abcdef" for c in authentication):
        return "bad-mac-format"
    mac = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha512).hexdigest()
    if not hmac.compare_digest(mac, authentication):
        return "bad-mac"
    if (ts, mac) in seen:
        return "replay"
    seen.add((ts, mac))
    return "accept"


def check_callback(suite, case):
    request = json.loads(suite.read(case["inputs"]["request"]))
    body = suite.read(case["inputs"]["body"])
    now = case.get("now", suite.now)
    seen = set()
    results = [
        verify_callback(request["secret"].encode(), request["timestamp"], request["authentication"],
                        body, now, seen)
        for _ in range(request.get("deliveries", 1))
    ]
    return None if results == case["expected"]["results"] else f"got {results}"


# --------------------------------------------------------------------------------------- json

def json_refs(node, base, out):
    """Every $ref of a schema document, resolved against the $id in scope."""
    if isinstance(node, dict):
        if isinstance(node.get("$id"), str):
            base = urljoin(base, node["$id"])
        if isinstance(node.get("$ref"), str):
            out.append(urljoin(base, node["$ref"]))
        for key, value in node.items():
            if key not in ("const", "enum", "default", "examples"):
                json_refs(value, base, out)
    elif isinstance(node, list):
        for item in node:
            json_refs(item, base, out)


def load_json_pack(directory):
    """The pack's schemas by $id, or None when a $ref leaves the pack."""
    names = [n for n in os.listdir(directory) if n.endswith(".json")]
    if any(n.endswith(".schema.json") for n in names):
        names = [n for n in names if n.endswith(".schema.json")]
    schemas = {}
    for name in sorted(names):
        with open(os.path.join(directory, name), "rb") as f:
            doc = strict_json_object(f.read(), "duplicate", "syntax")
        schemas[doc["$id"].rstrip("#")] = doc
    for sid, doc in schemas.items():
        refs = []
        json_refs(doc, sid, refs)
        if any(r.split("#")[0] not in schemas for r in refs):
            return None
    return schemas


def json_depth(value):
    depth, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, (dict, list)):
            depth = max(depth, level)
            stack.extend((child, level + 1) for child in (node.values() if isinstance(node, dict) else node))
    return depth


def json_numbers_exact(value):
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, bool):
            continue
        if isinstance(node, int) and not JSON_INT_RANGE[0] <= node <= JSON_INT_RANGE[1]:
            return False
        if isinstance(node, float) and node in (float("inf"), float("-inf")):
            return False
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return True


def read_json_document(raw):
    """The document, or the manifest's reason for refusing it."""
    def no_duplicates(pairs):
        keys = [k for k, _ in pairs]
        if len(keys) != len(set(keys)):
            raise Refused("duplicate-member")
        return dict(pairs)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused("syntax") from None
    try:
        doc = json.loads(text, object_pairs_hook=no_duplicates,
                         parse_constant=lambda c: float(c) if c != "NaN" else None)
    except RecursionError:
        raise Refused("too-deep") from None
    except ValueError:
        raise Refused("syntax") from None
    if json_depth(doc) > JSON_MAX_DEPTH:
        raise Refused("too-deep")
    if not json_numbers_exact(doc):
        raise Refused("number-out-of-range")
    return doc


def check_json(suite, case):
    expected = case["expected"]
    schemas = load_json_pack(os.path.join(suite.dir, case["inputs"]["pack"]))
    if schemas is None:
        return None if expected["result"] == "pack-refused" else "a $ref leaves the pack"
    if expected["result"] == "pack-refused":
        return "the pack is self-contained"
    try:
        doc = read_json_document(suite.read(case["inputs"]["document"]))
    except Refused as r:
        if expected["result"] != "refused":
            return f"refused: {r}"
        return None if str(r) == expected["reason"] else f"refused as {r}, expected {expected['reason']}"
    if expected["result"] == "refused":
        return f"expected {expected['reason']}, the document was read"
    uri = doc.get("$schema") if isinstance(doc, dict) else None
    if uri not in schemas:
        return None if expected["result"] == "unsupported-schema" else "no schema for the document"
    registry = Registry().with_resources(
        (sid, Resource.from_contents(schema)) for sid, schema in schemas.items())
    validator = Draft202012Validator(schemas[uri], registry=registry, format_checker=FormatChecker())
    found = {(pointer(e.absolute_path), e.validator) for e in validator.iter_errors(doc)}
    if not found:
        return None if expected["result"] == "valid" else "valid"
    if expected["result"] != "invalid":
        return f"invalid at {sorted(found)}"
    wanted = {(v["pointer"], v["keyword"]) for v in expected["violations"]}
    return None if found == wanted else f"violations {sorted(found)}, expected {sorted(wanted)}"


# -------------------------------------------------------------------------------------- reply

def jwe_part5(token):
    parts = token.split(".")
    return parts[4] if len(parts) == 5 else None


def open_reply(suite, case, now):
    """(result, fault, problems, opened): the sender's checks of a downloaded reply."""
    base = case["inputs"]["reply"]
    doc = json.loads(suite.read(base + "/reply.json"))
    log = json.loads(suite.read(base + "/events.json"))["eventLog"]
    attachments = {aid: suite.read(f"{base}/attachments/{aid}.jwe").decode("ascii")
                   for aid in doc.get("attachments", [])}
    key = jwk.JWK(**json.loads(suite.read(case["inputs"]["replyKey"])))
    meta, data = doc.get("encryptedMetadata") or "", doc.get("encryptedData") or ""
    if not meta or not data:
        return "unverified", "missing-part", [], None
    # Every SET of the reply's log verifies; exactly one submit-reply by the delivery service
    # about this reply (sub) in the reply's case (txn) carries the tags of the JWEs.
    iss = suite.manifest["context"]["deliveryService"]["iss"]
    submits = []
    for token in log:
        try:
            event = verify_set(token, suite, now)
        except Refused:
            return "unverified", "event-log", [], None
        claims = json.loads(b64d(token.split(".")[1]))
        if (event == SUBMIT_REPLY and claims["iss"] == iss
                and claims["sub"].lower() == "reply:" + doc["replyId"].lower()
                and claims["txn"].lower() == "case:" + doc["caseId"].lower()):
            submits.append(claims["events"][SUBMIT_REPLY])
    if len(submits) != 1:
        return "unverified", "submit-reply-count", [], None
    if not valid_tags(submits[0]):
        return "unverified", "tags-missing", [], None
    tags = submits[0]["authenticationTags"]
    differing = []
    if jwe_part5(meta) != tags["metadata"]:
        differing.append("metadata")
    if jwe_part5(data) != tags.get("data"):
        differing.append("data")
    want = {k.lower(): v for k, v in tags.get("attachments", {}).items()}
    got = {k.lower(): jwe_part5(v) for k, v in attachments.items()}
    for aid in sorted(set(want) | set(got)):
        if aid not in want or want[aid] != got.get(aid):
            differing.append("attachment:" + aid)
    if differing:
        return "reject", "tag-mismatch", [(PROBLEMS + "incorrect-authentication-tag", p) for p in differing], None
    # The reply key is the one the sender named: a part that does not open is encryption-issue.
    opened = {}
    parts = [("metadata", meta), ("data", data)] + [("attachment:" + a, t) for a, t in sorted(attachments.items())]
    for part, token in parts:
        try:
            opened[part] = decrypt_jwe(token, key)
        except Refused:
            return "reject", "undecryptable", [(PROBLEMS + "encryption-issue", part)], None
    opened["cty"] = json.loads(b64d(data.split(".")[0])).get("cty")
    return "accept", None, [], opened


def check_reply(suite, case):
    expected = case["expected"]
    result, fault, problems, opened = open_reply(suite, case, case.get("now", suite.now))
    if result != expected["result"]:
        return f"expected {expected['result']}, got {result} ({fault})"
    if result != "accept":
        if fault != expected["fault"]:
            return f"fault {fault}, expected {expected['fault']}"
        wanted = sorted((p["type"], p["instance"]) for p in expected.get("problems", []))
        return None if sorted(problems) == wanted else f"problems {sorted(problems)}, expected {wanted}"
    if opened["data"] != suite.read(case["inputs"]["data"]):
        return "the decrypted data differ from the data file"
    if hashlib.sha512(opened["data"]).hexdigest() != expected["dataSha512"]:
        return "data hash differs"
    if opened["cty"] != expected["dataType"]:
        return f"data cty {opened['cty']}"
    meta = json.loads(opened["metadata"])
    version, validator = suite.metadata_validators.get(meta.get("$schema"), (None, None))
    if validator is None or list(validator.iter_errors(meta)):
        return "the reply's metadata are not valid"
    if version != expected["metadataVersion"]:
        return f"metadata version {version}"
    if meta["contentStructure"]["data"]["hash"]["content"] != hashlib.sha512(opened["data"]).hexdigest():
        return "the metadata's data hash differs"
    got = {p[len("attachment:"):]: hashlib.sha512(v).hexdigest()
           for p, v in opened.items() if p.startswith("attachment:")}
    wanted = {k.lower(): v for k, v in expected["attachments"].items()}
    return None if got == wanted else f"attachments {got}"


def reply_key_ok(key):
    """The FIT-Connect rules on a reply key (an encryption key without certificate)."""
    if key.get("kty") != "RSA" or {"d", "p", "q", "dp", "dq", "qi"} & key.keys():
        return False
    if key.get("alg") != "RSA-OAEP-256" or key.get("key_ops") != ["wrapKey"]:
        return False
    if key.get("use", "enc") != "enc":
        return False
    if not isinstance(key.get("kid"), str) or not 8 <= len(key["kid"]) <= 64 or key.get("e") != "AQAB":
        return False
    try:
        return int.from_bytes(b64d(key["n"]), "big").bit_length() == 4096
    except (Refused, KeyError, TypeError):
        return False


def check_reply_admission(suite, case):
    expected = case["expected"]
    meta = json.loads(suite.read(case["inputs"]["metadata"]))
    request = json.loads(suite.read(case["inputs"]["request"]))
    _, validator = suite.metadata_validators.get(meta.get("$schema", METADATA_V1), (None, None))
    if validator is None or list(validator.iter_errors(meta)):
        return "the submission's metadata are not valid"
    channel = meta.get("replyChannel") or {}
    fit = channel.get("fitConnect")
    offered = request["replyChannels"]
    if fit is None:
        verdict = "reply-channel-not-fit-connect"
    elif offered and "fitConnect" not in offered:  # no channels configured: any
        verdict = "reply-channel-not-offered"
    elif request["processStandard"] not in fit["processStandards"]:
        verdict = "reply-process-standard-not-chosen"
    elif not reply_key_ok(fit["encryptionPublicKey"]):
        verdict = "reply-key-invalid"
    else:
        verdict = None
    if verdict is None:
        if expected["result"] != "admit":
            return f"expected {expected['refusal']}, admitted"
        kid = fit["encryptionPublicKey"]["kid"]
        return None if kid == expected["kid"] else f"kid {kid}"
    if expected["result"] != "refuse":
        return f"expected admit, refused: {verdict}"
    return None if verdict == expected["refusal"] else f"refused as {verdict}, expected {expected['refusal']}"


# -------------------------------------------------------------------------------------- suite

class Suite:
    def __init__(self, directory):
        self.dir = directory
        self.manifest = json.loads(self.read("manifest.json"))
        if self.manifest["format"] != 1:
            raise SystemExit("unsupported manifest format")
        self.now = self.manifest["now"]
        ctx = self.manifest["context"]
        self.decryption_key = jwk.JWK(**json.loads(self.read(ctx["destination"]["decryptionKey"])))
        self.delivery_keys = self.jwks(ctx["deliveryService"]["jwks"], ctx["deliveryService"]["iss"])
        self.destination_keys = self.jwks(ctx["destination"]["signingJwks"],
                                          ctx["destination"]["destinationId"])
        shared = os.environ.get("POSTSTELLE_SHARED")
        self.metadata_validators, labels = {}, []
        for version in METADATA_VERSIONS:
            official = os.path.join(shared, "fit-connect", f"metadata.schema.v{version}.json") if shared else None
            if official and os.path.isfile(official):
                schema_path = official
                labels.append(f"{version} official")
            else:
                schema_path = os.path.join(directory, "..", "schemas", "fit-connect", f"metadata-{version}.schema.json")
                labels.append(f"{version} project")
            with open(schema_path, "rb") as f:
                schema = json.load(f)
            self.metadata_validators[METADATA_URI.format(version)] = (
                version, Draft202012Validator(schema, format_checker=FormatChecker()))
        self.schema_label = "metadata schemas " + ", ".join(labels)

    def read(self, rel):
        with open(os.path.join(self.dir, rel), "rb") as f:
            return f.read()

    def jwks(self, rel, iss):
        keys = {}
        for key in json.loads(self.read(rel))["keys"]:
            keys[(iss, key["kid"])] = jwk.JWK(**key)
        return keys


def check_xsd_with_xmllint(suite, case):
    """Valid/invalid verdict of libxml2 (an independent XSD validator); positions differ by design."""
    import subprocess  # only with --xmllint

    if case["rule"].startswith("poststelle:"):
        return None  # a gateway policy beyond XML Schema (e.g. DOCTYPE refused): not libxml2's call
    schema = os.path.join(suite.dir, case["inputs"]["schema"])
    instance = os.path.join(suite.dir, case["inputs"]["instance"])
    run = subprocess.run(["xmllint", "--noout", "--nonet", "--schema", schema, instance],
                         capture_output=True, check=False)
    verdict = "valid" if run.returncode == 0 else "invalid"
    return None if verdict == case["expected"]["result"] else f"xmllint says {verdict}"


CHECKS = {"jwe": check_jwe, "set": check_set, "metadata": check_metadata, "callback": check_callback,
          "json": check_json, "reply": check_reply, "reply-admission": check_reply_admission}


def main():
    args = [a for a in sys.argv[1:] if a != "--xmllint"]
    if "--xmllint" in sys.argv[1:]:
        CHECKS["xsd"] = check_xsd_with_xmllint
    directory = args[0] if args else os.path.dirname(os.path.abspath(__file__))
    suite = Suite(directory)
    passed = failed = 0
    for case in suite.manifest["cases"]:
        check = CHECKS.get(case["kind"])
        if check is None:
            continue
        try:
            problem = check(suite, case)
        except Exception as err:  # noqa: BLE001 - a crash is a failed case, with its cause
            problem = f"crashed: {err!r}"
        if problem and not case.get("xfail"):
            failed += 1
            print(f"FAIL {case['id']}: {problem}")
        else:
            passed += 1
    kinds = "/".join(sorted(CHECKS))
    print(f"crosscheck {kinds} ({suite.schema_label}): {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
