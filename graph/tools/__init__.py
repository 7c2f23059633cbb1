"""Tools for a running graph: the introspection client (topics, nodes, parameters), bags, and the node
reference generated from the nodes' contracts."""
