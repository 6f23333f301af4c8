"""The entity kit's UI views and the app shell's own endpoints."""
