"""Joining a Ray cluster with token authentication on: where the token comes from, and a quick
check that the cluster takes it.

Ray 2.60 keeps token authentication on for clusters lenstune starts. A client that joins one
without `RAY_AUTH_MODE=token`, or with another cluster's token, retries its connection for a
minute ("Failed to get cluster ID from GCS server: Unauthenticated") before failing; here the
mode is set for the process, the token is looked up where Ray looks for it, and one request to
the cluster's GCS says within seconds whether it is taken.
"""

from __future__ import annotations

import os
from pathlib import Path

from trainables.errors import UserError

AUTH_MODE = "RAY_AUTH_MODE"
TOKEN_ENV = "RAY_AUTH_TOKEN"
TOKEN_PATH_ENV = "RAY_AUTH_TOKEN_PATH"
PROBE_TIMEOUT_S = 5.0

WHERE_THE_TOKEN_GOES = (f"set {TOKEN_ENV} to the cluster's token, or put it in "
                        "~/.ray/auth_token (`ray get-auth-token` on the head node prints it)")


def token_file() -> Path:
    """Where Ray reads its token from when RAY_AUTH_TOKEN is not set."""
    return Path(os.environ.get(TOKEN_PATH_ENV) or Path.home() / ".ray" / "auth_token")


def find_token() -> str | None:
    """The token Ray would send: RAY_AUTH_TOKEN, else the token file's contents."""
    if os.environ.get(TOKEN_ENV, "").strip():
        return os.environ[TOKEN_ENV].strip()
    try:
        return token_file().read_text().strip() or None
    except OSError:
        return None


def _gcs_address(address: str) -> str | None:
    """HOST:PORT of a cluster's GCS, for the addresses that name it (not auto, not ray://)."""
    if "://" in address or address == "auto" or ":" not in address:
        return None
    return address


def check_token_accepted(address: str, token: str, timeout: float = PROBE_TIMEOUT_S) -> None:
    """One GetClusterId request to the GCS at `address`, with the token: a UserError naming
    what went wrong when the cluster refuses it or cannot be reached."""
    import grpc
    from ray.core.generated import gcs_service_pb2, gcs_service_pb2_grpc

    with grpc.insecure_channel(address) as channel:
        stub = gcs_service_pb2_grpc.NodeInfoGcsServiceStub(channel)
        try:
            stub.GetClusterId(gcs_service_pb2.GetClusterIdRequest(), timeout=timeout,
                              metadata=(("authorization", f"Bearer {token}"),))
        except grpc.RpcError as exc:
            if exc.code() == grpc.StatusCode.UNAUTHENTICATED:
                raise UserError(f"--address {address}: the cluster refuses this Ray "
                                f"authentication token; {WHERE_THE_TOKEN_GOES}") from None
            raise UserError(f"--address {address}: cannot reach a Ray cluster there "
                            f"({exc.code().name.lower()})") from None


def prepare_to_join(address: str) -> None:
    """Token authentication on for this process (unless RAY_AUTH_MODE says otherwise), with a
    token the cluster at `address` takes; a UserError in one line otherwise."""
    if AUTH_MODE not in os.environ:
        os.environ[AUTH_MODE] = "token"
        from ray._raylet import Config

        Config.initialize("")  # Ray caches its settings at import: read the mode again
    if os.environ[AUTH_MODE].lower() != "token":
        return  # turned off on purpose, for a cluster without authentication
    token = find_token()
    if token is None:
        raise UserError(f"--address {address}: no Ray authentication token here; "
                        f"{WHERE_THE_TOKEN_GOES}")
    gcs = _gcs_address(address)
    if gcs is not None:
        check_token_accepted(gcs, token)
