"""Organizations, memberships and invitations: who sees what, who may change it, and bad input
answered by name."""
from __future__ import annotations

from sqlalchemy import func, select

from api.models import Invitation, Membership, Organization, Project
from tests.support.clients import make_user


def _default_org(t) -> dict:
    return t.get("/organizations").get_json()["organizations"][0]


def test_every_project_is_in_the_default_organization(tenant, other_tenant):
    org = _default_org(tenant)
    assert org["href"] == f"/metal/v1/organizations/{org['id']}"
    project = tenant.get(f"/projects/{tenant.project_id}").get_json()
    assert project["organization"] == {"href": org["href"]}
    # each sees the organization, but only its own projects and members in it
    assert [p["href"] for p in org["projects"]] == [f"/metal/v1/projects/{tenant.project_id}"]
    assert org["members"] == [{"href": f"/metal/v1/users/{tenant.user_id}"}]
    theirs = _default_org(other_tenant)
    assert theirs["id"] == org["id"] and [p["href"] for p in theirs["projects"]] == \
        [f"/metal/v1/projects/{other_tenant.project_id}"]


def test_another_organization_is_404_and_operators_manage_them(tenant, operator, database):
    r = operator.post("/organizations", json={"name": "Acme", "address": {"city": "Berlin", "country": "DE"}})
    assert r.status_code == 201, r.get_json()
    acme = r.get_json()
    assert acme["address"] == {"city": "Berlin", "country": "DE"} and acme["projects"] == []
    for path in ("", "/projects", "/devices", "/plans", "/facilities", "/events", "/customdata", "/invitations"):
        r = tenant.get(f"/organizations/{acme['id']}{path}")
        assert r.status_code == 404, (path, r.status_code)
    assert acme["id"] not in [o["id"] for o in tenant.get("/organizations").get_json()["organizations"]]
    assert tenant.post(f"/organizations/{acme['id']}/projects", json={"name": "x"}).status_code == 404
    # members may not change organizations (they see the default one: 403, not 404)
    default = _default_org(tenant)
    assert tenant.put(f"/organizations/{default['id']}", json={"name": "mine"}).status_code == 403
    assert tenant.post("/organizations", json={"name": "mine"}).status_code == 403
    # an operator's project in Acme, and a member invited into it, make Acme visible to that member
    made = operator.post(f"/organizations/{acme['id']}/projects", json={"name": "acme-web"}).get_json()
    assert made["organization"]["href"] == acme["href"]
    with database.Session() as s:
        email = s.get(Project, tenant.project_id).memberships[0].user.email
    inv = operator.post(f"/projects/{made['id']}/invitations", json={"invitee": email}).get_json()
    assert tenant.put(f"/invitations/{inv['id']}").status_code == 200
    assert tenant.get(f"/organizations/{acme['id']}").status_code == 200
    # the default organization and one with projects stay
    assert operator.delete(f"/organizations/{default['id']}").status_code == 409
    assert operator.delete(f"/organizations/{acme['id']}").status_code == 409
    empty = operator.post("/organizations", json={"name": "Empty"}).get_json()
    assert operator.delete(f"/organizations/{empty['id']}").status_code == 204
    with database.Session() as s:
        assert s.scalar(select(func.count()).select_from(Organization)) == 2


def test_organization_bad_input_names_the_field(operator, tenant):
    cases = [({}, "name: Missing data"), ({"name": ""}, "name: Length must be between 1 and 255"),
             ({"name": "x", "address": {"city": 5}}, "address.city: Not a valid string"),
             ({"name": "x", "enforce_2fa_at": "2030-01-01T00:00:00Z"}, "enforce_2fa_at: Ingot has no two-factor"),
             ({"name": "x", "customdata": "not json"}, "customdata: must be a JSON object")]
    for body, message in cases:
        r = operator.post("/organizations", json=body)
        assert 400 <= r.status_code < 500 and any(e.startswith(message) for e in r.get_json()["errors"]), \
            (body, r.get_json())


def test_projects_refuse_billing_and_name_an_organization(tenant, operator):
    r = tenant.post("/projects", json={"name": "p", "payment_method_id": "pm-1"})
    assert r.status_code == 422 and r.get_json()["errors"] == [
        "payment_method_id: Ingot bills nothing; projects have no payment method"]
    assert tenant.post("/projects", json={"name": "p", "type": "vmce"}).get_json()["errors"][0].startswith("type:")
    r = tenant.put(f"/projects/{tenant.project_id}", json={"backend_transfer_enabled": True})
    assert r.status_code == 422 and r.get_json()["errors"][0].startswith("backend_transfer_enabled:")
    acme = operator.post("/organizations", json={"name": "Acme"}).get_json()
    r = tenant.post("/projects", json={"name": "p", "organization_id": acme["id"]})
    assert r.status_code == 404  # not the tenant's to see
    r = tenant.post("/projects", json={"name": "p", "tags": ["a"], "customdata": {"k": 1}})
    assert r.status_code == 201 and (r.get_json()["tags"], r.get_json()["customdata"]) == (["a"], {"k": 1})


