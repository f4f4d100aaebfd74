"""The routes of the annotation server (see :mod:`.app` for the table)."""

from __future__ import annotations

import json
import secrets

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, StreamingResponse
from sqlalchemy import select

from rewardkit.annotate import accounts
from rewardkit.annotate.assignment import Next, Refused, next_item, submit, undo_last
from rewardkit.annotate.schema import Item, Judgement
from rewardkit.annotate.web.forms import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    answer_from_form,
    item_view,
)

router = APIRouter()
NOTES = {"taken": "That item was just completed by others; here is another one."}


def current_user(request: Request) -> accounts.SessionUser:
    user = accounts.session_user(request.app.state.store, request.cookies.get(SESSION_COOKIE))
    if user is None:
        raise HTTPException(303, "log in first", headers={"Location": "/login"})
    return user


def admin_user(user: accounts.SessionUser = Depends(current_user)) -> accounts.SessionUser:
    if not user.is_admin:
        raise HTTPException(403, "this page is for admins")
    return user


def check_csrf(user: accounts.SessionUser, token: str | None) -> None:
    if not accounts.csrf_matches(user, token):
        raise HTTPException(403, "the form's CSRF token is missing or wrong; reload the page")


def page(request: Request, name: str, context: dict, status: int = 200) -> HTMLResponse:
    return request.app.state.templates.TemplateResponse(request, name, context, status_code=status)


@router.get("/health")
def health():
    return JSONResponse({"status": "ok"})


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, failed: int = 0):
    token = secrets.token_urlsafe(24)
    response = page(request, "login.html.j2", {"csrf": token, "failed": bool(failed)})
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict")
    return response


@router.post("/login")
def login(
    request: Request,
    name: str = Form(..., max_length=200),
    token: str = Form(..., max_length=200),
    csrf: str = Form("", max_length=200),
):
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not secrets.compare_digest(expected, csrf):
        raise HTTPException(403, "the login form's CSRF token is missing or wrong; reload it")
    store, settings = request.app.state.store, request.app.state.settings
    annotator = accounts.check_login(store, name, token)
    if annotator is None:
        return RedirectResponse("/login?failed=1", status_code=303)
    cookie = accounts.start_session(store, annotator, settings.session_hours * 3600)
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        httponly=True,
        samesite="strict",
        max_age=int(settings.session_hours * 3600),
        secure=request.url.scheme == "https",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


@router.post("/logout")
def logout(request: Request, csrf: str = Form(""), user=Depends(current_user)):
    check_csrf(user, csrf)
    accounts.end_session(request.app.state.store, request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


def item_to_show(request: Request, user: accounts.SessionUser, wanted: int | None) -> Next:
    store, settings = request.app.state.store, request.app.state.settings
    queue = request.app.state.queue
    upcoming = next_item(
        store,
        user.annotator_id,
        overlap=settings.overlap,
        gold_rate=settings.gold_rate,
        priority=queue.priority() if queue is not None else None,
    )
    if wanted is not None:
        with store.reading() as session:
            item = session.get(Item, wanted)
            mine = session.scalar(
                select(Judgement.id).where(
                    Judgement.item_id == wanted, Judgement.annotator_id == user.annotator_id
                )
            )
        if item is not None and mine is None:
            upcoming.item = item
    return upcoming


@router.get("/", response_class=HTMLResponse)
def annotate_page(
    request: Request, item: int | None = None, note: str = "", user=Depends(current_user)
):
    upcoming = item_to_show(request, user, item)
    shown = upcoming.item
    context = {
        "user": user,
        "done": upcoming.done,
        "total": max(upcoming.total, 1),
        "note": NOTES.get(note, ""),
        "item": item_view(shown, request.app.state.shuffle) if shown else None,
    }
    return page(request, "annotate.html.j2", context)


@router.post("/judge")
async def judge(request: Request, user=Depends(current_user)):
    form = await request.form()
    check_csrf(user, form.get("csrf"))
    store, settings = request.app.state.store, request.app.state.settings
    try:
        item_id = _item_id(form.get("item_id"))
        submit(
            store,
            user.annotator_id,
            item_id,
            lambda item: answer_from_form(item, form),
            overlap=settings.overlap,
        )
    except Refused as refused:
        if refused.status == 409:
            return RedirectResponse("/?note=taken", status_code=303)
        raise HTTPException(refused.status, refused.message) from None
    return RedirectResponse("/", status_code=303)


def _item_id(value) -> int:
    if not isinstance(value, str) or not value.isdigit() or len(value) > 18:
        raise Refused(422, "item_id must be a number")
    return int(value)


@router.post("/undo")
def undo(request: Request, csrf: str = Form(""), user=Depends(current_user)):
    check_csrf(user, csrf)
    item_id = undo_last(request.app.state.store, user.annotator_id)
    return RedirectResponse("/" if item_id is None else f"/?item={item_id}", status_code=303)


@router.get("/admin", response_class=HTMLResponse)
def admin_page(request: Request, user=Depends(admin_user)):
    from rewardkit.annotate.stats import collection_stats

    stats = collection_stats(request.app.state.store)
    return page(request, "admin.html.j2", {"user": user, "stats": stats})


@router.get("/admin/votes.jsonl")
def admin_votes(request: Request, user=Depends(admin_user)):
    from rewardkit.annotate.collected import collect
    from rewardkit.annotate.votes_io import vote_row

    collected = collect(request.app.state.store)
    rows = (vote_row(item, j, name) for item, j, name in collected.pair_votes())
    lines = (json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    return StreamingResponse(lines, media_type="application/x-ndjson")
