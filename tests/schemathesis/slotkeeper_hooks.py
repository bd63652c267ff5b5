"""Schemathesis hooks for slotkeeper (tests/api/schemathesis.rs runs them).

1. Every request is signed over the exact bytes sent, like Retell and Cal.com do: a `requests`
   auth object sees the final body, so the fuzz gets past the signature check and exercises the
   JSON, argument, German-parser and booking layers. Schemathesis' `ignored_auth` check still
   sends unsigned requests and expects 401.
2. Every call is attributed to the demo salon (its number replaces a generated one; which salon
   a call belongs to is tested in tests/api/protocol.rs and tests/api/security/walls.rs), and a
   call without a call id gets a well-formed one. Otherwise almost every generated request would
   stop at "unknown salon" (404) or "call id missing" (400) and never reach the German parser
   and the booking layer. Schemathesis re-validates a case after this hook, so its checks judge
   the request actually sent.

Environment: SLOTKEEPER_FUZZ_RETELL_KEY, SLOTKEEPER_FUZZ_CALCOM_SECRET, SLOTKEEPER_FUZZ_SALON_NUMBER.
"""
import hashlib
import hmac
import json
import os
import time
from urllib.parse import urlsplit

import requests
import schemathesis

RETELL_KEY = os.environ["SLOTKEEPER_FUZZ_RETELL_KEY"].encode()
CALCOM_SECRET = os.environ["SLOTKEEPER_FUZZ_CALCOM_SECRET"].encode()
SALON_NUMBER = os.environ["SLOTKEEPER_FUZZ_SALON_NUMBER"]


class SlotkeeperSignature(requests.auth.AuthBase):
    """`X-Retell-Signature: v=<ms>,d=<hex HMAC(body + v)>`, or Cal.com's `X-Cal-Signature-256`."""

    def __call__(self, request):
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        if urlsplit(request.url).path.startswith("/calcom/"):
            request.headers["X-Cal-Signature-256"] = hmac.new(CALCOM_SECRET, body, hashlib.sha256).hexdigest()
        else:
            stamp = str(int(time.time() * 1000))
            digest = hmac.new(RETELL_KEY, body + stamp.encode(), hashlib.sha256).hexdigest()
            request.headers["X-Retell-Signature"] = f"v={stamp},d={digest}"
        return request


schemathesis.auth.set_from_requests(SlotkeeperSignature())


def call_id_for(value):
    """Deterministic (Hypothesis replays cases), and different for different cases."""
    text = json.dumps(value, sort_keys=True, default=str)
    return "call_" + hashlib.sha256(text.encode()).hexdigest()[:24]


@schemathesis.hook
def before_call(context, case, **kwargs):
    """Runs in every phase (examples, coverage, fuzzing)."""
    path = case.operation.path
    if path.startswith("/retell/functions/"):
        headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "x-retell-to-number"}
        if not any(name.lower() == "x-retell-call-id" for name in headers):
            headers["X-Retell-Call-Id"] = call_id_for([path, case.body])
        headers["X-Retell-To-Number"] = SALON_NUMBER
        case.headers = headers
    elif path in ("/retell/functions", "/retell/webhook") and isinstance(case.body, dict):
        call = case.body.get("call", {})
        if isinstance(call, dict):
            call = dict(call)
            call.setdefault("call_id", call_id_for([path, case.body]))
            call["to_number"] = SALON_NUMBER
            case.body = {**case.body, "call": call}
