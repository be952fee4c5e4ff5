"""Every fake panel's harness, so the contract suite runs against each adapter.

A panel module adds its factory here: a callable that returns a fresh ``PanelHarness``.
"""

from __future__ import annotations

from collections.abc import Callable

from tests.panels.fake_marzban import MarzbanHarness
from tests.panels.fake_remnawave import RemnawaveHarness
from tests.panels.fake_webhook import WebhookHarness
from tests.panels.fake_xuione import XuiOneHarness
from tests.panels.harness import PanelHarness
from tests.panels.xui_harness import XuiHarness

HARNESSES: dict[str, Callable[[], PanelHarness]] = {
    "marzban": lambda: MarzbanHarness("marzban"),
    "pasarguard": lambda: MarzbanHarness("pasarguard"),
    "remnawave": RemnawaveHarness,
    "3x-ui": XuiHarness,
    "xui-one": XuiOneHarness,
    "webhook": WebhookHarness,
}
