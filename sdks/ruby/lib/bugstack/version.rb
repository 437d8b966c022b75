# frozen_string_literal: true

module Bugstack
  VERSION = "0.1.0"
  SDK_NAME = "bugstack.ruby"
end
