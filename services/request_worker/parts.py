"""What the request steps reach: the catalogue, Redis, Triton and the metrics."""

from __future__ import annotations

from typing import NamedTuple

from adcraft.services.request_worker.gateway import Gateway
from adcraft.services.request_worker.metrics import RequestMetrics
from adcraft.services.request_worker.store import RequestStore
from adcraft.shared.adapters.catalog_feed import Listings


class Parts(NamedTuple):
    """One worker's parts, shared by answering and refilling."""

    listings: Listings
    store: RequestStore
    gateway: Gateway
    metrics: RequestMetrics
