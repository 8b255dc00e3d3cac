"""Mail goes through the gate's backend as deployed, to a real SMTP server (aiosmtpd) when a
test asks for ``smtp``: the consent tests' own fixtures."""

from rapport.consent.tests.conftest import gated_backend, smtp

__all__ = ["gated_backend", "smtp"]
