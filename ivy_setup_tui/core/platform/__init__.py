"""The machine as the steps see it: files (fsops), interpreters and their probe, shells, the package index."""
