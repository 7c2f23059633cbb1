"""Built-in nodes that make the framework testable on its own."""
