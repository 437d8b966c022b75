package bugstack

import (
	"container/list"
	"os"
	"strings"
)

// Source lines around each frame, read on the background goroutine just before an event is sent, never
// on the goroutine that reported it. Files are read whole, at most maxSourceBytes each, and the last
// cachedSourceFiles read are kept: an error that repeats costs no more reads. Only .go files are read,
// so that no path in a stack can make the SDK send lines of some other file.

const (
	contextLines      = 5
	maxLineLength     = 300
	maxSourceBytes    = 1 << 20
	cachedSourceFiles = 64
)

// sourceCache is used by the background goroutine alone.
type sourceCache struct {
	order *list.List               // file paths, most recently used first
	files map[string]*list.Element // path → its element, whose value is a sourceFile
}

type sourceFile struct {
	path  string
	lines []string // nil when the file cannot be read
}

func newSourceCache() *sourceCache {
	return &sourceCache{order: list.New(), files: make(map[string]*list.Element)}
}

// addContext fills context_line, pre_context and post_context of every frame whose file can be read.
func (c *sourceCache) addContext(frames []Frame) {
	for index := range frames {
		frame := &frames[index]
		if frame.Lineno <= 0 || !strings.HasSuffix(frame.AbsPath, ".go") {
			continue
		}
		lines := c.lines(frame.AbsPath)
		if frame.Lineno > len(lines) {
			continue
		}
		at := frame.Lineno - 1
		frame.ContextLine = clipLine(lines[at])
		frame.PreContext = clipLines(lines[maxInt(0, at-contextLines):at])
		frame.PostContext = clipLines(lines[at+1 : minInt(len(lines), at+1+contextLines)])
	}
}

func (c *sourceCache) lines(path string) []string {
	if element, ok := c.files[path]; ok {
		c.order.MoveToFront(element)
		return element.Value.(sourceFile).lines
	}
	file := sourceFile{path: path, lines: readLines(path)}
	c.files[path] = c.order.PushFront(file)
	if c.order.Len() > cachedSourceFiles {
		oldest := c.order.Back()
		c.order.Remove(oldest)
		delete(c.files, oldest.Value.(sourceFile).path)
	}
	return file.lines
}

func readLines(path string) []string {
	info, err := os.Stat(path)
	if err != nil || !info.Mode().IsRegular() || info.Size() > maxSourceBytes {
		return nil
	}
	content, err := os.ReadFile(path)
	if err != nil || len(content) > maxSourceBytes {
		return nil // deleted since, or unreadable: the frame goes without its source
	}
	return strings.Split(string(content), "\n")
}

func clipLines(lines []string) []string {
	clipped := make([]string, len(lines))
	for index, line := range lines {
		clipped[index] = clipLine(line)
	}
	return clipped
}

func clipLine(line string) string {
	return clip(strings.TrimSuffix(line, "\r"), maxLineLength)
}

func minInt(a, b int) int {
	if a < b {
		return a
	}
	return b
}

func maxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}
