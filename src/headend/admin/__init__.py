"""Operator administration: admin accounts and roles, their sessions and API tokens, login throttling and the
audit log. No HTTP here: the control plane (``headend.http.control``) resolves a request to a
:class:`~headend.admin.principal.Principal` with these parts."""
