"""``/v1/token.js``: the browser side. A classic script, no eval, no inline handlers, nothing but
``fetch`` to the gateway's own origin, so it runs under ``script-src``/``connect-src`` of the
gateway origin alone."""

from __future__ import annotations

import json

NETWORK_ERROR_MESSAGE = "決済代行会社に接続できませんでした。しばらくしてからもう一度お試しください。"
TIMEOUT_MS = 15_000

_TEMPLATE = r"""/* Sandbox payment gateway.
   window.SandboxGateway.createToken(publishableKey, card, reference) -> Promise */
(function () {
  "use strict";
  var FALLBACK_ORIGIN = __PUBLIC_URL__;
  var NETWORK_ERROR_MESSAGE = __NETWORK_ERROR_MESSAGE__;
  var TIMEOUT_MS = __TIMEOUT_MS__;
  var FIELDS = ["token", "masked_number", "last4", "brand", "exp_month", "exp_year", "holder_name",
                "expires_at"];

  // The script's own origin, read while it runs (document.currentScript is null afterwards).
  var origin = FALLBACK_ORIGIN;
  try {
    var current = document.currentScript;
    if (current && current.src) {
      origin = new URL(current.src, window.location.href).origin;
    }
  } catch (ignored) {
    origin = FALLBACK_ORIGIN;
  }

  function networkError() {
    return { ok: false, code: "network_error", message: NETWORK_ERROR_MESSAGE, field: null };
  }

  function fromResponse(status, data) {
    if (status === 201 && data && typeof data.token === "string") {
      var result = { ok: true };
      for (var i = 0; i < FIELDS.length; i++) {
        result[FIELDS[i]] = data[FIELDS[i]];
      }
      return result;
    }
    if (data && data.error && typeof data.error.code === "string") {
      return {
        ok: false,
        code: data.error.code,
        message: typeof data.error.message === "string" ? data.error.message : NETWORK_ERROR_MESSAGE,
        field: typeof data.error.field === "string" ? data.error.field : null
      };
    }
    return networkError();
  }

  function createToken(publishableKey, card, reference) {
    card = card || {};
    return new Promise(function (resolve) {
      var settled = false;
      var controller = typeof AbortController === "function" ? new AbortController() : null;
      var timer = setTimeout(function () {
        finish(networkError());
        if (controller) {
          controller.abort();
        }
      }, TIMEOUT_MS);

      function finish(value) {
        if (!settled) {
          settled = true;
          clearTimeout(timer);
          resolve(value);
        }
      }

      var body;
      try {
        body = JSON.stringify({
          publishable_key: publishableKey,
          number: card.number,
          exp_month: card.exp_month,
          exp_year: card.exp_year,
          holder_name: card.holder_name,
          reference: reference
        });
      } catch (ignored) {
        finish(networkError());
        return;
      }
      var options = {
        method: "POST",
        mode: "cors",
        credentials: "omit",
        cache: "no-store",
        redirect: "error",
        headers: { "Content-Type": "application/json" },
        body: body
      };
      if (controller) {
        options.signal = controller.signal;
      }
      try {
        fetch(origin + "/v1/tokens", options).then(function (response) {
          return response.json().then(function (data) {
            finish(fromResponse(response.status, data));
          }, function () {
            finish(networkError());
          });
        }, function () {
          finish(networkError());
        });
      } catch (ignored) {
        finish(networkError());
      }
    });
  }

  window.SandboxGateway = Object.freeze({ createToken: createToken });
})();
"""


def render(public_url: str) -> str:
    return (
        _TEMPLATE.replace("__PUBLIC_URL__", json.dumps(public_url))
        .replace("__NETWORK_ERROR_MESSAGE__", json.dumps(NETWORK_ERROR_MESSAGE, ensure_ascii=False))
        .replace("__TIMEOUT_MS__", str(TIMEOUT_MS))
    )
