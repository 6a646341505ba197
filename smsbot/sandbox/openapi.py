"""The sandbox's OpenAPI 3 description, served at `GET /sandbox/openapi.json`: KPN's two routes
as the sandbox answers them, and its own inbox and control routes. The tests run schemathesis
against it, so it says what the code does; the limits come from the code's own constants."""

from __future__ import annotations

from typing import Any

from smsbot.sandbox.delivery import KINDS as DELIVERY_KINDS
from smsbot.sandbox.faults import BODY_KINDS, MAX_COUNT, MAX_DELAY_MS, MAX_PENDING_RUNS, TARGETS
from smsbot.sandbox.kpn_api import SEND_PATH, TOKEN_PATH
from smsbot.sandbox.validation import MAX_SENDER_LENGTH
from smsbot.sandbox.webhook_bodies import DELIVERY_REPORT_SCHEMA, INBOUND_SMS_SCHEMA

OPENAPI_PATH = "/sandbox/openapi.json"

_STRING = {"type": "string"}
_INT = {"type": "integer"}
_NULLABLE_STRING = {"type": "string", "nullable": True}
_NULLABLE_INT = {"type": "integer", "nullable": True}

# On every answer of KPN's routes, as KPN documents them.
_KPN_HEADER_NAMES = (
    "sunset",
    "api-version",
    "quota-limit",
    "quota-used",
    "quota-interval",
    "quota-time-unit",
    "quota-reset-UTC",
    "strict-transport-security",
    "access-control-allow-origin",
    "access-control-allow-methods",
    "access-control-allow-headers",
    "access-control-max-age",
)
_KPN_HEADERS = {name: {"required": True, "schema": _STRING} for name in _KPN_HEADER_NAMES}


def _obj(properties: dict[str, Any], required: list[str] | None = None, **more: Any) -> dict:
    schema: dict[str, Any] = {"type": "object", "properties": properties, **more}
    if required:
        schema["required"] = required
    return schema


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str, headers: dict | None = None) -> dict:
    answer: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": schema}},
    }
    if headers:
        answer["headers"] = headers
    return answer


def _kpn(schema_name: str, description: str) -> dict[str, Any]:
    return _json(_ref(schema_name), description, _KPN_HEADERS)


def _control_error(description: str) -> dict[str, Any]:
    return _json(_ref("ControlError"), description)


_SCRIPTED = {
    "description": "A scripted fault (POST /sandbox/faults): the scripted status with KPN's "
    "errorResponse, Apigee's fault, an HTML page or no body. Never without a script.",
    "headers": _KPN_HEADERS,
}
_NOT_JSON = _control_error("The request is not application/json (control routes take JSON only)")
_UNREADABLE = _control_error(
    "The body cannot be read or says something impossible; `error` says what"
)
_TOO_LARGE = _control_error("The body is larger than the sandbox takes")

