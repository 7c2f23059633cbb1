"""The graph's reserved topics. The leading '/' makes them absolute: the same in every namespace."""

STATUS_TOPIC = "/_status"  # every node's heartbeat (Status), once a second
PARAM_TOPIC = "/_param"  # live parameter changes (ParamSet)
PARAM_REPLY_TOPIC = "/_param_reply"  # each node's answer to a change (ParamReply)
LAUNCH_TOPIC = "/_launch"  # the launcher's view of its processes (LaunchState, latched)
