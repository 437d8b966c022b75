# These directories are repositories that the context tests commit and read, not test modules of bugstack.
collect_ignore_glob = ["*"]
