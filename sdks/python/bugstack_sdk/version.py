SDK_NAME = "bugstack.python"
VERSION = "0.1.0"
