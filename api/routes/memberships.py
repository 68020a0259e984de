"""Who belongs to a project: memberships and invitations."""
from __future__ import annotations

from api.routes.common import api_blueprint, paginate, principal, session
from api.routes.examples import CREATED, REQUESTS
from api.schemas.common import AllListArgs
from api.schemas.identity import (
    InvitationCreateSchema,
    InvitationListSchema,
    InvitationSchema,
    MembershipListSchema,
    MembershipSchema,
    MembershipUpdateSchema,
)
from api.services import auth, memberships

blp = api_blueprint("memberships", "Memberships and invitations")


@blp.route("/projects/<project_id>/memberships", methods=["GET"])
@blp.arguments(AllListArgs, location="query")
@blp.response(200, MembershipListSchema)
def list_memberships(args, project_id):
    """List a project's members and their roles.

    Members of the project and operators (404 for others). Each member with their role: `owner`, `admin`,
    `collaborator`, `limited_collaborator` or `billing`.
    """
    project = auth.visible_project(session(), principal(), project_id)
    return paginate(memberships.project_memberships_query(project), args, "memberships")


@blp.route("/memberships/<membership_id>", methods=["GET"])
@blp.response(200, MembershipSchema)
def get_membership(membership_id):
    """Show a membership.

    Members of its project and operators (404 for others).
    """
    return memberships.visible_membership(session(), principal(), membership_id)


@blp.route("/memberships/<membership_id>", methods=["PUT"])
@blp.arguments(MembershipUpdateSchema, example=REQUESTS["update_membership"])
@blp.response(200, MembershipSchema)
def update_membership(data, membership_id):
    """Change a member's role (the project's owners and admins).

    Owners and admins of the project, and operators (403 for other members, 404 for others). `role` is a list of
    one Equinix role. 409 when the last owner would stop being one: make another member owner first. 422 for an
    unknown role.
    """
    s = session()
    p = principal()
    return memberships.update_membership(s, p, memberships.visible_membership(s, p, membership_id), data["role"][0])


@blp.route("/memberships/<membership_id>", methods=["DELETE"])
@blp.response(204)
def delete_membership(membership_id):
    """Remove a member (the project's owners and admins), or leave the project (the member).

    Owners and admins of the project and operators, or the member themselves (leaving); 403 for other members.
    409 for the project's last owner.
    """
    s = session()
    p = principal()
    memberships.delete_membership(s, p, memberships.visible_membership(s, p, membership_id))


@blp.route("/projects/<project_id>/invitations", methods=["GET"])
@blp.arguments(AllListArgs, location="query")
@blp.response(200, InvitationListSchema)
def list_project_invitations(args, project_id):
    """List a project's pending invitations.

    Members of the project and operators (404 for others). The invitations not yet accepted or declined.
    """
    project = auth.visible_project(session(), principal(), project_id)
    return paginate(memberships.project_invitations_query(project), args, "invitations")


@blp.route("/projects/<project_id>/invitations", methods=["POST"])
@blp.arguments(InvitationCreateSchema, example=REQUESTS["invite_to_project"])
@blp.response(201, InvitationSchema, example=CREATED["invite_to_project"])
def invite_to_project(data, project_id):
    """Invite someone (by email) into the project with a role (the project's owners and admins).

    Owners and admins of the project, and operators (403 for other members, 404 for others). 201 with the
    invitation; the invitee accepts it with `PUT /invitations/{id}`. 409 when the invitee is a member already;
    422 for a role that cannot be invited (`owner`) or `bound_roles` (Ingot has no custom roles). Ingot sends no
    email: tell the invitee.
    """
    s = session()
    p = principal()
    project = auth.visible_project(s, p, project_id)
    targets = [project] + [auth.visible_project(s, p, pid) for pid in data["projects_ids"] if pid != project.id]
    return memberships.invite(s, p, project.organization, targets, data)


@blp.route("/invitations", methods=["GET"])
@blp.arguments(AllListArgs, location="query")
@blp.response(200, InvitationListSchema)
def list_my_invitations(args):
    """List the invitations sent to the caller's email.

    A user (a project API key: 403). The invitations whose invitee is the caller's email.
    """
    return paginate(memberships.received_query(principal()), args, "invitations")


@blp.route("/invitations/<invitation_id>", methods=["GET"])
@blp.response(200, InvitationSchema)
def get_invitation(invitation_id):
    """Show an invitation (to its invitee and the members of its projects).

    Its invitee, members of its projects and operators (404 for others).
    """
    return memberships.visible_invitation(session(), principal(), invitation_id)


@blp.route("/invitations/<invitation_id>", methods=["PUT"])
@blp.response(200, MembershipSchema)
def accept_invitation(invitation_id):
    """Accept an invitation sent to the caller: join its projects with its role.

    The invitee only (403 for anyone else who sees it). The caller joins each of the invitation's projects still
    there, with its role, and the invitation is used up; the answer is the (first) membership. 422 when none of
    its projects exists any more.
    """
    s = session()
    p = principal()
    return memberships.accept(s, p, memberships.visible_invitation(s, p, invitation_id))


@blp.route("/invitations/<invitation_id>", methods=["DELETE"])
@blp.response(204)
def decline_invitation(invitation_id):
    """Decline an invitation sent to the caller, or revoke one (the project's owners and admins).

    The invitee (declining), or the owners and admins of its projects and operators (revoking); 403 for other
    members.
    """
    s = session()
    p = principal()
    memberships.decline(s, p, memberships.visible_invitation(s, p, invitation_id))
