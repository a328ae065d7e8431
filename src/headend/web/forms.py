"""Reading panel forms: typed getters over a submitted form that raise the store's ValidationError.

A form value is always text; these helpers turn it into what the service layer takes (an int, an
optional int, a flag, a list of ids) and name the field when it cannot be, so a view can re-render the
form with the message next to that field. The stores validate everything else themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse

from headend.errors import HeadendError, ValidationError

MAX_FIELDS: Final = 2000
MAX_FILES: Final = 1
FIELD_MAX: Final = 100_000


class Form:
    """One submitted form (urlencoded or multipart)."""

    def __init__(self, data: FormData) -> None:
        self._data = data

    @property
    def values(self) -> dict[str, str]:
        """Text fields by name (the first of repeated ones) to refill the form; never the CSRF token."""
        return {k: v for k, v in self._data.items() if isinstance(v, str) and k != "csrf_token"}

    def text(self, name: str, default: str = "") -> str:
        value = self._data.get(name)
        if value is None:
            return default
        if not isinstance(value, str) or len(value) > FIELD_MAX:
            raise ValidationError(f"{name} is not valid text", field=name)
        return value.strip()

    def raw(self, name: str) -> str:
        """The value as typed (not stripped): passwords."""
        value = self._data.get(name)
        return value if isinstance(value, str) else ""

    def flag(self, name: str) -> bool:
        """A checkbox: present and not "0"/"off"/"false"."""
        value = self._data.get(name)
        return isinstance(value, str) and value.lower() not in ("", "0", "off", "false")

    def optional_int(self, name: str) -> int | None:
        text = self.text(name)
        if not text:
            return None
        if not text.isdigit() or len(text) > 10:
            raise ValidationError(f"{name} must be a whole number", field=name)
        return int(text)

    def integer(self, name: str, default: int | None = None) -> int:
        value = self.optional_int(name)
        if value is None:
            if default is None:
                raise ValidationError(f"{name} is required", field=name)
            return default
        return value

    def ids(self, name: str) -> tuple[int, ...]:
        """Repeated fields (checkboxes, multi-selects) holding ids."""
        out = []
        for value in self._data.getlist(name):
            if not isinstance(value, str) or not value.isdigit() or len(value) > 10:
                raise ValidationError(f"{name} must hold ids", field=name)
            out.append(int(value))
        return tuple(out)

    def choices(self, name: str) -> tuple[str, ...]:
        """Repeated text fields (checkboxes)."""
        return tuple(v for v in self._data.getlist(name) if isinstance(v, str))

    def lines(self, name: str) -> tuple[str, ...]:
        """A textarea of one item per line (comma-separated also accepted), blanks dropped."""
        text = self.text(name).replace(",", "\n")
        return tuple(item.strip() for item in text.splitlines() if item.strip())

    def file(self, name: str) -> UploadFile | None:
        value = self._data.get(name)
        return value if isinstance(value, UploadFile) else None


async def read_form(request: Request) -> Form:
    """Parse the request body as a form (urlencoded or multipart), bounded in fields and files."""
    return Form(await request.form(max_files=MAX_FILES, max_fields=MAX_FIELDS))


def field_errors(exc: HeadendError) -> dict[str, str]:
    """``{field: message}`` for a ValidationError that names its field, else ``{"_": message}``."""
    field = exc.field if isinstance(exc, ValidationError) and exc.field else "_"
    return {field: exc.message}


def see_other(url: str) -> RedirectResponse:
    """The answer to a successful POST: the browser GETs ``url`` (303), so a reload does not repost."""
    return RedirectResponse(url, status_code=303)


def query_text(params: Mapping[str, str], name: str, limit: int = 200) -> str:
    return params.get(name, "").strip()[:limit]


def query_page(params: Mapping[str, str]) -> int:
    value = params.get("page", "1")
    return max(1, min(int(value), 100_000)) if value.isdigit() and len(value) < 7 else 1


__all__ = ["Form", "field_errors", "query_page", "query_text", "read_form", "see_other"]
