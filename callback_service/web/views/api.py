"""``POST /api/reports``: the dispatch platform pushes reports as JSON, authenticated by a bearer token.

Same schema and result as a file import (canonical or Chinese keys; one object, a list, or
``{"reports": [...]}``). Re-posting a report is a duplicate, not an error. 200 when every report was
accepted, 422 when some were rejected, 413 over the body limit, 429 over the rate limit.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from flask import Blueprint, current_app, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from callback_service.db.models import User
from callback_service.intake.parsers import FileFormatError, read_json
from callback_service.intake.service import import_rows
from callback_service.security import audit
from callback_service.security.auth import user_for_token
from callback_service.web.access import client_ip, db, service
from callback_service.web.ratelimit import TokenBucket

log = logging.getLogger(__name__)
bp = Blueprint("api", __name__, url_prefix="/api")
DEFAULT_RATE_PER_S = 2.0       # sustained requests per second per token
DEFAULT_BURST = 30


def _buckets() -> TokenBucket:
    ext = current_app.extensions
    if "api_rate" not in ext:
        ext["api_rate"] = TokenBucket(float(current_app.config.get("API_RATE_PER_S", DEFAULT_RATE_PER_S)),
                                      int(current_app.config.get("API_BURST", DEFAULT_BURST)))
    bucket: TokenBucket = ext["api_rate"]
    return bucket


def _error(status: int, error: str, **headers: str) -> Any:
    response = jsonify(error=error)
    response.status_code = status
    response.headers.update(headers)
    return response


def _limited(key: str) -> Any | None:
    wait = _buckets().take(key)
    if wait > 0:
        return _error(429, "rate limit exceeded", **{"Retry-After": str(max(1, math.ceil(wait)))})
    return None


def _authenticate() -> User | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return user_for_token(db(), token.strip())


@bp.route("/reports", methods=["POST"])
def post_reports() -> Any:
    user = _authenticate()
    if user is None:
        limited = _limited("ip:" + client_ip())   # bounds guessing and audit-log growth
        if limited is not None:
            return limited
        audit.record(db(), "anonymous", "api.auth_failed", "api", "reports", {}, client_ip())
        db().commit()
        return _error(401, "missing or invalid bearer token", **{"WWW-Authenticate": 'Bearer realm="api"'})
    limited = _limited(f"user:{user.id}")
    if limited is not None:
        return limited
    if not request.mimetype or request.mimetype != "application/json":
        return _error(415, "Content-Type must be application/json")
    settings = service().settings
    if request.content_length is not None and request.content_length > settings.max_api_body_bytes:
        return _error(413, f"body larger than {settings.max_api_body_bytes} bytes")
    request.max_content_length = settings.max_api_body_bytes
    try:
        data = request.get_data(cache=False)
    except RequestEntityTooLarge:
        return _error(413, f"body larger than {settings.max_api_body_bytes} bytes")
    try:
        rows = list(read_json(data, "request body"))
    except FileFormatError as exc:
        return _error(400, str(exc))
    username = user.username
    db().rollback()   # release the read transaction before the import opens its own
    result = import_rows(service().sessions, rows, service().intake_limits, source="api",
                         filename=f"api:{username}", actor=username)
    return jsonify(result.as_dict()), (200 if result.ok else 422)
