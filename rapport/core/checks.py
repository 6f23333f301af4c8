"""System checks `rapport check` adds to Django's."""
