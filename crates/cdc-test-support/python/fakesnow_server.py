#!/usr/bin/env python3
"""fakesnow behind a thin layer that adds what real Snowflake does and fakesnow lacks, for cdc-pipeline's tests.

fakesnow (PyPI `fakesnow[server]`, pinned by scripts/install-deps.sh) serves Snowflake's driver REST protocol over
DuckDB, but it has no authentication, warehouses or privileges, and it never fails for network reasons. This ASGI
app wraps fakesnow's own Starlette app (`fakesnow.server.app`, unmodified) and passes every request it accepts
through unchanged, body bytes included (gzip bodies as sent). In front of it, in Snowflake's real response shapes:

1. Login (`POST /session/v1/login-request`) checks the credentials for `data.AUTHENTICATOR`:
   SNOWFLAKE (or absent) -> `--password` (a `--pat` value is accepted as a password too, as Snowflake does);
   OAUTH -> `--oauth-token` (`--expired-oauth-token` answers 390318, anything else 390303);
   PROGRAMMATIC_ACCESS_TOKEN -> `--pat`; SNOWFLAKE_JWT -> an RS256 JWT signed by the key in `--public-key`
   (signature, `exp`, `iss` = ACCOUNT.USER.SHA256:<fingerprint>, `sub` = ACCOUNT.USER; else 390144).
   An authenticator whose option was not given is rejected. The session's role comes from the `roleName` query
   parameter (default PUBLIC).
2. `USE WAREHOUSE <name>` with a name not given as `--warehouse` answers 002043; `USE ROLE <name>` changes the
   session's role (any role is accepted).
3. In a session whose role is a `--read-only-role`, statements that create or write answer 003001.
4. Tests control faults over HTTP: `POST /_faults` with any of
   `{"fail_next": N, "status": 503, "match": "MERGE"}` (the next N query requests whose sqlText contains `match`,
   case-insensitive, answer `status` with a small non-JSON body and are not forwarded),
   `{"expire_sessions": true}` (every session token issued so far answers 390112 from then on; a new login works),
   `"after_forwarding": true` with `fail_next` (the statement runs, then its reply is replaced by the error, as when
   a reply is lost), `{"expire_on": "MERGE"}` (the next query containing the text expires every session first),
   `{"reset": true}` (drops pending faults and zeroes the counters). `GET /_stats` returns the counters (logins,
   failed_logins, queries, injected_failures, expired, rejected_queries) and the server's pid.

Readiness: the port accepts connections and `GET /_stats` answers. One line per request goes to stderr (method,
path, status and the reason for a rejection), never a password or token value.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import hmac
import json
import os
import re
import sys
import time
import traceback
import uuid
import warnings
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs

try:
    import fakesnow.server
    import uvicorn
    from starlette.responses import JSONResponse, Response
except ImportError as e:  # the Rust harness shows this line in its panic
    sys.exit(f"fakesnow_server: cannot import fakesnow[server] ({e}); run scripts/install-deps.sh")

INNER = fakesnow.server.app

# fakesnow's cursor warns on every result set; it would bury the request lines that a failing test prints.
warnings.filterwarnings("ignore", message="Arrow output on a DB-API result")

# Snowflake's error codes and messages for what this layer answers.
BAD_PASSWORD = ("390100", "Incorrect username or password was specified.")
OAUTH_EXPIRED = ("390318", "OAuth access token expired. [{rid}]")
OAUTH_INVALID = ("390303", "Invalid OAuth access token. [{rid}]")
JWT_INVALID = ("390144", "JWT token is invalid. [{rid}]")
SESSION_EXPIRED = ("390112", "Your session has expired. Please login again.")
NO_OBJECT = ("002043", "SQL compilation error:\nObject does not exist, or operation cannot be performed.", "02000")
NO_PRIVILEGE = ("003001", "SQL access control error:\nInsufficient privileges to operate on schema '{schema}'", "42501")

# First keywords of statements that create or write; a read-only role may not run them.
WRITE_KEYWORDS = {
    "ALTER", "COMMENT", "COPY", "CREATE", "DELETE", "DROP", "GRANT", "INSERT", "MERGE", "REVOKE", "TRUNCATE",
    "UNDROP", "UPDATE",
}  # fmt: skip


def log(line: str) -> None:
    print(f"fakesnow_server: {line}", file=sys.stderr, flush=True)


def normalize_ident(name: str) -> str:
    """Snowflake's identifier rule: `"quoted"` keeps its case, unquoted is uppercased."""
    if len(name) >= 2 and name.startswith('"') and name.endswith('"'):
        return name[1:-1].replace('""', '"')
    return name.upper()


