# frozen_string_literal: true

module Bugstack
  # Source lines around each frame, read in the background just before an event is sent, never on the
  # request path. Files are read whole, at most `MAX_FILE_BYTES` each, and the last `CACHED_FILES` read
  # are kept: an error that repeats costs no more reads. Only Ruby sources and templates are read, so
  # that a path in a backtrace can never make the SDK send lines of some other file.
  class SourceCache
    CONTEXT_LINES = 5
    MAX_LINE_LENGTH = 300
    MAX_FILE_BYTES = 1024 * 1024
    CACHED_FILES = 64
    SOURCE_EXTENSIONS = %w[.rb .ru .rake .erb .builder .jbuilder .haml .slim].freeze

    def initialize
      @files = {} # path → its lines, or nil when it cannot be read; in order of use, the latest last
    end

    # Adds `context_line`, `pre_context` and `post_context` to every frame whose file can be read.
    def add_context(frames)
      frames.each do |frame|
        path = frame["abs_path"]
        lineno = frame["lineno"]
        next unless path && lineno && SOURCE_EXTENSIONS.include?(File.extname(path))

        lines = lines(path)
        frame.merge!(context_around(lines, lineno)) if lines && lineno <= lines.length
      end
    end

    private

    def lines(path)
      lines = @files.key?(path) ? @files.delete(path) : read_lines(path)
      @files.shift if @files.size >= CACHED_FILES
      @files[path] = lines
    end

    def read_lines(path)
      return nil unless File.file?(path) && File.size(path) <= MAX_FILE_BYTES

      File.read(path, mode: "r:UTF-8").scrub.split("\n", -1)
    rescue SystemCallError, IOError
      nil # deleted since, or unreadable: the frame goes without its source
    end

    def context_around(lines, lineno)
      index = lineno - 1
      {
        "context_line" => clip(lines[index]),
        "pre_context" => lines[[0, index - CONTEXT_LINES].max...index].map { |line| clip(line) },
        "post_context" => (lines[index + 1, CONTEXT_LINES] || []).map { |line| clip(line) }
      }
    end

    def clip(line)
      text = line.chomp("\r")
      text.length <= MAX_LINE_LENGTH ? text : "#{text[0, MAX_LINE_LENGTH]}…"
    end
  end
end