_SCHEMAS: dict[str, Any] = {
    "TokenRequest": _obj(
        {"client_id": _STRING, "client_secret": _STRING, "grant_type": _STRING},
    ),
    "Token": _obj(
        {
            name: _STRING
            for name in (
                "refresh_token_expires_in api_product_list organization_name developer.email "
                "token_type issued_at client_id access_token application_name scope expires_in "
                "refresh_count status"
            ).split()
        },
        ["access_token", "token_type", "expires_in", "issued_at", "status"],
    ),
    "TokenError": _obj({"ErrorCode": _STRING, "Error": _STRING}, ["ErrorCode", "Error"]),
    "SendRequest": _obj(
        {
            "sender": {
                "type": "string",
                "description": f"1 to {MAX_SENDER_LENGTH} characters, or a number of up to "
                "15 digits (optionally with +); default KPN",
            },
            "messages": {
                "type": "array",
                "description": "exactly one message (one recipient per call)",
                "items": _obj(
                    {
                        "mobile_number": {"type": "string", "example": "0612345678"},
                        "content": {"type": "string", "example": "Hello"},
                    },
                    ["mobile_number", "content"],
                ),
            },
            "webhook_url": {
                "type": "string",
                "description": "http(s) URL that gets the delivery reports (see callbacks)",
            },
            "expirein": {"type": "string", "pattern": "^[0-9]{1,9}$"},
        },
        ["messages"],
    ),
    "SendAccepted": _obj(
        {"document_id": _STRING, "status": {"type": "string", "enum": ["OK"]}},
        ["document_id", "status"],
    ),
    "ErrorResponse": _obj(
        {
            "errorResponse": _obj(
                {"code": _STRING, "message": _STRING, "info": _STRING},
                ["code", "message", "info"],
            )
        },
        ["errorResponse"],
    ),
    "ControlError": _obj({"error": _STRING}, ["error"]),
    "WebhookPost": _obj(
        {
            "state": {
                "type": "string",
                "enum": ["pending", "posted", "retrying", "refused", "gave_up"],
            },
            "attempts": _INT,
            "status": _NULLABLE_INT,
            "error": _NULLABLE_STRING,
        },
        ["state", "attempts", "status", "error"],
    ),
    "Report": _obj(
        {
            "report_id": _STRING,
            "part": _INT,
            "status": _STRING,
            "status_code": _INT,
            "error_code": _STRING,
            "issued_at": _STRING,
            "webhook": _ref("WebhookPost"),
        },
        ["report_id", "part", "status", "status_code", "issued_at", "webhook"],
    ),
    "Message": _obj(
        {
            "document_id": _STRING,
            "sender": _STRING,
            "mobile_number": {"type": "string", "description": "E.164"},
            "content": _STRING,
            "encoding": {"type": "string", "enum": ["GSM-7", "UCS-2"]},
            "segments": _INT,
            "ucs2_characters": {"type": "array", "items": _STRING},
            "received_at": _STRING,
            "webhook_url": _NULLABLE_STRING,
            "expirein": _NULLABLE_STRING,
            "delivery": {
                "type": "string",
                "nullable": True,
                "enum": ["accepted", "queued", "delivered", "failed", "rejected", "expired", None],
                "description": "what the reports issued so far say; null: none (yet)",
            },
            "delivered_at": _NULLABLE_STRING,
            "delivery_error": {
                **_obj({"code": _STRING, "meaning": _STRING}, ["code", "meaning"]),
                "nullable": True,
            },
            "reports": {"type": "array", "items": _ref("Report")},
        },
        (
            "document_id sender mobile_number content encoding segments received_at "
            "delivery reports"
        ).split(),
    ),
    "ReplyRequest": _obj(
        {
            "from": {"type": "string", "example": "+31612345678"},
            "content": {"type": "string", "minLength": 1, "example": "On my way"},
            "to": {"type": "string", "example": "+3197000000000"},
        },
        ["from", "content"],
        additionalProperties=False,
    ),
    "Reply": _obj(
        {
            "message_id": _STRING,
            "from": _STRING,
            "to": _STRING,
            "content": _STRING,
            "sent_at": _STRING,
            "payload": INBOUND_SMS_SCHEMA,
            "webhook": _ref("WebhookPost"),
        },
        ["message_id", "from", "to", "content", "sent_at", "payload", "webhook"],
    ),
    "Fault": _obj(
        {
            "status": {"type": "integer", "minimum": 400, "maximum": 599},
            "count": {"type": "integer", "minimum": 1, "maximum": MAX_COUNT, "default": 1},
            "delay_ms": {"type": "integer", "minimum": 0, "maximum": MAX_DELAY_MS},
            "drop": {"type": "boolean"},
            "retry_after": {"type": "number", "minimum": 0},
            "body": {"type": "string", "enum": list(BODY_KINDS)},
            "target": {"type": "string", "enum": list(TARGETS)},
            "delivery": {"type": "string", "enum": list(DELIVERY_KINDS)},
            "error_code": {"type": "string", "pattern": "^[0-9]{3}$"},
        },
        description="An HTTP fault (status, delay_ms or drop) for the next token or send "
        "requests, or a delivery script (delivery) for the reports of the next SMS with a "
        "webhook_url.",
    ),
    "Pending": _obj(
        {"pending": {"type": "array", "maxItems": MAX_PENDING_RUNS, "items": _ref("Fault")}},
        ["pending"],
    ),
    "Stats": _obj(
        {
            "token_requests": _INT,
            "send_requests": _INT,
            "messages": _INT,
            "messages_received": _INT,
            "replies": _INT,
            "replies_sent": _INT,
            "webhook_posts_taken": _INT,
            "webhook_posts_failed": _INT,
            "quota": _obj(
                {"rule": _STRING, "limit": _INT, "used": _INT, "reset_at": _STRING},
                ["rule", "limit", "used", "reset_at"],
            ),
            "faults_pending": {"type": "array", "items": _ref("Fault")},
        },
        (
            "token_requests send_requests messages messages_received replies replies_sent "
            "webhook_posts_taken webhook_posts_failed quota faults_pending"
        ).split(),
    ),
    "DeliveryReport": DELIVERY_REPORT_SCHEMA,
    "InboundSms": INBOUND_SMS_SCHEMA,
}

