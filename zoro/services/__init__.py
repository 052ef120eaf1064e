"""Strict validation and the system's rules between the HTTP layer and the actors."""
