"""Tyk Dashboard emulator (plus a minimal Gateway data plane) for tests and the local sandbox.

from tests.emulators.tyk import TykEmulator, TykControl
with TykEmulator(api_key="dash-secret", org_id="org1") as emu:
    control = TykControl(emu.url)
    control.seed_api(api_id="orders-api", name="orders", proxy={"listen_path": "/orders/"})
"""

from .control import TykControl
from .demo import DEMO_APIS
from .server import TykEmulator

__all__ = ["DEMO_APIS", "TykControl", "TykEmulator"]
