"""The web console: server-rendered pages (Jinja2, autoescaped) for collectors, supervisors and business users.

``routes`` wires the pages to the HTTP API (Powertools ``APIGatewayHttpResolver``, run by
``functions/console/app.py``); ``pages`` renders them; ``charts`` draws the run report's SVG charts on the
server; ``i18n`` reads the one message catalogue (``messages/<lang>.json``); ``security`` holds the session
cookies, CSRF tokens and response headers. Every asset ships in ``static/``: no build step, no CDN.
"""
