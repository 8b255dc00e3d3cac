"""Consent per channel and purpose, the one gate every outbound message passes, privacy requests."""
