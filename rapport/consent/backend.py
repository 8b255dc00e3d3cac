"""The e-mail backend Django is configured with (``EMAIL_BACKEND``): it sends only what
the send gate (``rapport.consent.sending``) built and stamped, through the real backend
named by ``CONSENT_EMAIL_BACKEND`` (SMTP, a provider through django-anymail, or the
in-memory one in tests). Anything else (``send_mail`` anywhere in the code, a library's
notification) is refused with ``GateRefused``, so no path can send without the consent
check."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.mail import get_connection
from django.core.mail.backends.base import BaseEmailBackend


class GateRefused(Exception):
    """A message that did not come through the send gate."""


class GatedEmailBackend(BaseEmailBackend):
    def __init__(self, fail_silently: bool = False, **kwargs: Any) -> None:
        super().__init__(fail_silently=fail_silently)
        self.inner = get_connection(
            settings.CONSENT_EMAIL_BACKEND, fail_silently=fail_silently, **kwargs
        )

    def open(self) -> Any:
        return self.inner.open()

    def close(self) -> None:
        self.inner.close()

    def send_messages(self, email_messages: Sequence[Any]) -> int:
        from rapport.consent.delivery import is_stamped

        for message in email_messages:
            if not is_stamped(message):
                # Never silent: a send around the gate is a bug to see, not to swallow.
                raise GateRefused(
                    "E-mail must be sent through rapport.consent.sending.send_queue, "
                    "which checks consent; this message was not."
                )
        return self.inner.send_messages(email_messages) or 0
