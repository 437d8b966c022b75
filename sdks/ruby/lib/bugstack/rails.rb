# frozen_string_literal: true

# For a Gemfile line or a `require` that runs before Rails is loaded: `require "bugstack/rails"` once Rails
# is, or `gem "bugstack", require: "bugstack/rails"`.
require "rails"
require "bugstack"
require "bugstack/rails/railtie"
