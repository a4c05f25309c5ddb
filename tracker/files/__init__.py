"""Uploaded files: what may be kept (checks on the bytes) and where it is kept (the evidence store)."""
