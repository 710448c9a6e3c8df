"""Each provider's real error bodies, keyed by HTTP status.

Bodies recorded in shared/protocols/<provider>/error_*.json (copied to
Tests/TestSupport/Fixtures) are reproduced verbatim, which test_emulator_sdks.py
checks; the others follow the documented envelope and codes (protocol README §1-5).
"""

from __future__ import annotations

from typing import Any


def openai_error(message: str, type_: str, param: str | None = None, code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


OPENAI: dict[int, dict[str, Any]] = {
    400: openai_error("Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.",
                      "invalid_request_error", "tool_choice"),
    401: openai_error("Incorrect API key provided: sk-VKMIs***************************************wjh3. You can find "
                      "your API key at https://platform.openai.com/account/api-keys.",
                      "invalid_request_error", code="invalid_api_key"),
    403: openai_error("Country, region, or territory not supported", "request_forbidden",
                      code="unsupported_country_region_territory"),
    404: openai_error("The model `gpt-does-not-exist` does not exist or you do not have access to it.",
                      "invalid_request_error", code="model_not_found"),
    429: openai_error("Request too large for gpt-4o in organization org-78asdf87asdf9aaa8976 on tokens per min (TPM): "
                      "Limit 30000, Requested 31538. The input or output tokens must be reduced in order to run "
                      "successfully. Visit https://platform.openai.com/account/rate-limits to learn more.",
                      "tokens", code="rate_limit_exceeded"),
    500: openai_error("The server had an error while processing your request. Sorry about that!", "server_error"),
    503: openai_error("The engine is currently overloaded, please try again later", "server_error"),
}

# DeepSeek: OpenAI envelope, DeepSeek's own values (S6 error-code table; 400/402 from the fixtures).
DEEPSEEK: dict[int, dict[str, Any]] = {
    400: openai_error("Model Not Exist", "invalid_request_error", code="invalid_request_error"),
    401: openai_error("Authentication Fails, Your api key: ****-key is invalid", "authentication_error",
                      code="invalid_request_error"),
    402: openai_error("Insufficient Balance", "unknown_error", code="invalid_request_error"),
    422: openai_error("Invalid Parameters", "invalid_request_error", code="invalid_request_error"),
    429: openai_error("Rate Limit Reached", "rate_limit_error", code="invalid_request_error"),
    500: openai_error("Server Error", "server_error", code="invalid_request_error"),
    503: openai_error("Server Overloaded", "server_error", code="invalid_request_error"),
}

DASHSCOPE_COMPAT: dict[int, dict[str, Any]] = {
    400: openai_error("<400> InternalError.Algo.InvalidParameter: The parameters are invalid.",
                      "invalid_request_error", code="invalid_parameter_error"),
    401: openai_error("Incorrect API key provided. For details, see: "
                      "https://www.alibabacloud.com/help/en/model-studio/error-code#apikey-error",
                      "invalid_request_error", code="invalid_api_key"),
    429: openai_error("Requests rate limit exceeded, please try again later.", "limit_requests",
                      code="limit_requests"),
    500: openai_error("An internal error has occured, please try again later or contact service support.",
                      "internal_error", code="internal_error"),
    503: openai_error("Too many requests. Your requests are being throttled due to system capacity limits. "
                      "Please try again later.", "ServiceUnavailable", code="ServiceUnavailable"),
}

DASHSCOPE_NATIVE: dict[int, dict[str, str]] = {
    400: {"code": "InvalidParameter", "message": "The parameters are invalid."},
    401: {"code": "InvalidApiKey", "message": "Invalid API-key provided."},
    403: {"code": "AccessDenied", "message": "Access denied."},
    404: {"code": "ModelNotFound", "message": "Model not found."},
    429: {"code": "Throttling.RateQuota", "message": "Requests rate limit exceeded, please try again later."},
    500: {"code": "InternalError", "message": "An internal error has occured, please try again later or contact "
                                              "service support."},
    503: {"code": "ServiceUnavailable", "message": "The service is temporarily unavailable."},
}


def anthropic_error(type_: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": type_, "message": message}}


ANTHROPIC: dict[int, dict[str, Any]] = {
    400: {**anthropic_error("invalid_request_error",
                            'messages: roles must alternate between "user" and "assistant"'),
          "request_id": "req_011CSHoEeqs5C35K2UUqR7Fy"},
    401: anthropic_error("authentication_error", "invalid x-api-key"),
    402: anthropic_error("billing_error", "Your credit balance is too low to access the Anthropic API."),
    403: anthropic_error("permission_error", "Your API key does not have permission to use the specified resource."),
    404: anthropic_error("not_found_error", "model: claude-does-not-exist"),
    413: anthropic_error("request_too_large", "Request exceeds the maximum allowed number of bytes."),
    429: anthropic_error(
        "rate_limit_error",
        "This request would exceed the rate limit for your organization (d3f27ff7-9afe-4ee2-9645-76ecfc73c2b7) of "
        "40,000 input tokens per minute. For details, refer to: https://docs.anthropic.com/en/api/rate-limits. You "
        "can see the response headers for current usage. Please reduce the prompt length or the maximum tokens "
        "requested, or try again later. You may also contact sales at https://www.anthropic.com/contact-sales to "
        "discuss your options for a rate limit increase."),
    500: anthropic_error("api_error", "Internal server error"),
    504: anthropic_error("timeout_error", "Request timeout"),
    529: anthropic_error("overloaded_error", "Overloaded"),
}


def gemini_error(code: int, status: str, message: str, details: list[Any] | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message, "status": status}
    if details is not None:
        error["details"] = details
    return {"error": error}


GEMINI_API_KEY_INVALID = gemini_error(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.", [
    {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID", "domain": "googleapis.com",
     "metadata": {"service": "generativelanguage.googleapis.com"}},
    {"@type": "type.googleapis.com/google.rpc.LocalizedMessage", "locale": "en-US",
     "message": "API key not valid. Please pass a valid API key."},
])

GEMINI: dict[int, dict[str, Any]] = {
    400: gemini_error(400, "INVALID_ARGUMENT", "Unsupported MIME type: bad/mime_type"),
    403: gemini_error(403, "PERMISSION_DENIED", "The caller does not have permission"),
    404: gemini_error(404, "NOT_FOUND", "models/gemini-does-not-exist is not found for API version v1beta, or is not "
                                        "supported for generateContent. Call ListModels to see the list of available "
                                        "models and their supported methods."),
    429: gemini_error(429, "RESOURCE_EXHAUSTED", "You exceeded your current quota, please check your plan and billing "
                                                 "details. For more information on this error, head to: "
                                                 "https://ai.google.dev/gemini-api/docs/rate-limits.", [
        {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [{
            "quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_input_token_count",
            "quotaId": "GenerateContentInputTokensPerModelPerMinute-FreeTier",
            "quotaDimensions": {"location": "global", "model": "gemini-2.5-flash"},
            "quotaValue": "250000"}]},
        {"@type": "type.googleapis.com/google.rpc.Help", "links": [
            {"description": "Learn more about Gemini API quotas",
             "url": "https://ai.google.dev/gemini-api/docs/rate-limits"}]},
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "26s"},
    ]),
    500: gemini_error(500, "INTERNAL", "An internal error has occurred. Please retry or report in "
                                       "https://developers.generativeai.google/guide/troubleshooting"),
    503: gemini_error(503, "UNAVAILABLE", "The model is overloaded. Please try again later."),
    504: gemini_error(504, "DEADLINE_EXCEEDED", "Deadline expired before operation could complete."),
}


def for_status(table: dict[int, Any], status: int) -> Any:
    """The body for a status, falling back to the nearest documented one (same class: 4xx/5xx)."""
    if status in table:
        return table[status]
    fallback = 500 if status >= 500 else 400
    return table[fallback]
