"""Every send goes through the gate: no code path may send e-mail another way.

Two locks, both tested: the configured backend refuses unstamped messages
(test_sending.py), and this scan finds any other use of Django's sending functions, a
mail connection, ``smtplib`` or the gate's stamp in the code (the app, the project, the
benchmarks). The gate's own modules are the only exceptions.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
ALLOWED = {
    Path("rapport/consent/delivery.py"),  # the gate's sending side
    Path("rapport/consent/backend.py"),  # the backend that wraps the real one
}
# Names that send, or open a way to send, from Django's mail package.
SENDING_NAMES = {
    "send_mail", "send_mass_mail", "mail_admins", "mail_managers", "get_connection",
    "EmailMessage", "EmailMultiAlternatives",
}  # fmt: skip
STAMP_NAMES = {"_STAMP_KEY", "_stamp_of", "GatedEmail", "_build"}


def offences(source: str) -> list[str]:
    """What in this module would send around the gate (empty if nothing)."""
    found = []
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module.startswith("django.core.mail"):
                for alias in node.names:
                    if alias.name in SENDING_NAMES or alias.name == "*":
                        found.append(f"line {node.lineno}: from {node.module} import {alias.name}")
            if node.module in ("smtplib", "aiosmtplib"):
                found.append(f"line {node.lineno}: from {node.module} import …")
            if node.module in ("rapport.consent.sending", "rapport.consent.delivery"):
                for alias in node.names:
                    if alias.name in STAMP_NAMES:
                        found.append(f"line {node.lineno}: the gate's stamp {alias.name}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in ("smtplib", "aiosmtplib"):
                    found.append(f"line {node.lineno}: import {alias.name}")
        elif isinstance(node, ast.Attribute):
            if node.attr in SENDING_NAMES and _is_mail_module(node.value):
                found.append(f"line {node.lineno}: mail.{node.attr}")
            if node.attr in STAMP_NAMES and _names(node.value) in ("sending", "delivery"):
                found.append(f"line {node.lineno}: sending.{node.attr}")
    return found


def _names(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_names(node.value)}.{node.attr}"
    return ""


def _is_mail_module(node: ast.AST) -> bool:
    dotted = _names(node)
    return (
        dotted in ("mail", "django.core.mail")
        or dotted.endswith(".mail")
        and dotted.startswith("django")
    )


def _modules() -> list[Path]:
    out = []
    for folder in ("rapport", "bench"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = path.relative_to(ROOT)
            # Tests may poke at the gate to prove it holds; they never run in production.
            if "tests" in rel.parts or rel in ALLOWED or "migrations" in rel.parts:
                continue
            out.append(path)
    return out


def test_no_code_sends_mail_around_the_gate():
    bad = {}
    for path in _modules():
        found = offences(path.read_text())
        if found:
            bad[str(path.relative_to(ROOT))] = found
    assert not bad, f"E-mail sent around rapport.consent.sending: {bad}"


def test_the_scan_finds_each_way_around_the_gate():
    # The scan must fail for a path that sends without the gate, whichever way it is written.
    samples = [
        "from django.core.mail import send_mail\nsend_mail('s', 'b', 'a@x', ['b@x'])",
        "from django.core import mail\nmail.send_mail('s', 'b', 'a@x', ['b@x'])",
        "import django.core.mail\ndjango.core.mail.EmailMessage('s').send()",
        "from django.core.mail import EmailMessage\nEmailMessage('s').send()",
        "from django.core.mail import get_connection\nget_connection().send_messages([])",
        "from django.core.mail.message import EmailMultiAlternatives",
        "import smtplib\nsmtplib.SMTP('localhost')",
        "from rapport.consent.sending import _STAMP_KEY",
        "from rapport.consent import delivery\ndelivery._build(m)",
        "from rapport.consent.delivery import _STAMP_KEY",
    ]
    for sample in samples:
        assert offences(sample), sample
    # What senders are meant to write passes.
    assert not offences(
        "from rapport.consent.sending import OutboundEmail, send_queue\n"
        "send_queue(actor=a, message=OutboundEmail(1, 'a@x', 'service', 's', 't'))"
    )


def test_the_configured_backend_is_the_gates():
    # The settings module as deployed (the test runner swaps EMAIL_BACKEND at set-up).
    configured = importlib.import_module("rapport.settings")
    assert configured.EMAIL_BACKEND == "rapport.consent.backend.GatedEmailBackend"
    assert "GatedEmailBackend" not in configured.CONSENT_EMAIL_BACKEND