@dataclass
class Session:
    role: str
    database: str | None
    schema: str | None
    expired: bool = False


@dataclass
class Fault:
    remaining: int
    status: int
    match: str | None
    # "before": answer without forwarding; "after": forward (the statement runs), then answer the error anyway,
    # as when a reply is lost on its way back.
    when: str = "before"


@dataclass
class State:
    args: argparse.Namespace
    public_key: Any = None
    sessions: dict[str, Session] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    # Query texts that, when next seen, expire every session first (that query then answers 390112).
    expire_on: list[str] = field(default_factory=list)
    stats: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.warehouses = {normalize_ident(w) for w in self.args.warehouse}
        self.read_only_roles = {normalize_ident(r) for r in self.args.read_only_role}
        self.reset_stats()

    def reset_stats(self) -> None:
        self.stats = dict.fromkeys(
            ["logins", "failed_logins", "queries", "injected_failures", "expired", "rejected_queries"], 0
        )


STATE: State  # set in main()


# ---------------------------------------------------------------------------------------------------- SQL scanning


def split_statements(sql: str) -> list[str]:
    """Splits `sql` at top-level `;`, dropping comments; quoted text and $$ blocks are kept whole."""
    statements, current, i, n = [], [], 0, len(sql)
    while i < n:
        c = sql[i]
        if sql.startswith("--", i) or sql.startswith("//", i):
            end = sql.find("\n", i)
            i = n if end < 0 else end
            current.append(" ")
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            i = n if end < 0 else end + 2
            current.append(" ")
        elif sql.startswith("$$", i):
            end = sql.find("$$", i + 2)
            end = n if end < 0 else end + 2
            current.append(sql[i:end])
            i = end
        elif c in "'\"":
            j = i + 1
            while j < n:
                if sql[j] == "\\" and c == "'":
                    j += 2
                    continue
                if sql[j] == c:
                    if j + 1 < n and sql[j + 1] == c:  # doubled quote
                        j += 2
                        continue
                    break
                j += 1
            current.append(sql[i : j + 1])
            i = j + 1
        elif c == ";":
            statements.append("".join(current).strip())
            current = []
            i += 1
        else:
            current.append(c)
            i += 1
    statements.append("".join(current).strip())
    return [s for s in statements if s]


IDENT = r'("(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)'
USE_WAREHOUSE = re.compile(r"^USE\s+WAREHOUSE\s+" + IDENT + r"\s*$", re.IGNORECASE | re.DOTALL)
USE_ROLE = re.compile(r"^USE\s+ROLE\s+" + IDENT + r"\s*$", re.IGNORECASE | re.DOTALL)
FIRST_WORDS = re.compile(r"^[\s(]*([A-Za-z_]+)(?:\s+([A-Za-z_]+))?(?:\s+(\S+))?")


def writes(statement: str) -> bool:
    m = FIRST_WORDS.match(statement)
    if not m:
        return False
    first, second, third = (w.upper() if w else "" for w in m.groups())
    if first == "ALTER" and second == "SESSION":
        return False  # session parameters need no privilege
    if first == "COPY" and second == "INTO" and third.startswith("@"):
        return False  # an unload into a stage reads tables
    return first in WRITE_KEYWORDS


# --------------------------------------------------------------------------------------------------- ASGI plumbing


