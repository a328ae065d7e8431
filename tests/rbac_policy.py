"""The checked-in access-control table: what every kind of caller gets from every route (reliability.md T14).

One line per route and method (HEAD is implied by GET and answers the same). Columns, in order:

* ``anon``       no credentials at all;
* ``subscriber`` a real subscriber line's username/password, in the query string AND as HTTP Basic (in the
                 path for the media routes, where the path carries them; a real segment token for /hls);
* ``r-own``      a reseller's API token, on an object it owns (its line, its token, a session of its line);
* ``r-other``    the same reseller, on another reseller's object;
* ``support``, ``operator``, ``admin``: API tokens of those roles.

Outcomes: ``allow`` (2xx), ``401`` (no valid credentials; for player_api/panel_api the contract's
``{"user_info":{"auth":0}}``), ``403`` (authenticated or tokened, but not allowed), ``404`` (hidden: the
object is another's). Every route of the app and every native media route must have a line here:
``tests/test_rbac_matrix.py`` fails on a route missing from this table, and on any cell that differs.
"""

from __future__ import annotations

from typing import Final

IDENTITIES: Final = ("anon", "subscriber", "r-own", "r-other", "support", "operator", "admin")
OUTCOMES: Final = {"allow": "allow", "401": "deny-401", "403": "deny-403", "404": "hidden-404"}

