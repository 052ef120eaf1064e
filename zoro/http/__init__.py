"""The REST front end (quart-trio on hypercorn), speaking Qdrant's wire shapes."""
