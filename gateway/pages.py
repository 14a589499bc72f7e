"""The 3-D Secure challenge page (``/3ds/<id>``), its error pages and its stylesheet."""

from __future__ import annotations

from html import escape

from gateway.web import Response

TEST_CODE = "123456"
MAX_ATTEMPTS = 3

CSS = """\
*, *::before, *::after { box-sizing: border-box; }
html { font-size: 100%; -webkit-text-size-adjust: 100%; }
body {
  margin: 0; padding: 1rem; background: #eef1f5; color: #1a1f29;
  font-family: system-ui, -apple-system, "Hiragino Sans", "Hiragino Kaku Gothic ProN", Meiryo, sans-serif;
  line-height: 1.6;
}
main {
  max-width: 28rem; margin: 1.5rem auto; padding: 1.5rem 1.25rem; background: #fff;
  border: 1px solid #c9d0da; border-radius: 0.5rem;
}
.issuer { margin: 0 0 0.5rem; font-size: 0.875rem; color: #4a5568; }
h1 { margin: 0 0 1rem; font-size: 1.25rem; line-height: 1.4; }
p { margin: 0 0 1rem; }
dl { display: grid; grid-template-columns: auto 1fr; gap: 0.25rem 1rem; margin: 0 0 1rem; }
dt { font-weight: bold; }
dd { margin: 0; overflow-wrap: anywhere; }
.hint { padding: 0.75rem; background: #fff8e1; border: 1px solid #e0c068; border-radius: 0.25rem; }
.error {
  padding: 0.75rem; color: #8a1c1c; background: #fdecec; border: 1px solid #d77; border-radius: 0.25rem;
  font-weight: bold;
}
label { display: block; margin: 0 0 0.25rem; font-weight: bold; }
input[type="text"] {
  display: block; width: 100%; padding: 0.625rem 0.75rem; font-size: 1.25rem; letter-spacing: 0.2em;
  border: 1px solid #6b7280; border-radius: 0.25rem;
}
input[aria-invalid="true"] { border-color: #b91c1c; border-width: 2px; }
.actions { display: flex; flex-wrap: wrap; gap: 0.75rem; margin-top: 1.25rem; }
button {
  flex: 1 1 8rem; min-height: 2.75rem; padding: 0.5rem 1rem; font-size: 1rem; font-weight: bold;
  border-radius: 0.25rem; border: 1px solid #1d4ed8; background: #1d4ed8; color: #fff; cursor: pointer;
}
button.secondary { background: #fff; color: #1d4ed8; }
button:focus-visible, input:focus-visible { outline: 3px solid #f59e0b; outline-offset: 2px; }
"""

_PAGE = """<!doctype html>
<html lang="ja">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{title}｜サンドボックス決済代行</title>
<link rel="stylesheet" href="/assets/3ds.css">
</head>
<body>
<main>
<p class="issuer">サンドボックス決済代行（テスト環境）</p>
<h1>{title}</h1>
{content}
</main>
</body>
</html>
"""


def _html_response(status: int, html: str, headers: list[tuple[str, str]] | None = None) -> Response:
    return Response(
        status,
        html.encode(),
        [
            ("Content-Type", "text/html; charset=utf-8"),
            ("Cache-Control", "no-store"),
            ("X-Content-Type-Options", "nosniff"),
            ("X-Frame-Options", "DENY"),
            ("Referrer-Policy", "no-referrer"),
            *(headers or []),
        ],
    )


def page_csp(return_origin: str | None) -> str:
    form_action = f"'self' {return_origin}" if return_origin else "'self'"
    return (
        f"default-src 'none'; style-src 'self'; form-action {form_action}; "
        "frame-ancestors 'none'; base-uri 'none'"
    )


def challenge_page(
    auth_id: str,
    form_token: str,
    card_label: str,
    return_origin: str,
    error: str | None = None,
) -> Response:
    error_html = (
        f'<p class="error" id="code-error" role="alert">{escape(error)}</p>\n' if error is not None else ""
    )
    described = "code-hint code-error" if error is not None else "code-hint"
    invalid = ' aria-invalid="true"' if error is not None else ""
    content = f"""<p>ご本人確認のため、カード発行会社から届いたワンタイムパスワードを入力してください。</p>
<dl>
<dt>カード</dt><dd>{escape(card_label)}</dd>
</dl>
<p class="hint" id="code-hint">テスト用のワンタイムパスワードは {TEST_CODE} です</p>
{error_html}<form method="post" action="/3ds/{escape(auth_id)}">
<input type="hidden" name="form_token" value="{escape(form_token)}">
<label for="code">ワンタイムパスワード</label>
<input type="text" id="code" name="code" inputmode="numeric" autocomplete="one-time-code" maxlength="6"
 required aria-describedby="{described}"{invalid}>
<div class="actions">
<button type="submit" name="verify" value="1">認証する</button>
<button type="submit" name="cancel" value="1" class="secondary" formnovalidate>キャンセル</button>
</div>
</form>"""
    html = _PAGE.format(title="本人認証（3Dセキュア）", content=content)
    return _html_response(200, html, [("Content-Security-Policy", page_csp(return_origin))])


def message_page(status: int, title: str, message: str) -> Response:
    content = f'<p role="alert">{escape(message)}</p>'
    html = _PAGE.format(title=escape(title), content=content)
    return _html_response(status, html, [("Content-Security-Policy", page_csp(None))])


def redirect_page(location: str, return_origin: str) -> Response:
    content = f'<p><a href="{escape(location)}">元のサイトに戻る</a></p>'
    html = _PAGE.format(title="本人認証が終わりました", content=content)
    return _html_response(
        303, html, [("Location", location), ("Content-Security-Policy", page_csp(return_origin))]
    )
