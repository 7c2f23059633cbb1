"""The core of the framework: typed messages, ZeroMQ transport, the node API and its contract, security,
secrets, the runtime directory and optional dependencies (extras). It imports nothing else of dreamgraph."""
