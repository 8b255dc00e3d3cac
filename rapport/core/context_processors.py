from django.http import HttpRequest


def rapport(request: HttpRequest) -> dict:
    from rapport.users.permissions import nav_permissions

    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"nav": nav_permissions(user)}
