"""Reusable widgets of the wizard: the check list, the key lookup chain, findings, fixes, drift."""
