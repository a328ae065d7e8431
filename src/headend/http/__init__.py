"""HTTP: Headend's own lean HTTP/1.1 server (httptools on uvloop) with native media routes, and a bridge
that hands every other request to the ASGI control-plane app."""
