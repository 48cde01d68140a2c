"""The hub's service layer: one function per action, between the entry points (API, web view,
CLI, TAXII inbox, worker) and the store, sanitiser and crypto.

Every action takes keyword-only arguments, the `HubContext` and the acting `Principal`; it checks
who may do it (`permissions`, the only place with role rules), makes the change and writes the
audit entry in one unit of work (`store.transaction()`). Modules by domain: `submissions`
(submit, sanitise), `review` (edits, reject), `publication` (approve, publish, auto-publish),
`profiles`, `accounts` (organisations, keys, grants), `agreements`, `audit`, `maintenance`
(rotate, purge); `pipeline`, `redactions`, `sealed` and `validation` are their shared parts.
"""
