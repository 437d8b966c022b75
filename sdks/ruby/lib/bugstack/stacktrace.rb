# frozen_string_literal: true

require "rbconfig"

module Bugstack
  # Frames of a stack, oldest first, and whether each is the app's own code. Used on the worker's thread.
  #
  # Frames come from `backtrace_locations`, which Ruby records as structured data; the `backtrace`
  # strings are read only when there are no locations (an exception raised with a backtrace of its own,
  # `raise Error, "…", caller`). At most `MAX_FRAMES` are kept, those nearest the raise.
  class Stacktrace
    MAX_FRAMES = 200
    MAX_CACHED_PATHS = 2048
    # "path:lineno" or "path:lineno:in `label'", as Ruby prints a backtrace line.
    BACKTRACE_LINE = /\A(.+?):(\d{1,9})(?::in [`'](.*)')?\z/.freeze
    # A gem's own folder, such as ".../gems/rack-2.2.22/": what follows it names the file well.
    GEM_FOLDER = %r{/gems/([^/]+-\d[^/]*/.+)\z}.freeze
    SDK_LIB = File.expand_path("..", __dir__)

    def initialize(project_root, in_app_include = [])
      @root = with_slash(project_root)
      @includes = in_app_include.map { |path| with_slash(path) }
      @library_dirs = library_dirs
      @places = {} # path → [filename, in_app]; an app's frames come from a few hundred files
    end

    # Frames of a stack as an exception holds it (`backtrace_locations`, else `backtrace`), oldest first.
    def frames(stack)
      return [] unless stack.is_a?(Array)
      return frames_from_locations(stack) if stack.first.is_a?(Thread::Backtrace::Location)

      frames_from_lines(stack)
    end

    private

    # Frames of `locations`, given newest first as Ruby gives them, oldest first.
    def frames_from_locations(locations)
      locations.first(MAX_FRAMES).reverse_each.map do |location|
        frame(location.absolute_path || location.path, location.lineno, location.label)
      end
    end

    def frames_from_lines(lines)
      return [] unless lines.is_a?(Array)

      parsed = lines.first(MAX_FRAMES).filter_map do |line|
        match = BACKTRACE_LINE.match(line.to_s)
        match && [match[1], match[2].to_i, match[3]]
      end
      parsed.reverse.map { |path, lineno, label| frame(path, lineno, label) }
    end

    # Where `path` sits: [filename, in_app].
    def place(path)
      @places.fetch(path) do
        @places.clear if @places.size >= MAX_CACHED_PATHS
        @places[path] = classify(path).freeze
      end
    end

    def frame(path, lineno, label)
      path = path.to_s
      filename, in_app = place(path)
      frame = { "filename" => filename, "function" => label.to_s, "in_app" => in_app }
      frame["abs_path"] = path if path.start_with?("/")
      frame["lineno"] = lineno if lineno&.positive?
      frame
    end

    # In-app means under the project root, outside gems, Ruby's own library and the SDK, or under a path
    # of `in_app_include`. App files are named relative to the root, gem files from their gem's folder.
    def classify(path)
      return [path, false] unless path.start_with?("/")
      return [relative(path, "#{SDK_LIB}/"), false] if path.start_with?("#{SDK_LIB}/")

      included = @includes.find { |dir| path.start_with?(dir) }
      return [app_name(path, included), true] if included

      library = library_name(path)
      return [library, false] if library
      return [relative(path, @root), true] if path.start_with?(@root)

      [path, false]
    end

    def app_name(path, included)
      path.start_with?(@root) ? relative(path, @root) : relative(path, with_slash(File.dirname(included)))
    end

    def library_name(path)
      gem_file = GEM_FOLDER.match(path)
      return gem_file[1] if gem_file
      return path[path.index("/vendor/bundle/") + 1..] if path.include?("/vendor/bundle/")

      dir = @library_dirs.find { |library_dir| path.start_with?(library_dir) }
      dir && relative(path, dir)
    end

    def relative(path, dir)
      path.delete_prefix(dir)
    end

    # Where gems and Ruby's own library live; none of them is the app's, even inside the project root.
    def library_dirs
      config = RbConfig::CONFIG.values_at("rubylibdir", "rubyarchdir", "sitedir", "vendordir")
      gem_paths = defined?(Gem) ? Gem.path : []
      (config + gem_paths).compact.reject(&:empty?).map { |dir| with_slash(dir) }
                          .reject { |dir| @root.start_with?(dir) }.uniq
    end

    def with_slash(dir)
      dir.end_with?("/") ? dir : "#{dir}/"
    end
  end
end
