"""The hub application: intake, accounts, review, publication, store and the `hub` CLI."""