TABLE: Final = """
# method path                                            anon  subscr r-own r-other support operator admin
GET     /healthz                                          allow allow  allow allow   allow   allow    allow
GET     /api/v1/openapi.json                              allow allow  allow allow   allow   allow    allow
POST    /api/v1/auth/login                                allow allow  allow allow   allow   allow    allow
POST    /api/v1/auth/logout                               401   401    allow allow   allow   allow    allow
GET     /api/v1/auth/me                                   401   401    allow allow   allow   allow    allow
GET     /api/v1/status                                    401   401    403   403     allow   allow    allow
GET     /api/v1/stats                                     401   401    403   403     allow   allow    allow
GET     /api/v1/channels                                  401   401    403   403     allow   allow    allow
POST    /api/v1/channels                                  401   401    403   403     403     allow    allow
GET     /api/v1/channels/{channel_id}                     401   401    403   403     allow   allow    allow
PATCH   /api/v1/channels/{channel_id}                     401   401    403   403     403     allow    allow
DELETE  /api/v1/channels/{channel_id}                     401   401    403   403     403     allow    allow
GET     /api/v1/channels/{channel_id}/sources             401   401    403   403     allow   allow    allow
POST    /api/v1/channels/{channel_id}/sources             401   401    403   403     403     allow    allow
PATCH   /api/v1/sources/{source_id}                       401   401    403   403     403     allow    allow
DELETE  /api/v1/sources/{source_id}                       401   401    403   403     403     allow    allow
GET     /api/v1/profiles                                  401   401    403   403     allow   allow    allow
POST    /api/v1/profiles                                  401   401    403   403     403     allow    allow
GET     /api/v1/categories                                401   401    403   403     allow   allow    allow
POST    /api/v1/categories                                401   401    403   403     403     allow    allow
DELETE  /api/v1/categories/{category_id}                  401   401    403   403     403     allow    allow
GET     /api/v1/bouquets                                  401   401    403   403     allow   allow    allow
POST    /api/v1/bouquets                                  401   401    403   403     403     allow    allow
GET     /api/v1/bouquets/{bouquet_id}                     401   401    403   403     allow   allow    allow
PATCH   /api/v1/bouquets/{bouquet_id}                     401   401    403   403     403     allow    allow
DELETE  /api/v1/bouquets/{bouquet_id}                     401   401    403   403     403     allow    allow
PUT     /api/v1/bouquets/{bouquet_id}/channels            401   401    403   403     403     allow    allow
GET     /api/v1/packages                                  401   401    403   403     allow   allow    allow
POST    /api/v1/packages                                  401   401    403   403     403     allow    allow
GET     /api/v1/packages/{package_id}                     401   401    403   403     allow   allow    allow
PATCH   /api/v1/packages/{package_id}                     401   401    403   403     403     allow    allow
DELETE  /api/v1/packages/{package_id}                     401   401    403   403     403     allow    allow
GET     /api/v1/lines                                     401   401    allow allow   allow   allow    allow
POST    /api/v1/lines                                     401   401    allow allow   403     allow    allow
GET     /api/v1/lines/{line_id}                           401   401    allow 404     allow   allow    allow
PATCH   /api/v1/lines/{line_id}                           401   401    allow 404     403     allow    allow
DELETE  /api/v1/lines/{line_id}                           401   401    allow 404     403     allow    allow
POST    /api/v1/lines/{line_id}/renew                     401   401    allow 404     403     allow    allow
POST    /api/v1/lines/{line_id}/enable                    401   401    allow 404     allow   allow    allow
POST    /api/v1/lines/{line_id}/disable                   401   401    allow 404     allow   allow    allow
POST    /api/v1/lines/{line_id}/reset-password            401   401    allow 404     allow   allow    allow
POST    /api/v1/lines/{line_id}/ban                       401   401    403   403     403     allow    allow
POST    /api/v1/lines/{line_id}/unban                     401   401    403   403     403     allow    allow
GET     /api/v1/resellers                                 401   401    403   403     403     allow    allow
POST    /api/v1/resellers                                 401   401    403   403     403     allow    allow
GET     /api/v1/resellers/{reseller_id}                   401   401    403   403     403     allow    allow
PATCH   /api/v1/resellers/{reseller_id}                   401   401    403   403     403     allow    allow
DELETE  /api/v1/resellers/{reseller_id}                   401   401    403   403     403     allow    allow
POST    /api/v1/resellers/{reseller_id}/credits           401   401    403   403     403     allow    allow
GET     /api/v1/admins                                    401   401    403   403     403     403      allow
POST    /api/v1/admins                                    401   401    403   403     403     403      allow
GET     /api/v1/admins/{admin_id}                         401   401    403   403     403     403      allow
PATCH   /api/v1/admins/{admin_id}                         401   401    403   403     403     403      allow
DELETE  /api/v1/admins/{admin_id}                         401   401    403   403     403     403      allow
POST    /api/v1/admins/{admin_id}/password                401   401    403   403     403     403      allow
GET     /api/v1/tokens                                    401   401    allow allow   allow   allow    allow
POST    /api/v1/tokens                                    401   401    allow allow   allow   allow    allow
DELETE  /api/v1/tokens/{token_id}                         401   401    allow 404     allow   allow    allow
GET     /api/v1/epg/sources                               401   401    403   403     allow   allow    allow
POST    /api/v1/epg/sources                               401   401    403   403     403     allow    allow
GET     /api/v1/epg/sources/{source_id}                   401   401    403   403     allow   allow    allow
PATCH   /api/v1/epg/sources/{source_id}                   401   401    403   403     403     allow    allow
DELETE  /api/v1/epg/sources/{source_id}                   401   401    403   403     403     allow    allow
POST    /api/v1/epg/sources/{source_id}/refresh           401   401    403   403     403     allow    allow
GET     /api/v1/epg/unmatched                             401   401    403   403     allow   allow    allow
GET     /api/v1/epg/overrides                             401   401    403   403     allow   allow    allow
PUT     /api/v1/channels/{channel_id}/epg                 401   401    403   403     403     allow    allow
DELETE  /api/v1/channels/{channel_id}/epg                 401   401    403   403     403     allow    allow
GET     /api/v1/sessions                                  401   401    allow allow   allow   allow    allow
DELETE  /api/v1/sessions/{session_id}                     401   401    allow 404     allow   allow    allow
GET     /api/v1/audit                                     401   401    403   403     403     403      allow
GET     /player_api.php                                   401   allow  401   401     401     401      401
POST    /player_api.php                                   401   allow  401   401     401     401      401
GET     /panel_api.php                                    401   allow  401   401     401     401      401
POST    /panel_api.php                                    401   allow  401   401     401     401      401
GET     /get.php                                          401   allow  401   401     401     401      401
POST    /get.php                                          401   allow  401   401     401     401      401
GET     /xmltv.php                                        401   allow  401   401     401     401      401
POST    /xmltv.php                                        401   allow  401   401     401     401      401
GET     /epg.xml                                          401   401    403   403     403     allow    allow
# the web panel (/admin): no credentials redirect to the login page (401); a form that reached its handler
# but did not validate counts as allowed (access control let it through)
GET     /admin/login                                      allow allow  allow allow   allow   allow    allow
POST    /admin/login                                      allow allow  allow allow   allow   allow    allow
POST    /admin/logout                                     401   401    allow allow   allow   allow    allow
GET     /admin                                            401   401    allow allow   allow   allow    allow
GET     /admin/dashboard/live                             401   401    403   403     allow   allow    allow
GET     /admin/channels                                   401   401    403   403     allow   allow    allow
GET     /admin/channels/new                               401   401    403   403     403     allow    allow
POST    /admin/channels/new                               401   401    403   403     403     allow    allow
GET     /admin/channels/{channel_id}                      401   401    403   403     allow   allow    allow
POST    /admin/channels/{channel_id}/edit                 401   401    403   403     403     allow    allow
POST    /admin/channels/{channel_id}/delete               401   401    403   403     403     allow    allow
POST    /admin/channels/{channel_id}/sources              401   401    403   403     403     allow    allow
POST    /admin/channels/{channel_id}/sources/{source_id}  401   401    403   403     403     allow    allow
GET     /admin/categories                                 401   401    403   403     allow   allow    allow
POST    /admin/categories/new                             401   401    403   403     403     allow    allow
POST    /admin/categories/{category_id}/delete            401   401    403   403     403     allow    allow
GET     /admin/bouquets                                   401   401    403   403     allow   allow    allow
POST    /admin/bouquets/new                               401   401    403   403     403     allow    allow
GET     /admin/bouquets/{bouquet_id}                      401   401    403   403     allow   allow    allow
POST    /admin/bouquets/{bouquet_id}/edit                 401   401    403   403     403     allow    allow
POST    /admin/bouquets/{bouquet_id}/delete               401   401    403   403     403     allow    allow
GET     /admin/packages                                   401   401    403   403     allow   allow    allow
POST    /admin/packages/new                               401   401    403   403     403     allow    allow
GET     /admin/packages/{package_id}                      401   401    403   403     allow   allow    allow
POST    /admin/packages/{package_id}/edit                 401   401    403   403     403     allow    allow
POST    /admin/packages/{package_id}/delete               401   401    403   403     403     allow    allow
GET     /admin/lines                                      401   401    allow allow   allow   allow    allow
GET     /admin/lines/new                                  401   401    allow allow   403     allow    allow
POST    /admin/lines/new                                  401   401    allow allow   403     allow    allow
GET     /admin/lines/{line_id}                            401   401    allow 404     allow   allow    allow
POST    /admin/lines/{line_id}/enable                     401   401    allow 404     allow   allow    allow
POST    /admin/lines/{line_id}/disable                    401   401    allow 404     allow   allow    allow
POST    /admin/lines/{line_id}/reset-password             401   401    allow 404     allow   allow    allow
POST    /admin/lines/{line_id}/renew                      401   401    allow 404     403     allow    allow
POST    /admin/lines/{line_id}/edit                       401   401    403   403     403     allow    allow
POST    /admin/lines/{line_id}/ban                        401   401    403   403     403     allow    allow
POST    /admin/lines/{line_id}/unban                      401   401    403   403     403     allow    allow
POST    /admin/lines/{line_id}/delete                     401   401    403   403     403     allow    allow
GET     /admin/sessions                                   401   401    403   403     allow   allow    allow
POST    /admin/sessions/{session_id}/end                  401   401    allow 404     allow   allow    allow
GET     /admin/epg                                        401   401    403   403     allow   allow    allow
POST    /admin/epg/new                                    401   401    403   403     403     allow    allow
POST    /admin/epg/overrides                              401   401    403   403     403     allow    allow
POST    /admin/epg/{source_id}/edit                       401   401    403   403     403     allow    allow
POST    /admin/epg/{source_id}/delete                     401   401    403   403     403     allow    allow
POST    /admin/epg/{source_id}/refresh                    401   401    403   403     403     allow    allow
GET     /admin/import                                     401   401    403   403     403     allow    allow
POST    /admin/import                                     401   401    403   403     403     allow    allow
GET     /admin/import/{job_id}                            401   401    403   403     403     allow    allow
GET     /admin/import/{job_id}/progress                   401   401    403   403     403     allow    allow
GET     /admin/admins                                     401   401    403   403     403     403      allow
POST    /admin/admins/new                                 401   401    403   403     403     403      allow
GET     /admin/admins/{account_id}                        401   401    403   403     403     403      allow
POST    /admin/admins/{account_id}/edit                   401   401    403   403     403     403      allow
POST    /admin/admins/{account_id}/credits                401   401    403   403     403     403      allow
POST    /admin/admins/{account_id}/password               401   401    403   403     403     403      allow
POST    /admin/admins/{account_id}/delete                 401   401    403   403     403     403      allow
GET     /admin/resellers                                  401   401    403   403     403     allow    allow
POST    /admin/resellers/new                              401   401    403   403     403     allow    allow
GET     /admin/resellers/{account_id}                     401   401    403   403     403     allow    allow
POST    /admin/resellers/{account_id}/edit                401   401    403   403     403     allow    allow
POST    /admin/resellers/{account_id}/credits             401   401    403   403     403     allow    allow
POST    /admin/resellers/{account_id}/password            401   401    403   403     403     allow    allow
POST    /admin/resellers/{account_id}/delete              401   401    403   403     403     allow    allow
GET     /admin/tokens                                     401   401    allow allow   allow   allow    allow
POST    /admin/tokens                                     401   401    allow allow   allow   allow    allow
POST    /admin/tokens/{token_id}/revoke                   401   401    allow 404     allow   allow    allow
GET     /admin/audit                                      401   401    403   403     403     403      allow
GET     /admin/static/{path:path}                         allow allow  allow allow   allow   allow    allow
GET     /admin/{rest:path}                                404   404    404   404     404     404      404
POST    /admin/{rest:path}                                404   404    404   404     404     404      404
# native media routes (answered by the server itself, without the ASGI app)
GET     /stream/{channel_id}.ts                           allow allow  allow allow   allow   allow    allow
GET     /stream/{channel_id}.m3u8                         allow allow  allow allow   allow   allow    allow
GET     /stream/{channel_id}/{seq}.ts                     allow allow  allow allow   allow   allow    allow
GET     /live/{username}/{password}/{stream_id}.ts        401   allow  401   401     401     401      401
GET     /live/{username}/{password}/{stream_id}           401   allow  401   401     401     401      401
GET     /live/{username}/{password}/{stream_id}.m3u8      401   allow  401   401     401     401      401
GET     /{username}/{password}/{stream_id}.ts             401   allow  401   401     401     401      401
GET     /{username}/{password}/{stream_id}                401   allow  401   401     401     401      401
GET     /{username}/{password}/{stream_id}.m3u8           401   allow  401   401     401     401      401
GET     /hls/{token}/{channel_id}/{seq}.ts                403   allow  403   403     403     403      403
GET     /admin/preview/{channel_id}.m3u8                  401   401    403   403     allow   allow    allow
GET     /admin/preview/{channel_id}/{seq}.ts              401   401    403   403     allow   allow    allow
"""


def parse(table: str = TABLE) -> dict[tuple[str, str], dict[str, str]]:
    """``{(method, path): {identity: outcome}}`` from the table text."""
    policy: dict[tuple[str, str], dict[str, str]] = {}
    for number, line in enumerate(table.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        method, path, *cells = line.split()
        if len(cells) != len(IDENTITIES) or any(cell not in OUTCOMES for cell in cells):
            raise ValueError(f"rbac_policy.py table line {number}: {line!r}")
        key = (method, path)
        if key in policy:
            raise ValueError(f"rbac_policy.py table line {number}: {method} {path} listed twice")
        policy[key] = {who: OUTCOMES[cell] for who, cell in zip(IDENTITIES, cells, strict=True)}
    return policy


POLICY: Final = parse()
