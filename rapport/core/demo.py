"""The demo data's extension point: each domain app adds its share of a company's life.

``manage.py demo`` loads the customer master and a year of its history first
(``rapport.customers.demo``), then every part registered here, in ``order``: the sales app
adds its leads and deals, service its cases, and so on, each on the demo contacts already
there. An app registers its part in ``AppConfig.ready()``::

    from rapport.core import demo

    demo.register(demo.Part("sales", load=sales_demo_load, order=20))

``load(*, seed)`` must be reproducible for a seed, use the demo staff users
(``rapport.customers.demo.demo_users_ensure`` created them), and return one line saying what
it added (printed by the command).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Part:
    name: str
    load: Callable[..., str]
    order: int = 50


_PARTS: dict[str, Part] = {}


def register(part: Part) -> None:
    _PARTS[part.name] = part


def parts() -> list[Part]:
    return sorted(_PARTS.values(), key=lambda p: (p.order, p.name))
