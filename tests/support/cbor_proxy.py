#!/usr/bin/env python3
"""Translating proxy between the Rust AWS SDK for CloudWatch and moto.

Why it exists: since aws-sdk-cloudwatch 1.100 the Rust SDK speaks Smithy RPC v2
CBOR only (POST /service/GraniteServiceVersion20100801/operation/<Op>,
content-type: application/cbor, smithy-protocol: rpc-v2-cbor) and has no setting
to choose another protocol. moto (5.2.5, the newest when this was written)
answers those requests with 404 and its maintainers do not plan CBOR support
(getmoto/moto#9195). moto does speak AWS JSON 1.0 for CloudWatch, so this proxy
decodes each CBOR request, forwards it to moto as JSON with
`X-Amz-Target: GraniteServiceVersion20100801.<Op>`, and re-encodes moto's JSON
reply as CBOR (timestamps as CBOR tag 1, epoch seconds). botocore's service
model says which members are timestamps, doubles, integers and blobs.

Test hooks (documented in tests/it/cloudwatch_moto.rs):
- `--page-size N`: moto ignores MaxDatapoints and never returns NextToken, so
  the proxy splits GetMetricData replies into pages of at most N datapoints
  (over all results) and issues a NextToken; the next request with that token
  gets the next page (moto is asked again; its answer is deterministic).
- Access denied: a request whose access key id (from the Authorization header)
  is `DENIED`, or that names the namespace `Msgperf/AccessDenied`, gets the
  error AWS sends for a missing IAM permission: HTTP 400, `AccessDenied`.

Usage: cbor_proxy.py --port P --upstream http://127.0.0.1:MOTO [--page-size N]
Prints `READY <port>` on stdout once it listens (port 0 picks a free one).
"""

import argparse
import base64
import datetime as dt
import json
import re
import sys
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import botocore.session
import cbor2

TARGET_PREFIX = "GraniteServiceVersion20100801"
PATH_RE = re.compile(r"^/service/" + TARGET_PREFIX + r"/operation/([A-Za-z]+)$")
DENIED_KEY = "DENIED"
DENIED_NAMESPACE = "Msgperf/AccessDenied"

MODEL = botocore.session.get_session().get_service_model("cloudwatch")


def to_json(value, shape):
    """A decoded CBOR value -> the JSON 1.0 wire form of `shape`."""
    if value is None or shape is None:
        return value
    kind = shape.type_name
    if kind == "structure":
        return {
            k: to_json(v, shape.members.get(k))
            for k, v in value.items()
            if k in shape.members
        }
    if kind == "list":
        return [to_json(v, shape.member) for v in value]
    if kind == "map":
        return {k: to_json(v, shape.value) for k, v in value.items()}
    if kind == "timestamp":
        if isinstance(value, dt.datetime):
            return value.timestamp()
        return float(value)
    if kind == "blob":
        return base64.b64encode(value).decode()
    return value


def to_cbor(value, shape):
    """A JSON 1.0 value from moto -> the Python value cbor2 encodes for `shape`."""
    if value is None or shape is None:
        return value
    kind = shape.type_name
    if kind == "structure":
        return {
            k: to_cbor(v, shape.members.get(k))
            for k, v in value.items()
            if k in shape.members
        }
    if kind == "list":
        return [to_cbor(v, shape.member) for v in value]
    if kind == "map":
        return {k: to_cbor(v, shape.value) for k, v in value.items()}
    if kind == "timestamp":
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
                if parsed.tzinfo is None:
                    parsed = parsed.replace(tzinfo=dt.timezone.utc)
                return parsed
        return dt.datetime.fromtimestamp(float(value), tz=dt.timezone.utc)
    if kind in ("double", "float"):
        return float(value)
    if kind in ("integer", "long"):
        return int(value)
    if kind == "blob":
        return base64.b64decode(value)
    return value


def access_key(headers):
    m = re.search(r"Credential=([^/,\s]+)/", headers.get("Authorization", ""))
    return m.group(1) if m else ""


