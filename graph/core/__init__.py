"""The core of the framework: typed messages, ZeroMQ transport, the node API and its contract, security,
secrets and the runtime directory. It imports nothing else of dreamgraph."""
