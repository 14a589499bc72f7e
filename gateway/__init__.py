"""A sandbox payment gateway: a small WSGI service of its own (own port, origin and SQLite store)
imitating the JavaScript token APIs of Japanese card gateways (GMO-PG ``Multipayment.getToken``,
PAY.JP ``createToken``). The browser sends the card here and the portal only ever sees a one-time
token; the portal then talks server-to-server with the secret key. See docs/sandbox-gateway.md.

Standard library only (plus gunicorn to serve it); it imports nothing of ``mypage`` and no Django.
"""
