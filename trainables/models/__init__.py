"""Model families, each built by name through one factory."""
