"""dreamgraph's node-graph framework: typed messages, ZeroMQ transport, nodes, launcher and CLI.

It knows nothing about neural networks; any graph of Python nodes can use it.
"""
