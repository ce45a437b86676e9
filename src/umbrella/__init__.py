"""Umbrella: multinational assistance to a recipient country, coordinated under one umbrella."""

__version__ = "0.1.0"
