"""Marketing: segments over the customer master, campaigns with message variants, and which messages work."""
