"""Built-in source connectors, one package per source: connector, settings, sandbox."""
