"""The HTTP API kit: one generic router per entity, problem+json errors, keyset lists,
idempotent POSTs and offline docs. Apps declare their shapes in `<app>/api.py` with
`rapport.core.api.crud.expose`; `rapport.api_urls` builds the NinjaAPI from them."""
