"""Users (admins only) and API tokens (your own; admins: everyone's)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response, status

from iroa.api.schemas import (
    Id,
    Problem,
    TokenCreate,
    TokenCreated,
    TokenList,
    TokenOut,
    UserCreate,
    UserList,
    UserOut,
    UserUpdate,
)
from iroa.auth import service, tokens, users
from iroa.auth.models import User
from iroa.http.deps import DB, Admin, Clock, Viewer

router = APIRouter(prefix="/api/v1", tags=["users"])
NOT_FOUND: dict[int | str, dict[str, object]] = {404: {"model": Problem}}


def _user_out(user: User) -> UserOut:
    return UserOut.model_validate(users.user_as_dict(user))


@router.get("/users", response_model=UserList)
def list_users(_: Admin, db: DB) -> UserList:
    """Every user."""
    return UserList(items=[_user_out(u) for u in users.list_users(db)])


@router.post(
    "/users",
    response_model=UserOut,
    status_code=status.HTTP_201_CREATED,
    responses={409: {"model": Problem}},
)
def create_user(body: UserCreate, admin: Admin, db: DB) -> UserOut:
    """Add a user with a role and password."""
    return _user_out(users.create_user(db, admin.actor, body.username, body.role, body.password))


@router.get("/users/{user_id}", response_model=UserOut, responses=NOT_FOUND)
def get_user(user_id: Id, _: Admin, db: DB) -> UserOut:
    return _user_out(users.get_user(db, user_id))


@router.patch(
    "/users/{user_id}", response_model=UserOut, responses={**NOT_FOUND, 409: {"model": Problem}}
)
def update_user(user_id: Id, body: UserUpdate, admin: Admin, db: DB) -> UserOut:
    """Change a role, a password or the active flag (a new password ends the user's tokens)."""
    return _user_out(
        users.update_user(
            db, admin.actor, user_id, role=body.role, password=body.password, active=body.active
        )
    )


@router.delete(
    "/users/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**NOT_FOUND, 409: {"model": Problem}},
)
def delete_user(user_id: Id, admin: Admin, db: DB) -> Response:
    """Delete a user and their tokens; the audit log keeps their name."""
    users.delete_user(db, admin.actor, user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/tokens", response_model=TokenList)
def list_tokens(
    user: Viewer,
    db: DB,
    all_users: Annotated[
        bool, Query(alias="all", description="Admins only: every user's tokens")
    ] = False,
) -> TokenList:
    """Your API tokens (never the tokens themselves), or everyone's for admins with all=true."""
    if all_users and not user.has_role("admin"):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only admins can list everyone's tokens")
    rows = tokens.list_tokens(db, None if all_users else user.user_id)
    return TokenList(items=[TokenOut.model_validate(r) for r in rows])


@router.post(
    "/tokens",
    response_model=TokenCreated,
    status_code=status.HTTP_201_CREATED,
    responses=NOT_FOUND,
)
def create_token(body: TokenCreate, user: Viewer, db: DB, clock: Clock) -> TokenCreated:
    """Issue a new API token, shown this once."""
    owner_id = user.user_id
    if body.user_id is not None and body.user_id != user.user_id:
        if not user.has_role("admin"):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, "only admins can issue tokens for other users"
            )
        owner_id = body.user_id
    owner = users.get_user(db, owner_id)
    issued = tokens.create_token(
        db, user.actor, owner_id, body.name, expires_at=body.expires_at, clock=clock
    )
    return TokenCreated.model_validate(
        {
            "token": issued.secret,
            "id": issued.token.id,
            "name": issued.token.name,
            "username": owner.username,
            "role": owner.role,
            "expires_at": issued.token.expires_at,
        }
    )


@router.delete("/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND)
def revoke_token(token_id: Id, user: Viewer, db: DB, clock: Clock) -> Response:
    """Revoke one of your tokens (admins: anyone's)."""
    token = tokens.get_token(db, token_id)
    if token["user_id"] != user.user_id and not user.has_role("admin"):
        raise service.TokenNotFoundError(f"no token with id {token_id}")
    tokens.revoke_token(db, user.actor, token_id, clock)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
