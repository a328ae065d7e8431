"""Who is calling the control plane, and what each role may do.

Roles, from most to least power:

* ``admin``    everything, including admin accounts, API tokens and the audit log;
* ``operator`` channels, sources, profiles, categories, bouquets, packages, lines, EPG, sessions;
* ``support``  reads everything an operator reads; limited actions: end a session, enable/disable a
  line, reset a line's password;
* ``reseller`` a sub-operator: sees and manages only the lines it owns, creates and renews them from the
  packages it may sell, spending its credits.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal


class Role(StrEnum):
    ADMIN = "admin"
    OPERATOR = "operator"
    SUPPORT = "support"
    RESELLER = "reseller"


Via = Literal["session", "token", "bootstrap"]


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated admin account (or API token acting for one)."""

    account_id: int  # 0 for the bootstrap token (admin.api_token)
    username: str
    role: Role
    via: Via
    session_id: str = ""  # the session's public id (via == "session"), for logout and audit
    csrf_token: str = ""  # expected on every state-changing request made with the session cookie

    @property
    def is_reseller(self) -> bool:
        return self.role is Role.RESELLER


__all__ = ["Principal", "Role", "Via"]
