"""The wizard's screens, one module each; they render app state, post requests."""
