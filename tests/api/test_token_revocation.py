"""A token ended anywhere stops working at once, in every process: each request reads its row."""

from __future__ import annotations

from iroa.audit.service import CLI_ACTOR
from iroa.auth.tokens import create_token, revoke_token
from iroa.auth.users import get_user_by_name, update_user
from iroa.db.engine import Database
from tests.api.fixtures import Api


def test_a_token_revoked_by_another_process_is_refused_on_the_next_request(api: Api) -> None:
    other_process = Database(api.db.url)  # as `iroa token revoke` would, with its own engine
    try:
        owner = get_user_by_name(other_process, "viewer-user")
        issued = create_token(other_process, CLI_ACTOR, owner.id, "short-lived")
        headers = {"Authorization": f"Bearer {issued.secret}"}
        assert api.client.get("/api/v1/auth/me", headers=headers).status_code == 200
        revoke_token(other_process, CLI_ACTOR, issued.token.id)
    finally:
        other_process.dispose()
    assert api.client.get("/api/v1/auth/me", headers=headers).status_code == 401
    assert api.client.get("/api/v1/auth/me", headers=api.headers("viewer")).status_code == 200


def test_disabling_a_user_elsewhere_ends_their_tokens_at_once(api: Api) -> None:
    headers = api.headers("operator")
    assert api.client.get("/api/v1/auth/me", headers=headers).status_code == 200
    other_process = Database(api.db.url)
    try:
        user = get_user_by_name(other_process, "operator-user")
        update_user(other_process, CLI_ACTOR, user.id, active=False)
    finally:
        other_process.dispose()
    assert api.client.get("/api/v1/auth/me", headers=headers).status_code == 401
