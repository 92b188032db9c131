"""Plain words for what `explain` finds on this machine: key-file problems and network causes."""

from __future__ import annotations

# Plain words for the `key.content` problem codes (SPEC §3), as a clause after "your key file".
PROBLEM_WORDS = {
    "trailing_newline": "ends with a newline, which ivy sends as part of the key",
    "surrounding_whitespace": "has spaces or tabs around the key, which ivy sends",
    "empty": "is empty, so ivy sends the text None",
    "multiple_lines": "has more than one line (ivy sends only the first)",
    "bom": "starts with a byte-order mark, which ivy sends",
    "not_ascii": "contains characters that are not plain ASCII",
    "looks_truncated": "looks truncated (its length is not a multiple of 4: a missing `=`?)",
    "is_certificate": "holds a certificate, not an ivy API key (the key is a plain string)",
    "is_private_key": "holds a private key, not an ivy API key (the key is a plain string)",
    "is_public_key": "holds a public key, not an ivy API key (the key is a plain string)",
    "binary": "holds binary data, not a key",
    "too_long": "is far longer than an ivy key",
    "not_first_line": "has a blank first line (ivy sends only that blank line)",
    "not_utf8": "is not UTF-8 text (e.g. saved as UTF-16), so ivy cannot read it as a key",
    "contains_whitespace": "has spaces inside the key",
    "pem_block": "holds a PEM-armoured block, not an ivy API key (the key is a plain string)",
}

# Problems that change the bytes ivy sends: the server refuses the key because of them.
SENT_WRONG = {
    "trailing_newline",
    "surrounding_whitespace",
    "empty",
    "bom",
    "not_ascii",
    "looks_truncated",
    "is_certificate",
    "is_private_key",
    "is_public_key",
    "binary",
    "too_long",
    "not_first_line",
    "not_utf8",
    "contains_whitespace",
    "pem_block",
}


# Of those, the ones that change what is sent only because ivy sends the line exactly as read:
# measured for 0.0.9.0's key.pem and 0.0.9.2's ivy-key.pem; assumed for the IVY_KEY variable.
SENT_AS_READ = {
    "trailing_newline",
    "surrounding_whitespace",
    "empty",
    "bom",
    "not_first_line",
    "contains_whitespace",
    "multiple_lines",
}

# The IVY_KEY scheme where it differs (measured on 0.0.9.2): an empty file sends no key at all.
IVY_KEY_WORDS = {
    "empty": "is empty, so ivy sends no key at all",
}

# Plain words for those codes that claim nothing about what ivy sends (the IVY_KEY variable).
NEUTRAL_WORDS = {
    "trailing_newline": "ends with a newline",
    "surrounding_whitespace": "has spaces or tabs around the key",
    "empty": "is empty",
    "bom": "starts with a byte-order mark",
    "not_first_line": "has a blank first line",
    "contains_whitespace": "has spaces inside the key",
    "multiple_lines": "has more than one line",
}


CAUSE_WORDS = {
    "proxy": "the proxy refused or could not be reached",
    "tls": "the TLS certificate could not be verified (a proxy that inspects traffic needs its CA "
    "certificate in REQUESTS_CA_BUNDLE; never turn verification off)",
    "dns": "the server's name could not be resolved (offline or no DNS)",
    "timeout": "the connection timed out (firewall or slow network)",
    "connect": "the connection was refused or there is no route (offline, firewall)",
}
