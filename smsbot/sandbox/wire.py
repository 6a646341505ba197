"""The shapes KPN answers in: `errorResponse` bodies, Apigee token errors and `fault` bodies,
and the headers KPN puts on every response."""

from __future__ import annotations

from http import HTTPStatus

from aiohttp import web

KPN_INFO = "for additional information look at https://developer.kpn.com"

# The headers KPN documents on every response, apart from the quota ones which change.
STATIC_HEADERS = {
    "sunset": "n/a",
    "strict-transport-security": "max-age=31536000; includeSubDomains; preload",
}

# KPN's CORS headers, which the sandbox sends on KPN's own routes only: its inbox data and
# control routes are for this machine, and no other web page may read or script them.
_CORS_HEADERS = {
    "access-control-allow-headers": "origin, x-requested-with, accept, content-type, "
    "authorization, subaccount",
    "access-control-allow-methods": "GET, PUT, POST, DELETE, OPTIONS",
    "access-control-max-age": "3628800",
}


def cors_headers(origin: str | None) -> dict[str, str]:
    """KPN's CORS headers for a request from `origin` (None: not a browser's CORS request).

    KPN sends `allow-credentials: true`, which browsers honour only beside the caller's own
    origin, never beside `*`: so a request naming its origin gets that origin back (and
    `Vary: Origin`, so no cache hands it to another), and one naming none gets `*` without
    credentials.
    """
    if origin:
        return _CORS_HEADERS | {
            "access-control-allow-origin": origin,
            "access-control-allow-credentials": "true",
            "vary": "Origin",
        }
    return _CORS_HEADERS | {"access-control-allow-origin": "*"}


# Apigee's own fault strings and codes for the gateway errors a client is most likely to meet.
APIGEE_FAULTS = {
    401: ("Invalid Access Token", "keymanagement.service.invalid_access_token"),
    429: (
        "Rate limit quota violation. Quota limit exceeded. Identifier : _default",
        "policies.ratelimit.QuotaViolation",
    ),
    500: ("Internal Server Error", "messaging.adaptors.http.flow.InternalServerError"),
    502: ("Unexpected EOF at target", "messaging.adaptors.http.flow.UnexpectedEOFAtTarget"),
    503: (
        "The Service is temporarily unavailable",
        "messaging.adaptors.http.flow.ServiceUnavailable",
    ),
    504: ("Gateway Timeout", "messaging.adaptors.http.flow.GatewayTimeout"),
}


def reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def error_response(
    status: int, message: str, info: str = KPN_INFO, *, headers: dict[str, str] | None = None
) -> web.Response:
    """KPN's API error: `{"errorResponse": {"code": "400", "message": ..., "info": ...}}`."""
    body = {"errorResponse": {"code": str(status), "message": message, "info": info}}
    return web.json_response(body, status=status, headers=headers)


def fault_response(status: int, *, headers: dict[str, str] | None = None) -> web.Response:
    """Apigee's gateway fault: `{"fault": {"faultstring": ..., "detail": {"errorcode": ...}}}`."""
    faultstring, errorcode = APIGEE_FAULTS.get(
        status, (reason(status), f"messaging.adaptors.http.flow.{reason(status).replace(' ', '')}")
    )
    body = {"fault": {"faultstring": faultstring, "detail": {"errorcode": errorcode}}}
    return web.json_response(body, status=status, headers=headers)


def unknown_path_response(host: str, path: str) -> web.Response:
    """Apigee's answer to a URL that matches no API: a 404 `fault` naming host and path."""
    body = {
        "fault": {
            "faultstring": f"Unable to identify proxy for host: {host} and url: {path}",
            "detail": {"errorcode": "messaging.adaptors.http.flow.ApplicationNotFound"},
        }
    }
    return web.json_response(body, status=404)


def html_response(status: int, *, headers: dict[str, str] | None = None) -> web.Response:
    """An HTML error page, as a load balancer in front of the API answers when it gives up."""
    title = f"{status} {reason(status)}"
    page = (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n"
        "</body>\r\n</html>\r\n"
    )
    return web.Response(text=page, status=status, content_type="text/html", headers=headers)


def empty_response(status: int, *, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(status=status, headers=headers)


def token_error(status: int, error_code: str, error: str) -> web.Response:
    """Apigee's token endpoint error: `{"ErrorCode": "invalid_client", "Error": "..."}`."""
    return web.json_response({"ErrorCode": error_code, "Error": error}, status=status)
