"""Built-in source connectors, one module per source."""
