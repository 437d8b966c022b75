# frozen_string_literal: true

require_relative "lib/bugstack/version"

Gem::Specification.new do |spec|
  spec.name = "bugstack"
  spec.version = Bugstack::VERSION
  spec.summary = "Reports errors from Ruby, Rack and Rails apps to bugstack"
  spec.description = "Captures unhandled errors in Rack and Rails apps and ActiveJob jobs, redacts them and " \
                     "sends them to a bugstack server in the background. Standard library only."
  spec.authors = ["bugstack"]
  spec.license = "Apache-2.0"
  spec.required_ruby_version = ">= 3.1"
  spec.files = Dir["lib/**/*.rb"] + ["README.md", "bugstack.gemspec"]
  spec.require_paths = ["lib"]
  spec.metadata["rubygems_mfa_required"] = "true"
end
