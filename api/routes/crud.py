"""One route factory for the catalogue's collections (metros, facilities, plans,
operating systems, IP pools): list, show, create, update, delete, written
once and documented by each resource's own summaries. Their lists show every
item unless a page is asked for (the spec does not paginate them)."""
from __future__ import annotations

import dataclasses

from api.routes.common import Blueprint, operator_required, paginate, session
from api.routes.examples import CREATED, REQUESTS
from api.schemas.common import AllListArgs
from api.services import catalog


@dataclasses.dataclass(frozen=True)
class Summaries:
    """The OpenAPI summary (the view's docstring) of each operation."""

    list: str
    get: str
    create: str
    update: str
    delete: str


@dataclasses.dataclass(frozen=True)
class Schemas:
    item: type
    list: type
    create: type
    update: type


def descriptions(kind: catalog.Kind, operator_reads: bool) -> dict[str, str]:
    """The OpenAPI description of each operation, from the rules ``kind`` declares (so they cannot drift)."""
    what = kind.what if kind.what[1:2].isupper() else kind.what[0].lower() + kind.what[1:]  # "VLAN range" stays
    readers = ("Operators only; anyone else gets 403." if operator_reads
               else "Any token, tenant or operator: the catalogue is the same for every project.")
    writers = "Operators only: anyone else gets 403 before the body is read."
    audit = f"Recorded as a `{kind.name}.{{verb}}` event."
    return {
        "list": f"{readers} Every {what} on one page unless `per_page` asks for fewer (the Equinix API does "
                "not paginate this list).",
        "get": f"{readers} By id; 404 when there is none.",
        "create": f"{writers} 201 with the new {what}; 422 names a wrong or missing field; "
                  + (f"422 naming `{kind.unique}` when it overlaps {kind.overlaps}. " if kind.overlaps
                     else f"409 when the `{kind.unique}` is taken. ") + audit.format(verb="created"),
        "update": f"{writers} Changes only the fields sent (PUT and PATCH alike); 404 for an unknown id, 422 names "
                  f"a wrong field. {audit.format(verb='updated')}",
        "delete": f"{writers} 409 while it is in use ({kind.in_use_message}); 404 for an unknown id. "
                  f"{audit.format(verb='deleted')}",
    }


def crud_routes(blp: Blueprint, kind: catalog.Kind, path: str, id_arg: str, key: str, schemas: Schemas,
                summaries: Summaries, operator_reads: bool = False) -> None:
    """Register the five operations of ``kind`` at ``path`` and ``path/<id_arg>``
    on ``blp``. Writes are for operators; reads too with ``operator_reads``.
    ``key`` names the list in its JSON (``{"metros": [...], "meta": ...}``). The operations'
    descriptions come from :func:`descriptions`, their examples from :mod:`api.routes.examples`
    (``create_<kind>``, ``update_<kind>``)."""
    item = f"{path}/<{id_arg}>"
    texts = descriptions(kind, operator_reads)

    def add(rule, methods, verb, view, *decorators, operator=True):
        view.__doc__ = f"{getattr(summaries, verb)}\n\n{texts[verb].strip()}"
        for decorate in reversed(((operator_required,) if operator else ()) + decorators):
            view = decorate(view)
        blp.route(rule, methods=methods, endpoint=f"{verb}_{key if verb == 'list' else kind.name}")(view)

    def list_view(args, **_operator):
        return paginate(catalog.list_query(kind), args, key)

    def get_view(**kwargs):
        return catalog.get(session(), kind, kwargs[id_arg])

    def create_view(data, operator):
        return catalog.create(session(), operator.actor, kind, data)

    def update_view(data, operator, **kwargs):
        s = session()
        return catalog.update(s, operator.actor, kind, catalog.get(s, kind, kwargs[id_arg]), data)

    def delete_view(operator, **kwargs):
        s = session()
        catalog.delete(s, operator.actor, kind, catalog.get(s, kind, kwargs[id_arg]))

    add(path, ["GET"], "list", list_view, blp.arguments(AllListArgs, location="query"),
        blp.response(200, schemas.list), operator=operator_reads)
    add(item, ["GET"], "get", get_view, blp.response(200, schemas.item), operator=operator_reads)
    add(path, ["POST"], "create", create_view,
        blp.arguments(schemas.create, example=REQUESTS.get(f"create_{kind.name}")),
        blp.response(201, schemas.item, example=CREATED.get(f"create_{kind.name}")))
    add(item, ["PUT", "PATCH"], "update", update_view,
        blp.arguments(schemas.update, example=REQUESTS.get(f"update_{kind.name}")),
        blp.response(200, schemas.item))
    add(item, ["DELETE"], "delete", delete_view, blp.response(204))
