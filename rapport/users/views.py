"""Logging in and out, and a user's own API tokens."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.admin import AdminSite
from django.contrib.auth import authenticate, login, logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from rapport.core.errors import ValidationFailed
from rapport.core.web import actor_of, user_of, web_view
from rapport.users import services
from rapport.users.forms import LoginForm, TokenForm

THROTTLED = "Too many failed attempts. Wait 15 minutes and try again, or ask an admin."
WRONG = "That username and password do not match an active account."


def _next_url(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def _login_page(
    request: HttpRequest, *, default_next: str, notice: str = "", status: int = 200
) -> HttpResponse:
    """The one login form and its checks, for the app's page and the admin site's: a
    throttled login is refused before the password is even looked at."""
    form = LoginForm(request.POST or None)
    error = notice
    if request.method == "POST" and form.is_valid():
        username = form.cleaned_data["username"].strip()
        ip = request.META.get("REMOTE_ADDR")
        if services.login_is_throttled(username=username, ip_address=ip):
            error, status = THROTTLED, 429
        else:
            user = authenticate(request, username=username, password=form.cleaned_data["password"])
            if user is None:
                services.login_failed(username=username, ip_address=ip)
                error, status = WRONG, 401
            else:
                services.login_succeeded(username=username)
                login(request, user)  # rotates the session key
                return redirect(_next_url(request, default_next))
    elif request.method == "POST":
        error, status = "Enter your username and password.", 400
    # The form posts to the app's login URL: from the admin site it carries the way back.
    default = "" if default_next == resolve_url(settings.LOGIN_REDIRECT_URL) else default_next
    context = {
        "form": form,
        "error": error,
        "next": request.POST.get("next") or request.GET.get("next") or default,
    }
    return render(request, "users/login.html", context, status=status)


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
def login_view(request: HttpRequest) -> HttpResponse:
    default = resolve_url(settings.LOGIN_REDIRECT_URL)
    if request.user.is_authenticated and request.method == "GET":
        return redirect(_next_url(request, default))
    return _login_page(request, default_next=default)


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
def admin_login(request: HttpRequest, *, site: AdminSite) -> HttpResponse:
    """The admin site's login is the app's (same form, same throttle, same answers), so
    guessing a password through /admin/login/ is no easier than through /login/."""
    index = reverse("admin:index", current_app=site.name)
    if request.user.is_authenticated and request.method == "GET":
        if site.has_permission(request):
            return redirect(_next_url(request, index))
        # Logged in, but not as staff: say so here (sending them to the app's login would
        # bounce them straight back to the admin site, and round again).
        notice = f"You are logged in as {request.user.get_username()}, who may not use the admin site. Log in as an admin to go on."
        return _login_page(request, default_next=index, notice=notice, status=403)
    return _login_page(request, default_next=index)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    messages.info(request, "You are logged out.")
    return redirect(settings.LOGOUT_REDIRECT_URL)


@web_view
def tokens(request: HttpRequest) -> HttpResponse:
    form = TokenForm(request.POST or None)
    secret, created, status = "", None, 200
    if request.method == "POST" and form.is_valid():
        try:
            created, secret = services.token_create(
                actor=actor_of(request), user=user_of(request), name=form.cleaned_data["name"]
            )
        except ValidationFailed as exc:
            for messages_ in exc.errors.values():
                for message in messages_:
                    form.add_error("name", message)
            status = 422
        else:
            form = TokenForm()
    context = {
        "form": form,
        "secret": secret,
        "created": created,
        "tokens": user_of(request).api_tokens.all(),
    }
    response = render(request, "users/tokens.html", context, status=status)
    response["Cache-Control"] = "no-store"  # the secret is on this page once
    return response


@require_POST
@web_view
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = services.token_revoke(actor=actor_of(request), token_id=pk)
    messages.success(request, f"Revoked “{token.name}”. It no longer works.")
    return redirect("users:tokens")
