"""Helpers the contacts migrations share (the loader skips modules named with "_"). Kept
as written: applied migrations import them."""

from django.db import migrations


def widened(model_name: str, indexes) -> list:
    """Each index dropped and created again under its own name, with the columns given."""
    return [
        operation
        for index in indexes
        for operation in (
            migrations.RemoveIndex(model_name=model_name, name=index.name),
            migrations.AddIndex(model_name=model_name, index=index),
        )
    ]