async def read_body(receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def replay(body: bytes, receive):
    """A `receive` that yields `body` once (exactly as it arrived), then defers to the real one."""
    sent = False

    async def receive_again():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return receive_again


async def forward(scope, body: bytes, receive, send) -> dict | None:
    """Runs fakesnow on the request and sends its response unchanged; returns the response JSON (if any).

    The response is buffered so this layer's state (tokens, roles, schemas) is updated before the client can see
    the answer and send its next request.
    """
    start, chunks = None, []

    async def capture(message):
        nonlocal start
        if message["type"] == "http.response.start":
            start = message
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    try:
        await INNER(scope, replay(body, receive), capture)
    except Exception:  # Starlette has already produced its 500 response when it re-raises
        log("fakesnow raised:\n" + traceback.format_exc())
        if start is None:
            start = {"type": "http.response.start", "status": 500, "headers": [(b"content-type", b"text/plain")]}
            chunks = [b"fakesnow raised an exception"]
    payload = b"".join(chunks)
    try:
        parsed = json.loads(payload) if start["status"] == 200 else None
    except ValueError:
        parsed = None
    await send(start)
    await send({"type": "http.response.body", "body": payload, "more_body": False})
    return parsed


def decode_json(scope, body: bytes) -> dict | None:
    headers = dict(scope["headers"])
    try:
        if headers.get(b"content-encoding", b"").lower() == b"gzip":
            body = gzip.decompress(body)
        value = json.loads(body)
        return value if isinstance(value, dict) else None
    except (OSError, ValueError):
        return None


def session_token(scope) -> str | None:
    auth = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
    m = re.search(r'Token="([^"]*)"', auth)
    return m.group(1) if m else None


def snowflake_error(code: str, message: str, sql_state: str | None = None, data: Any = ...) -> dict:
    if data is ...:
        data = {"errorCode": code, "sqlState": sql_state, "queryId": str(uuid.uuid4()), "internalError": False}
    return {"data": data, "code": code, "message": message, "success": False, "headers": None}


async def respond(scope, receive, send, content: Any, status: int = 200) -> None:
    await JSONResponse(content, status_code=status)(scope, receive, send)


# ------------------------------------------------------------------------------------------------------------ login


def same(given: Any, expected: str | None) -> bool:
    return expected is not None and isinstance(given, str) and hmac.compare_digest(given.encode(), expected.encode())


def b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def jwt_problem(token: Any, account: str, user: str) -> str | None:
    """Why Snowflake would reject this key-pair JWT, or None when it is valid."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding

    key = STATE.public_key
    if key is None:
        return "no --public-key"
    if not isinstance(token, str) or token.count(".") != 2:
        return "not a JWT"
    head, body, sig = token.split(".")
    try:
        header, claims, signature = json.loads(b64url(head)), json.loads(b64url(body)), b64url(sig)
    except ValueError:
        return "undecodable JWT"
    if not isinstance(header, dict) or header.get("alg") != "RS256":
        return "alg is not RS256"
    try:
        key.verify(signature, f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return "bad signature"
    if not isinstance(claims, dict):
        return "claims are not an object"
    now = time.time()
    exp, iat = claims.get("exp"), claims.get("iat")
    if not isinstance(exp, (int, float)) or exp <= now:
        return "expired or no exp"
    if exp > now + 3600 + 60:
        return "lifetime over one hour"
    if isinstance(iat, (int, float)) and iat > now + 60:
        return "issued in the future"
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    fingerprint = "SHA256:" + base64.b64encode(hashlib.sha256(der).digest()).decode()
    subject = f"{account}.{user}"
    if claims.get("sub") != subject:
        return "sub mismatch"
    if claims.get("iss") != f"{subject}.{fingerprint}":
        return "iss mismatch"
    return None


def check_login(data: dict) -> tuple[str, str] | None:
    """Returns (code, message) for a rejected login, None for an accepted one."""
    args = STATE.args
    authenticator = str(data.get("AUTHENTICATOR") or "SNOWFLAKE").upper()
    rid = uuid.uuid4()
    if authenticator == "SNOWFLAKE":
        password = data.get("PASSWORD")
        return None if same(password, args.password) or same(password, args.pat) else BAD_PASSWORD
    if authenticator == "OAUTH":
        token = data.get("TOKEN")
        if same(token, args.oauth_token):
            return None
        code, message = OAUTH_EXPIRED if same(token, args.expired_oauth_token) else OAUTH_INVALID
        return code, message.format(rid=rid)
    if authenticator == "PROGRAMMATIC_ACCESS_TOKEN":
        return None if same(data.get("TOKEN"), args.pat) else BAD_PASSWORD
    if authenticator == "SNOWFLAKE_JWT":
        account = str(data.get("ACCOUNT_NAME") or "").partition(".")[0].upper()
        user = str(data.get("LOGIN_NAME") or "").upper()
        problem = jwt_problem(data.get("TOKEN"), account, user)
        if problem is None:
            return None
        log(f"JWT rejected: {problem}")
        return JWT_INVALID[0], JWT_INVALID[1].format(rid=rid)
    return BAD_PASSWORD  # an authenticator this layer does not offer


async def login(scope, receive, send) -> str:
    body = await read_body(receive)
    request = decode_json(scope, body) or {}
    data = request.get("data") if isinstance(request.get("data"), dict) else {}
    authenticator = str(data.get("AUTHENTICATOR") or "SNOWFLAKE").upper()
    rejected = check_login(data)
    if rejected:
        STATE.stats["failed_logins"] += 1
        code, message = rejected
        error = {"nextAction": "RETRY_LOGIN", "authnMethod": authenticator, "errorCode": code}
        await respond(scope, receive, send, snowflake_error(code, message, data=error))
        return f"login rejected ({authenticator}): {code}"
    role_name = parse_qs(scope.get("query_string", b"").decode()).get("roleName", [""])[0]
    params = data.get("SESSION_PARAMETERS") if isinstance(data.get("SESSION_PARAMETERS"), dict) else {}
    role = role_name or str(params.get("ROLE") or "PUBLIC")
    response = await forward(scope, body, receive, send)
    if response and response.get("success"):
        STATE.stats["logins"] += 1
        info = response["data"].get("sessionInfo") or {}
        STATE.sessions[response["data"]["token"]] = Session(
            role=normalize_ident(role), database=info.get("databaseName"), schema=info.get("schemaName")
        )
    return f"login ok ({authenticator})"


# ------------------------------------------------------------------------------------------------------------ query


def take_fault(sql_text: str) -> Fault | None:
    for fault in STATE.faults:
        if fault.match is None or fault.match.lower() in sql_text.lower():
            fault.remaining -= 1
            if fault.remaining <= 0:
                STATE.faults.remove(fault)
            return fault
    return None


async def query(scope, receive, send) -> str:
    STATE.stats["queries"] += 1
    body = await read_body(receive)
    request = decode_json(scope, body) or {}
    sql_text = request.get("sqlText") if isinstance(request.get("sqlText"), str) else ""

    for match in list(STATE.expire_on):
        if match.lower() in sql_text.lower():
            STATE.expire_on.remove(match)
            for session in STATE.sessions.values():
                session.expired = True
            break

    if fault := take_fault(sql_text):
        STATE.stats["injected_failures"] += 1
        try:
            phrase = HTTPStatus(fault.status).phrase
        except ValueError:
            phrase = "Error"
        html = f"<html><body><h1>{fault.status} {phrase}</h1></body></html>\n"
        if fault.when == "after":
            async def discard(message) -> None:
                pass
            await forward(scope, body, receive, discard)
        await Response(html, status_code=fault.status, media_type="text/html")(scope, receive, send)
        return "injected failure" + (" after forwarding" if fault.when == "after" else "")

    token = session_token(scope)
    session = STATE.sessions.get(token) if token else None
    if session is None:  # no or unknown token: fakesnow answers 390103/390104 itself
        await forward(scope, body, receive, send)
        return "no session"
    if session.expired:
        STATE.stats["expired"] += 1
        await respond(scope, receive, send, snowflake_error(*SESSION_EXPIRED, data=None))
        return f"session expired: {SESSION_EXPIRED[0]}"

    statements = split_statements(sql_text)
    new_role = None
    for statement in statements:
        if m := USE_WAREHOUSE.match(statement):
            if normalize_ident(m.group(1)) not in STATE.warehouses:
                STATE.stats["rejected_queries"] += 1
                await respond(scope, receive, send, snowflake_error(*NO_OBJECT))
                return f"unknown warehouse: {NO_OBJECT[0]}"
        elif m := USE_ROLE.match(statement):
            new_role = normalize_ident(m.group(1))
        elif session.role in STATE.read_only_roles and writes(statement):
            STATE.stats["rejected_queries"] += 1
            code, message, sql_state = NO_PRIVILEGE
            message = message.format(schema=session.schema or "PUBLIC")
            await respond(scope, receive, send, snowflake_error(code, message, sql_state))
            return f"read-only role {session.role}: {code}"

    response = await forward(scope, body, receive, send)
    if response and response.get("success") and isinstance(response.get("data"), dict):
        data = response["data"]
        session.database = data.get("finalDatabaseName", session.database)
        session.schema = data.get("finalSchemaName", session.schema)
        if new_role:
            session.role = new_role
    return ""


async def other(scope, receive, send) -> str:
    """Everything else fakesnow serves (heartbeat, logout, abort, monitoring, stage uploads): pass-through, except
    that an expired session stays expired."""
    token = session_token(scope)
    session = STATE.sessions.get(token) if token else None
    if session is not None and session.expired:
        STATE.stats["expired"] += 1
        await respond(scope, receive, send, snowflake_error(*SESSION_EXPIRED, data=None))
        return f"session expired: {SESSION_EXPIRED[0]}"
    await INNER(scope, receive, send)
    return ""


# ------------------------------------------------------------------------------------------------------ test control


async def faults(scope, receive, send) -> str:
    try:
        request = json.loads(await read_body(receive) or b"{}")
        if not isinstance(request, dict):
            raise ValueError("the body must be a JSON object")
        unknown = set(request) - {"fail_next", "status", "match", "after_forwarding", "expire_sessions", "expire_on", "reset"}
        if unknown:
            raise ValueError(f"unknown keys {sorted(unknown)}")
        fail_next, status, match = request.get("fail_next", 0), request.get("status", 503), request.get("match")
        if not isinstance(fail_next, int) or fail_next < 0:
            raise ValueError("fail_next must be a non-negative integer")
        if not isinstance(status, int) or not 100 <= status <= 599:
            raise ValueError("status must be an HTTP status code")
        if match is not None and not isinstance(match, str):
            raise ValueError("match must be a string")
    except ValueError as e:
        await respond(scope, receive, send, {"error": str(e)}, status=400)
        return "bad request"
    if request.get("reset"):
        STATE.faults.clear()
        STATE.expire_on.clear()
        STATE.reset_stats()
    if fail_next:
        when = "after" if request.get("after_forwarding") else "before"
        STATE.faults.append(Fault(fail_next, status, match or None, when))
    if isinstance(request.get("expire_on"), str):
        STATE.expire_on.append(request["expire_on"])
    if request.get("expire_sessions"):
        for session in STATE.sessions.values():
            session.expired = True
    pending = [{"remaining": f.remaining, "status": f.status, "match": f.match} for f in STATE.faults]
    await respond(scope, receive, send, {"ok": True, "pending": pending})
    return ""


async def app(scope, receive, send) -> None:
    if scope["type"] != "http":  # lifespan
        await INNER(scope, receive, send)
        return
    method, path, status = scope["method"], scope["path"], [0]

    async def send_noting_status(message):
        if message["type"] == "http.response.start":
            status[0] = message["status"]
        await send(message)

    note = ""
    try:
        if method == "POST" and path == "/session/v1/login-request":
            note = await login(scope, receive, send_noting_status)
        elif method == "POST" and path == "/queries/v1/query-request":
            note = await query(scope, receive, send_noting_status)
        elif method == "POST" and path == "/_faults":
            note = await faults(scope, receive, send_noting_status)
        elif method == "GET" and path == "/_stats":
            # pid: lets a harness that picked the port check it reached its own server, not a neighbour's
            await respond(scope, receive, send_noting_status, {**STATE.stats, "pid": os.getpid()})
        else:
            note = await other(scope, receive, send_noting_status)
    finally:
        log(f"{method} {path} {status[0]}{' ' + note if note else ''}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--password", help="the password SNOWFLAKE (password) logins must present")
    parser.add_argument("--oauth-token", help="the OAuth access token OAUTH logins must present")
    parser.add_argument("--expired-oauth-token", help="an OAuth access token answered with 390318 (expired)")
    parser.add_argument("--pat", help="the programmatic access token PROGRAMMATIC_ACCESS_TOKEN logins must present")
    parser.add_argument("--public-key", metavar="PEM_PATH", help="the RSA public key SNOWFLAKE_JWT logins must match")
    parser.add_argument("--warehouse", action="append", default=[], help="a warehouse that exists (repeatable)")
    parser.add_argument(
        "--read-only-role", action="append", default=[], help="a role that may not create or write (repeatable)"
    )
    args = parser.parse_args()

    global STATE
    STATE = State(args)
    if args.public_key:
        try:
            from cryptography.hazmat.primitives import serialization
        except ImportError as e:
            sys.exit(f"fakesnow_server: --public-key needs the `cryptography` package ({e})")
        pem = open(args.public_key, "rb").read()
        try:
            STATE.public_key = serialization.load_pem_public_key(pem)
        except ValueError:  # a private key: use its public half
            STATE.public_key = serialization.load_pem_private_key(pem, password=None).public_key()

    log(f"listening on http://{args.host}:{args.port}")
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False, lifespan="off")


if __name__ == "__main__":
    main()