_PREFLIGHT = {
    "summary": "CORS preflight",
    "responses": {"200": {"description": "KPN's CORS headers", "headers": _KPN_HEADERS}},
}


def _paths() -> dict[str, Any]:
    return {
        TOKEN_PATH: {
            "post": {
                "summary": "An OAuth 2.0 access token (client credentials), as KPN's Apigee",
                "parameters": [
                    {"name": "grant_type", "in": "query", "schema": {"type": "string"}},
                ],
                "requestBody": {
                    "content": {
                        "application/x-www-form-urlencoded": {"schema": _ref("TokenRequest")}
                    },
                },
                "responses": {
                    "200": _kpn("Token", "A new token; every value a string"),
                    "400": _kpn("TokenError", "No or another grant type, or an unreadable body"),
                    "401": _kpn("TokenError", "Wrong client_id or client_secret"),
                    "default": _SCRIPTED,
                },
            },
            "options": _PREFLIGHT,
        },
        SEND_PATH: {
            "post": {
                "summary": "Send one SMS, with KPN's validation, answers and headers",
                "security": [{"bearer": []}],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("SendRequest")}},
                },
                "responses": {
                    "200": _kpn("SendAccepted", "Accepted"),
                    "400": _kpn("ErrorResponse", "Breaks a rule; `info` names the field"),
                    "401": _kpn("ErrorResponse", "Missing, unknown or expired token"),
                    "413": _kpn("ErrorResponse", "Body too large"),
                    "429": _kpn("ErrorResponse", "Quota used up (Retry-After)"),
                    "default": _SCRIPTED,
                },
                "callbacks": {
                    "deliveryReport": {
                        "{$request.body#/webhook_url}": {
                            "post": {
                                "summary": "A delivery report (the sandbox's assumed shape)",
                                "requestBody": {
                                    "content": {
                                        "application/json": {"schema": _ref("DeliveryReport")}
                                    }
                                },
                                "responses": {
                                    "200": {"description": "Taken (any 2xx)"},
                                    "503": {"description": "Any 5xx or 429: tried again"},
                                },
                            }
                        }
                    }
                },
            },
            "options": _PREFLIGHT,
        },
        "/": {
            "get": {
                "summary": "The web inbox",
                "responses": {
                    "200": {"description": "page", "content": {"text/html": {"schema": _STRING}}}
                },
            }
        },
        "/static/{name}": {
            "get": {
                "summary": "The inbox's script and style",
                "parameters": [{"name": "name", "in": "path", "required": True, "schema": _STRING}],
                "responses": {
                    "200": {
                        "description": "inbox.css or inbox.js",
                        "content": {
                            "text/css": {"schema": _STRING},
                            "application/javascript": {"schema": _STRING},
                            "text/javascript": {"schema": _STRING},
                        },
                    },
                    "404": {
                        "description": "Any other name",
                        "content": {"text/plain": {"schema": _STRING}},
                    },
                },
            }
        },
        "/sandbox/messages": {
            "get": {
                "summary": "Every SMS received, newest last, with what its reports say",
                "responses": {
                    "200": _json({"type": "array", "items": _ref("Message")}, "The messages")
                },
            },
            "delete": {
                "summary": "Empty the inbox (SMS and replies)",
                "responses": {
                    "200": _json(_obj({"deleted": _INT}, ["deleted"]), "How many SMS went")
                },
            },
        },
        "/sandbox/inbound": {
            "get": {
                "summary": "The replies phones sent, newest last",
                "responses": {
                    "200": _json({"type": "array", "items": _ref("Reply")}, "The replies")
                },
            },
            "post": {
                "summary": "A phone replies: KPN's inbound SMS is posted to the inbound webhook",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("ReplyRequest")}},
                },
                "responses": {
                    "200": _json(_ref("Reply"), "Posted; `webhook` says how it was answered"),
                    "202": _json(_ref("Reply"), "The first attempt failed; being retried"),
                    "400": _UNREADABLE,
                    "409": _control_error("No inbound webhook is set"),
                    "413": _TOO_LARGE,
                    "415": _NOT_JSON,
                },
                "callbacks": {
                    "inboundSms": {
                        "{$request.body#/to}": {
                            "post": {
                                "summary": "To the inbound webhook (--inbound-webhook)",
                                "requestBody": {
                                    "content": {"application/json": {"schema": _ref("InboundSms")}}
                                },
                                "responses": {"200": {"description": "Taken (any 2xx)"}},
                            }
                        }
                    }
                },
            },
        },
        "/sandbox/faults": {
            "get": {
                "summary": "Faults still scripted",
                "responses": {"200": _json(_ref("Pending"), "Pending faults")},
            },
            "post": {
                "summary": "Script faults for the next requests (one, or a list applied in order)",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "oneOf": [
                                    _ref("Fault"),
                                    {
                                        "type": "array",
                                        "items": _ref("Fault"),
                                        "maxItems": MAX_PENDING_RUNS,
                                    },
                                ]
                            }
                        }
                    },
                },
                "responses": {
                    "200": _json(_ref("Pending"), "Scripted; every pending fault"),
                    "400": _UNREADABLE,
                    "413": _TOO_LARGE,
                    "415": _NOT_JSON,
                },
            },
            "delete": {
                "summary": "Clear every scripted fault",
                "responses": {"200": _json(_ref("Pending"), "Nothing pending")},
            },
        },
        "/sandbox/stats": {
            "get": {
                "summary": "Counters, quota use, pending faults",
                "responses": {"200": _json(_ref("Stats"), "The counters")},
            }
        },
        "/sandbox/reset": {
            "post": {
                "summary": "Empty everything and zero every counter; tokens stay valid",
                "responses": {
                    "200": _json(_ref("Stats"), "The counters, zeroed"),
                    "415": _NOT_JSON,
                },
            }
        },
        OPENAPI_PATH: {
            "get": {
                "summary": "This description",
                "responses": {"200": _json({"type": "object"}, "OpenAPI 3.0 document")},
            }
        },
    }


def openapi_document() -> dict[str, Any]:
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "smsbot KPN sandbox",
            "version": "1",
            "description": "KPN's token and SMS send routes as the sandbox answers them, "
            "and the sandbox's own inbox and control routes. Control routes that change "
            "something take application/json only.",
        },
        "paths": _paths(),
        "components": {
            "schemas": _SCHEMAS,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
