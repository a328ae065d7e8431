"""The admin web panel: server-rendered pages (Jinja2, autoescaped) with htmx, under a strict CSP."""
