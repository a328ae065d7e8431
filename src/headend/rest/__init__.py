"""The REST API (``/api/v1``): JSON resources for the admin panel and scripts, one module per resource family,
declared with :mod:`headend.rest.framework` and described by a generated OpenAPI 3.1 document."""
