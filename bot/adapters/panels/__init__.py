"""Provisioning panels: one module per panel, each a ``PanelAdapter`` (see ``base``)."""
