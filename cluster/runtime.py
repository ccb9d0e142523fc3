"""Start a local Ray runtime or connect to a running cluster."""

from __future__ import annotations

import logging

import ray

from trainables.errors import UserError


def start_ray(
    address: str | None, dashboard: bool = True, num_cpus: int | None = None
) -> str | None:
    """Connect to `address` (auto, HOST:PORT, ray://HOST:10001) or start a local runtime.

    The local dashboard binds to 127.0.0.1 only. Returns the dashboard URL, if there is one.
    """
    kwargs = {"address": address, "logging_level": logging.WARNING, "log_to_driver": True}
    if address is None:
        kwargs |= {"include_dashboard": dashboard, "dashboard_host": "127.0.0.1",
                   "num_cpus": num_cpus}
    try:
        context = ray.init(**kwargs)
    except (ConnectionError, ValueError) as exc:
        raise UserError(f"--address {address}: cannot connect to Ray ({exc})") from None
    return getattr(context, "dashboard_url", None) or None


def stop_ray() -> None:
    if ray.is_initialized():
        ray.shutdown()
