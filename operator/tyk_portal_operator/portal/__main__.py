"""`python -m tyk_portal_operator.portal`: the in-cluster portal (configured by environment)."""

from __future__ import annotations

import os

import uvicorn

from .server import in_cluster_app


def main() -> None:
    """Serve the in-cluster portal on `PORTAL_PORT` (8080) of every interface."""
    app = in_cluster_app()
    port = int(os.environ.get("PORTAL_PORT") or 8080)
    uvicorn.run(app, host="0.0.0.0", port=port, log_level="info", access_log=False, proxy_headers=True)


if __name__ == "__main__":  # pragma: no cover
    main()
