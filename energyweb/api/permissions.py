"""Kept as the import path the settings and the API modules use; the rule lives in energyweb.permissions."""

from energyweb.permissions import AuthenticatedMayPost, IsStaff, ReadAuthenticatedWriteStaff

__all__ = ["AuthenticatedMayPost", "IsStaff", "ReadAuthenticatedWriteStaff"]
