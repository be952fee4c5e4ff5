"""Fake provisioning panels (real shapes, from each panel's own API definition) and the
contract test suite every panel adapter passes."""