def test_invitations_and_memberships(client, database, tenant, other_tenant):
    pid = tenant.project_id
    bob = other_tenant
    with database.Session() as s:
        bob_email = s.get(Project, bob.project_id).memberships[0].user.email
    inv = tenant.post(f"/projects/{pid}/invitations", json={"invitee": bob_email, "roles": ["admin"]})
    assert inv.status_code == 201, inv.get_json()
    inv = inv.get_json()
    assert inv["roles"] == ["admin"] and inv["projects"] == [{"href": f"/metal/v1/projects/{pid}"}]
    assert [i["id"] for i in tenant.get(f"/projects/{pid}/invitations").get_json()["invitations"]] == [inv["id"]]
    assert [i["id"] for i in bob.get("/invitations").get_json()["invitations"]] == [inv["id"]]
    # the inviter cannot accept it for bob; bob accepts and becomes an admin of the project
    assert tenant.put(f"/invitations/{inv['id']}").status_code == 403
    m = bob.put(f"/invitations/{inv['id']}")
    assert m.status_code == 200 and m.get_json()["roles"] == ["admin"]
    assert bob.get(f"/projects/{pid}").status_code == 200
    assert bob.get(f"/invitations/{inv['id']}").status_code == 404  # used up
    members = tenant.get(f"/projects/{pid}/memberships").get_json()["memberships"]
    owner = next(x for x in members if x["roles"] == ["owner"])
    # the last owner can neither step down nor leave; an admin manages members
    assert tenant.put(f"/memberships/{owner['id']}", json={"role": ["collaborator"]}).status_code == 409
    assert tenant.delete(f"/memberships/{owner['id']}").status_code == 409
    bob_m = m.get_json()
    assert bob.put(f"/memberships/{bob_m['id']}", json={"role": ["billing"]}).status_code == 200
    # billing has no rights in the project's resources
    assert bob.get(f"/projects/{pid}/devices").status_code == 404
    assert tenant.put(f"/memberships/{bob_m['id']}", json={"role": ["collaborator"]}).status_code == 200
    assert bob.get(f"/projects/{pid}/devices").status_code == 200
    # a collaborator sees members but cannot change them; a member may leave
    assert bob.put(f"/memberships/{owner['id']}", json={"role": ["admin"]}).status_code == 403
    assert bob.delete(f"/memberships/{bob_m['id']}").status_code == 204
    assert bob.get(f"/projects/{pid}").status_code == 404


def test_invitation_bad_input_names_the_field(tenant, other_tenant, database):
    pid = tenant.project_id
    cases = [({}, "invitee: Missing data"), ({"invitee": "not-an-email"}, "invitee: Not a valid email"),
             ({"invitee": "a@example.com", "roles": ["owner"]}, "roles.0: Must be one of"),
             ({"invitee": "a@example.com", "roles": ["admin", "billing"]}, "roles: must name exactly one role"),
             ({"invitee": "a@example.com", "bound_roles": ["x"]}, "bound_roles: Ingot has no custom roles")]
    for body, message in cases:
        r = tenant.post(f"/projects/{pid}/invitations", json=body)
        assert r.status_code == 422 and any(e.startswith(message) for e in r.get_json()["errors"]), \
            (body, r.get_json())
    org = _default_org(tenant)
    r = tenant.post(f"/organizations/{org['id']}/invitations", json={"invitee": "a@example.com"})
    assert r.status_code == 422 and r.get_json()["errors"][0].startswith("projects_ids: name the projects")
    r = tenant.post(f"/organizations/{org['id']}/invitations",
                    json={"invitee": "a@example.com", "projects_ids": [other_tenant.project_id]})
    assert r.status_code == 404  # another project's: not found
    r = tenant.put(f"/memberships/{_membership_id(tenant)}", json={"role": ["root"]})
    assert r.status_code == 422 and r.get_json()["errors"][0].startswith("role.0: Must be one of")
    r = tenant.put(f"/memberships/{_membership_id(tenant)}", json={"role": []})
    assert r.status_code == 422 and r.get_json()["errors"][0] == "role: must name exactly one role"
    with database.Session() as s:
        assert s.scalar(select(func.count()).select_from(Invitation)) == 0


def _membership_id(t) -> str:
    return t.get(f"/projects/{t.project_id}/memberships").get_json()["memberships"][0]["id"]


def test_a_new_member_with_no_project_may_still_create_one(client, database):
    newcomer = make_user(client, database, email="new@example.com")
    assert [o["projects"] for o in newcomer.get("/organizations").get_json()["organizations"]] == [[]]
    r = newcomer.post("/projects", json={"name": "first"})
    assert r.status_code == 201
    with database.Session() as s:
        assert s.scalar(select(Membership.role).where(Membership.project_id == r.get_json()["id"])) == "owner"
