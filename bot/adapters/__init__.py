"""The outside world behind interfaces: provisioning panels (one module per panel)."""