def names_denied_namespace(request):
    if request.get("Namespace") == DENIED_NAMESPACE:
        return True
    for query in request.get("MetricDataQueries", []) or []:
        metric = ((query.get("MetricStat") or {}).get("Metric")) or {}
        if metric.get("Namespace") == DENIED_NAMESPACE:
            return True
    return False


def paginate(reply, offset, page_size):
    """Cuts one page of at most page_size datapoints, starting at offset."""
    flat = []
    for result in reply.get("MetricDataResults", []):
        pairs = list(zip(result.get("Timestamps", []), result.get("Values", [])))
        if not pairs:
            flat.append((result, None))
        for pair in pairs:
            flat.append((result, pair))
    page = flat[offset : offset + page_size]
    results = []
    for result, pair in page:
        if not results or results[-1]["Id"] != result["Id"]:
            results.append(
                {
                    "Id": result["Id"],
                    "Label": result.get("Label", result["Id"]),
                    "Timestamps": [],
                    "Values": [],
                    "StatusCode": "PartialData",
                }
            )
        if pair is not None:
            results[-1]["Timestamps"].append(pair[0])
            results[-1]["Values"].append(pair[1])
    out = {"MetricDataResults": results, "Messages": reply.get("Messages", [])}
    end = offset + page_size
    if end < len(flat):
        out["NextToken"] = "proxy-offset-%d" % end
    else:
        for r in results:
            r["StatusCode"] = "Complete"
    return out


class Handler(BaseHTTPRequestHandler):
    upstream = ""
    page_size = 0

    def log_message(self, fmt, *args):
        sys.stderr.write("cbor_proxy: " + (fmt % args) + "\n")

    def reply(self, status, body, extra=None):
        data = cbor2.dumps(body, datetime_as_timestamp=True, timezone=dt.timezone.utc)
        self.send_response(status)
        self.send_header("Content-Type", "application/cbor")
        self.send_header("smithy-protocol", "rpc-v2-cbor")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def error(self, status, code, message):
        self.reply(
            status,
            {"__type": "com.amazonaws.cloudwatch#" + code, "message": message},
            {"x-amzn-query-error": code + ";Sender"},
        )

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        m = PATH_RE.match(self.path)
        if not m:
            self.error(404, "UnknownOperationException", "not a CBOR operation path: " + self.path)
            return
        op_name = m.group(1)
        op = MODEL.operation_model(op_name)
        request = cbor2.loads(raw) if raw else {}
        if access_key(self.headers) == DENIED_KEY or names_denied_namespace(request):
            self.error(
                400,
                "AccessDenied",
                "User: arn:aws:iam::123456789012:user/test is not authorized to perform: cloudwatch:%s" % op_name,
            )
            return
        offset = 0
        token = request.get("NextToken")
        if self.page_size and op_name == "GetMetricData":
            request.pop("NextToken", None)
            if token:
                offset = int(token.rsplit("-", 1)[1])
        body = json.dumps(to_json(request, op.input_shape)).encode()
        forward = urllib.request.Request(
            self.upstream + "/",
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/x-amz-json-1.0",
                "X-Amz-Target": TARGET_PREFIX + "." + op_name,
                "Authorization": self.headers.get("Authorization", ""),
                "X-Amz-Date": self.headers.get("X-Amz-Date", ""),
            },
        )
        try:
            with urllib.request.urlopen(forward, timeout=30) as resp:
                status, text = resp.status, resp.read()
        except urllib.error.HTTPError as e:
            status, text = e.code, e.read()
        reply = json.loads(text) if text.strip() else {}
        if status >= 300:
            code = str(reply.get("__type", "InternalFailure")).split("#")[-1]
            self.error(status, code, reply.get("message") or reply.get("Message") or "")
            return
        if self.page_size and op_name == "GetMetricData":
            reply = paginate(reply, offset, self.page_size)
        self.reply(200, to_cbor(reply, op.output_shape) or {})


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--page-size", type=int, default=0)
    args = parser.parse_args()
    Handler.upstream = args.upstream.rstrip("/")
    Handler.page_size = args.page_size
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print("READY %d" % server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
