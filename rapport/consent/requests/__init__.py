"""The register of privacy requests (export, erasure, rectification), and their answers:
the subject access export and the erasure through ``rapport.core.privacy``."""
